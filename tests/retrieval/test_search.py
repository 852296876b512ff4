"""Search in every script, typo tolerance, declines, answers in the visitor's script, cache."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import pytest

from retrieval import Answer, Retriever, SearchResult

# Paraphrases that are NOT sample questions of the fixture corpus.
IN_SCOPE = [
    ("我的签证下周到期，能不能延长停留时间", "visa-extension", "zh-Hans"),
    ("我的簽證下週到期，能不能延長停留", "visa-extension", "zh-Hant"),
    ("本護照俾人偷咗，要點做？", "lost-passport", "yue"),
    ("what should i do if my passport gets lost", "lost-passport", "en"),
    ("how long is my permanant residnce card valid", "pr-card-validity", "typo"),
    ("是不是要去派出所做住宿登记", "accommodation-registration", "zh-Hans"),
    ("12367半夜有冇人接聽", "hotline-12367-hours", "yue"),
]
OUT_OF_SCOPE = ["what's the weather in shanghai tomorrow", "红烧牛肉面怎么做", "點樣申請強積金"]


@pytest.mark.parametrize(("query", "expected", "script"), IN_SCOPE)
def test_finds_the_right_entry(retriever: Retriever, query: str, expected: str, script: str) -> None:
    res = retriever.search(query, k=3)
    assert isinstance(res, SearchResult)
    assert res.hits[0].entry_id == expected, (script, [h.entry_id for h in res.hits])
    assert res.decision != "decline", res.reason
    assert set(res.hits[0].signals) == {"dense", "bm25", "char", "clf"}
    assert res.hits[0].title["zh"] and res.hits[0].title["en"]


@pytest.mark.parametrize("query", OUT_OF_SCOPE)
def test_out_of_scope_is_declined(retriever: Retriever, query: str) -> None:
    res = retriever.search(query)
    assert res.decision == "decline"
    assert res.reason


def test_sample_question_verbatim_is_answered(retriever: Retriever) -> None:
    res = retriever.search("12367週末有人接聽嗎？")
    assert res.hits[0].entry_id == "hotline-12367-hours"
    assert res.decision == "answer" and res.confidence > 0.9


def test_entry_title_is_answered_in_any_script(retriever: Retriever) -> None:
    """Clarify and related-topic buttons send an entry's title: that entry is the answer."""
    entry = retriever.entry("visa-extension")
    for title in (entry.title.zh, retriever.analyzer.to_script(entry.title.zh, "zh-Hant"), entry.title.en.upper()):
        res = retriever.search(title)
        assert (res.hits[0].entry_id, res.decision) == ("visa-extension", "answer"), title


def test_empty_query_is_declined(retriever: Retriever) -> None:
    assert retriever.search("   ").decision == "decline"


def test_answer_in_traditional_for_traditional_reader(retriever: Retriever) -> None:
    hit = retriever.search("在中國護照丟了要怎麼處理").hits[0]
    ans = retriever.answer(hit.entry_id, lang="zh", script="zh-Hant")
    assert isinstance(ans, Answer)
    assert ans.entry_id == "lost-passport"
    assert "護照" in ans.short and "护照" not in ans.short
    assert "補辦" in ans.short and ans.title == "外國人在中國丟失護照"
    assert ans.sources[0]["url"].startswith("https://") and ans.sources[0]["ref"] == "2013-07-12"
    assert ans.related == [{"id": "visa-extension", "title": "在華辦理簽證延期"}]


def test_answer_in_other_scripts(retriever: Retriever) -> None:
    assert "签证" in retriever.answer("visa-extension", lang="zh").short
    assert retriever.answer("visa-extension", lang="zh", script="yue").script == "yue"
    en = retriever.answer("transit-240h", lang="en", script="en")
    assert en.short.startswith("Citizens") and en.as_of is not None and en.as_of.isoformat() == "2026-02-16"
    assert en.text.startswith("240-hour visa-free transit")
    with pytest.raises(ValueError):
        retriever.answer("visa-extension", lang="en", script="zh-Hant")
    with pytest.raises(KeyError):
        retriever.answer("no-such-entry")


def test_an_answer_asked_again_in_another_script_is_in_that_script(retriever: Retriever) -> None:
    """Rendered answers are kept per entry, language and script: a reader switching scripts
    mid-chat gets each script, and asking again gives the same answer."""
    simplified = retriever.answer("lost-passport", lang="zh", script="zh-Hans")
    traditional = retriever.answer("lost-passport", lang="zh", script="zh-Hant")
    again = retriever.answer("lost-passport", lang="zh", script="zh-Hans")
    assert "护照" in simplified.short and "護照" in traditional.short and "护照" not in traditional.short
    assert again == simplified and retriever.answer("lost-passport", lang="en").lang == "en"


def test_time_limited_answer_says_as_of_in_the_visitors_language(retriever: Retriever) -> None:
    assert retriever.answer("transit-240h", lang="en").short.endswith("(as of 16 Feb 2026)")
    assert retriever.answer("transit-240h", lang="zh").short.endswith("（截至2026年2月16日）")
    assert retriever.answer("transit-240h", lang="zh", script="zh-Hant").short.endswith("（截至2026年2月16日）")
    assert "截至" not in retriever.answer("visa-extension", lang="zh").text  # not time-limited


def test_sources_are_typed_and_press_is_labelled(retriever: Retriever) -> None:
    law = retriever.answer("visa-extension", lang="en").sources[0]
    assert law["type"] == "law" and law["ref"] == "Art. 29"
    press, notice = retriever.answer("hotline-12367-hours", lang="zh", script="zh-Hant").sources
    assert press["type"] == "press" and press["ref"] == "新聞報道 2021-04-12"
    assert notice["url"] is None and notice["ref"] == "2021-04-08"  # cited by title, no link
    assert notice["title"].startswith("國家移民管理機構12367服務平臺")
    assert retriever.answer("hotline-12367-hours", lang="en").sources[0]["ref"] == "news report, 2021-04-12"


def test_search_from_worker_threads(retriever: Retriever) -> None:
    queries = [q for q, _, _ in IN_SCOPE] * 3
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(retriever.search, queries))
    serial = [retriever.search(q) for q in queries]
    assert [r.hits[0].entry_id for r in results] == [r.hits[0].entry_id for r in serial]


def test_index_cache_hit_and_miss(retriever: Retriever, settings, knowledge_copy: Path) -> None:  # noqa: ANN001
    again = Retriever.load(settings)
    assert not again.built_now and again.index_dir == retriever.index_dir

    changed = settings.model_copy(update={"knowledge_dir": knowledge_copy})
    same_content = Retriever.load(changed)  # same bytes in another folder: same hash
    assert not same_content.built_now and same_content.index_dir == retriever.index_dir

    path = knowledge_copy / "entries/platform/hotline-12367-hours.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("- 12367几点上班", "- 12367几点开始接电话"), encoding="utf-8")
    rebuilt = Retriever.load(changed)
    assert rebuilt.built_now and rebuilt.index_dir != retriever.index_dir
    assert rebuilt.search("12367几点开始接电话").hits[0].entry_id == "hotline-12367-hours"
    assert not Retriever.load(changed).built_now


def test_char_signal_fast_path_matches_batch(retriever: Retriever) -> None:
    """The single-query sparse product scores every unit as the batch path (scikit-learn's
    transform, bit for bit: tests/runtime/test_tfidf.py) and a sparse matrix product do."""
    import numpy as np

    for query in ("签证快到期了怎么延期", "簽證過期點算", "how do I extend my viza", "zzqx", "visa extension"):
        analyzed = retriever.analyzer.analyze(query)
        char = retriever.index.parts[analyzed.lang].char
        reference = char.batch_scores([analyzed.normalized])[0]
        np.testing.assert_allclose(char.unit_scores(analyzed.normalized), reference, atol=1e-5)


def test_char_signal_sums_each_unit_in_query_order(retriever: Retriever) -> None:
    """Bit for bit what adding each n-gram's row in turn gives (float64, the query's n-gram
    order), the order the ranker's features were computed in."""
    import numpy as np

    for query in ("签证快到期了怎么延期", "簽證過期點算", "how do I extend my viza", "zzqx", "visa extension"):
        analyzed = retriever.analyzer.analyze(query)
        part = retriever.index.parts[analyzed.lang]
        for char in (part.char, part.docs.char):
            expected = np.zeros(char.n_units)
            for gram, weight in zip(*char.table.row(analyzed.normalized), strict=True):
                start, end = char._t_indptr[gram], char._t_indptr[gram + 1]
                expected[char._t_indices[start:end]] += np.float64(weight) * char._t_data[start:end]
            assert char.unit_scores(analyzed.normalized).tobytes() == expected.astype(np.float32).tobytes()


def test_classifier_fast_path_matches_batch(retriever: Retriever) -> None:
    import numpy as np

    clf = retriever.index.classifier
    for query in ("签证快到期了怎么延期", "簽證過期點算", "how do I extend my viza", "zzqx"):
        analyzed = retriever.analyzer.analyze(query)
        np.testing.assert_allclose(clf.decision(analyzed), clf.decisions([analyzed])[0], atol=1e-4)


def test_full_precision_encoder_is_a_separate_index(retriever: Retriever, settings) -> None:  # noqa: ANN001
    """The shipped encoder is int8; an operator who turns that off gets vectors of the full model in
    an index of their own (never the int8 one), and English questions land on the same entries."""
    assert retriever.embedder.backend == "onnxruntime-int8"
    full = Retriever.load(settings.model_copy(update={"embedding_int8": False}))
    assert full.embedder.backend == "onnxruntime" and full.index_dir != retriever.index_dir
    english = [q for q, _, script in IN_SCOPE if script in ("en", "typo")] + ["how do I extend my visa"]
    assert [full.search(q).hits[0].entry_id for q in english] == [retriever.search(q).hits[0].entry_id for q in english]
    vectors = full.embedder.encode(english) * retriever.embedder.encode(english)
    assert vectors.sum(axis=1).min() > 0.95

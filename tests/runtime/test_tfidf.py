"""The served TF-IDF transform gives scikit-learn's numbers: the index and the NLU model are fitted
with scikit-learn and served without it, so any difference would change answers."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from runtime.tfidf import TfidfTable

TEXTS = [
    "签证快到期了怎么延期", "how do i extend my visa?", "護照喺廣州唔見咗點算", "240-hour  visa-free transit",
    "ok", "", "   ", "外国人 在华 工作许可", "Can I bring my dog on the plane?", "签证延期 visa extension 签证",
    "a", "居留许可 居留许可 居留许可", "lost passport in Shenzhen, what now", "How long can I stay?",
]
SETTINGS = [
    {"analyzer": "char", "ngram_range": (1, 3)},
    {"analyzer": "char_wb", "ngram_range": (3, 5)},
    {"analyzer": "char_wb", "ngram_range": (1, 4), "min_df": 2},
    {"analyzer": "char_wb", "ngram_range": (1, 4), "lowercase": False, "dtype": np.float32},
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_character_ngrams_transform_as_scikit_learn(settings: dict) -> None:
    fitted = TfidfVectorizer(sublinear_tf=True, **settings).fit(TEXTS[::2])
    table = TfidfTable.of(fitted)
    expected = fitted.transform(TEXTS)
    assert (table.transform(TEXTS) != expected).nnz == 0  # bit for bit
    for i, text in enumerate(TEXTS):
        cols, weights = table.row(text, np.float64)
        assert np.allclose(expected[i].toarray()[0][cols], weights, atol=1e-7)
        assert np.count_nonzero(expected[i].toarray()) == len(cols)


def test_token_lists_transform_as_scikit_learn(tmp_path) -> None:  # noqa: ANN001
    docs = [text.split() for text in TEXTS]
    fitted = TfidfVectorizer(analyzer=lambda tokens: tokens, sublinear_tf=True).fit(docs[:8])
    table = TfidfTable.of(fitted)
    table.save(tmp_path, "word")
    loaded = TfidfTable.load(tmp_path, "word")  # what a model worker reads
    assert (loaded.transform(docs) != fitted.transform(docs)).nnz == 0


def test_settings_it_cannot_reproduce_are_refused() -> None:
    fitted = TfidfVectorizer(analyzer="word").fit(TEXTS)
    with pytest.raises(ValueError, match="does not reproduce"):
        TfidfTable.of(fitted)


def test_terms_the_trie_cannot_hold_are_unknown(tmp_path) -> None:  # noqa: ANN001
    fitted = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True).fit(["ab", "bc"])
    table = TfidfTable.of(fitted)
    table.save(tmp_path, "char")
    loaded = TfidfTable.load(tmp_path, "char")  # memory-mapped, as a model worker reads it
    vocabulary = fitted.vocabulary_
    for served in (table, loaded):
        # A trie's key ends at a NUL ("a\0" must not be read as "a"); a lone surrogate has no UTF-8.
        for text in ("a\0b", "a\ud800b", "a\0\ud800b"):
            cols, tf = served.counts(text)
            assert cols.tolist() == [vocabulary["a"], vocabulary["b"]] and tf.tolist() == [1.0, 1.0]
        assert served.counts("ab")[0].tolist() == [vocabulary[t] for t in ("a", "b", "ab")]


def _reference_row(fitted: TfidfVectorizer, text: str, dtype: type) -> tuple[list[int], np.ndarray]:
    """A live query's row as the served code first computed it: the known n-grams in first-seen
    order, each looked up in scikit-learn's vocabulary one by one, then np.linalg.norm."""
    analyze = fitted.build_analyzer()
    counts = Counter(analyze(text))
    known = [(fitted.vocabulary_[g], n) for g, n in counts.items() if g in fitted.vocabulary_]
    cols = [c for c, _ in known]
    tf = np.array([n for _, n in known], dtype=np.float64)
    if not cols:
        return cols, np.zeros(0, dtype=dtype)
    weights = (1.0 + np.log(tf.astype(dtype))) * fitted.idf_[cols].astype(dtype)
    return cols, (weights / np.linalg.norm(weights)).astype(dtype)


@pytest.mark.parametrize("settings", SETTINGS)
def test_a_live_row_is_the_reference_bit_for_bit(settings: dict, tmp_path) -> None:  # noqa: ANN001
    """The row a live query gets (its columns, their order and its weights' every bit) is what
    the plain per-n-gram code gives: the retrieval and NLU scores are summed in this order."""
    fitted = TfidfVectorizer(sublinear_tf=True, **settings).fit(TEXTS[::2])
    TfidfTable.of(fitted).save(tmp_path, "t")
    table = TfidfTable.load(tmp_path, "t")
    for text in [*TEXTS, *TEXTS]:  # twice: the second reads the remembered n-gram counts
        for dtype in (np.float32, np.float64):
            cols, weights = table.row(text, dtype)
            ref_cols, ref_weights = _reference_row(fitted, text, dtype)
            assert cols.tolist() == ref_cols
            assert weights.dtype == ref_weights.dtype and weights.tobytes() == ref_weights.tobytes()

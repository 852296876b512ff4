"""The served TF-IDF transform gives scikit-learn's numbers: the index and the NLU model are fitted
with scikit-learn and served without it, so any difference would change answers."""

from __future__ import annotations

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

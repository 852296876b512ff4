"""A fitted TF-IDF vectoriser as plain arrays: what a model worker needs of scikit-learn's.

The vectorisers are fitted with scikit-learn at build time (``TfidfTable.of``); serving keeps
only the analyser's settings, the vocabulary and the idf weights, and transforms with the same
arithmetic (sublinear tf, idf, l2 norm). scikit-learn and the objects it unpickles cost a model
worker about 50 MiB and half a second, for a transform of a few lines.

Only the settings our vectorisers use are reproduced: ``analyzer`` "char", "char_wb" or
"tokens" (pre-tokenised documents), ``lowercase``, ``sublinear_tf=True``, l2 norm;
``TfidfTable.of`` refuses any other.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import marisa_trie
import numpy as np

from runtime.mapped import load_shared

if TYPE_CHECKING:
    import scipy.sparse as sp

_WHITE_SPACES = re.compile(r"\s\s+")  # scikit-learn's, so that n-grams match its own
Doc = str | Sequence[str]  # a text, or its tokens for the "tokens" analyser


def char_ngrams(text: str, lo: int, hi: int) -> list[str]:
    """scikit-learn's ``_char_ngrams``: n-grams across word boundaries."""
    text = _WHITE_SPACES.sub(" ", text)
    grams: list[str] = []
    for n in range(lo, min(hi, len(text)) + 1):
        grams.extend(text[i : i + n] for i in range(len(text) - n + 1))
    return grams


def char_wb_ngrams(text: str, lo: int, hi: int) -> list[str]:
    """scikit-learn's ``_char_wb_ngrams``: n-grams inside words padded with a space each side;
    a word shorter than n gives one n-gram (itself padded), once."""
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        padded = f" {word} "
        for n in range(lo, hi + 1):
            last = max(len(padded) - n, 0)
            grams.extend(padded[i : i + n] for i in range(last + 1))
            if last == 0:
                break
    return grams


def _counted(grams: list[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Each term once, in first-seen order (a Counter keeps it), and its count (float64)."""
    counts = Counter(grams)
    tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    tf.flags.writeable = False  # _gram_counts' callers share it
    return tuple(counts), tf


@lru_cache(maxsize=8)
def _gram_counts(text: str, analyzer: str, lo: int, hi: int) -> tuple[tuple[str, ...], np.ndarray]:
    """A text's n-grams once each, with their counts. Remembered (a pure function): a message
    meets two tables of the same settings, the character signals over an index's units and over
    its whole entries, and the second reads what the first counted."""
    return _counted((char_ngrams if analyzer == "char" else char_wb_ngrams)(text, lo, hi))


@dataclass(frozen=True)
class TfidfTable:
    """The vocabulary is a MARISA trie of the terms (``marisa-trie``, as jieba's dictionary in
    runtime/jieba_dict.py) with each term's column by its key id, not a dict: a dict of the index's
    ~260k n-grams cost a worker ~35 MiB of Python objects, the tries ~0.6 MB, memory-mapped and
    shared by the workers of a node. A lookup reads a few cache lines of the compact trie, where
    the binary search of the sorted array of terms it replaced (~3.4 MB) read ~17 far apart:
    the same CPU when the caches are warm, less when a message comes after a pause."""

    analyzer: str  # "char" | "char_wb" | "tokens"
    ngram_range: tuple[int, int]
    lowercase: bool
    vocab: marisa_trie.Trie  # the terms
    columns: np.ndarray  # the column of the term whose key id is i
    idf: np.ndarray  # per column

    @classmethod
    def of(cls, vectorizer: Any) -> TfidfTable:  # noqa: ANN401 - a fitted sklearn TfidfVectorizer
        """The table of a fitted vectoriser (build time)."""
        params = vectorizer.get_params()
        analyzer = params["analyzer"] if isinstance(params["analyzer"], str) else "tokens"
        if (analyzer not in ("char", "char_wb", "tokens") or not params["sublinear_tf"] or params["norm"] != "l2"
                or not params["use_idf"] or params["strip_accents"] is not None or params["preprocessor"] is not None):
            raise ValueError(f"a vectoriser this table does not reproduce: {params}")
        if any("\0" in t for t in vectorizer.vocabulary_):
            raise ValueError("a term with a NUL: the trie's lookups stop at it")
        vocab = marisa_trie.Trie(list(vectorizer.vocabulary_))
        columns = np.empty(len(vocab), dtype=np.int64)
        for term, key_id in vocab.iteritems():
            columns[key_id] = vectorizer.vocabulary_[term]
        return cls(analyzer, tuple(params["ngram_range"]), bool(params["lowercase"]), vocab, columns,
                   vectorizer.idf_)

    def __len__(self) -> int:
        return len(self.idf)

    def analyze(self, doc: Doc) -> list[str]:
        if self.analyzer == "tokens":
            return list(doc)
        text = str(doc).lower() if self.lowercase else str(doc)
        grams = char_ngrams if self.analyzer == "char" else char_wb_ngrams
        return grams(text, *self.ngram_range)

    def counts(self, doc: Doc) -> tuple[np.ndarray, np.ndarray]:
        """(column, count) of the document's known terms, in first-seen order (the order
        scikit-learn's callers summed them in, so the sums stay bit for bit the same)."""
        terms, tf = self._terms(doc)
        try:
            if "\0" not in "".join(terms):  # a NUL would end a trie lookup early: the slow path
                return self._known(terms, tf, map(self.vocab.get, terms, repeat(-1)))
        except UnicodeEncodeError:  # a lone surrogate has no UTF-8: the slow path
            pass
        return self._known(terms, tf, map(self._key_id, terms))

    def _terms(self, doc: Doc) -> tuple[tuple[str, ...], np.ndarray]:
        if self.analyzer == "tokens":
            return _counted(list(doc))
        text = str(doc).lower() if self.lowercase else str(doc)
        return _gram_counts(text, self.analyzer, *self.ngram_range)

    def _known(self, terms: tuple[str, ...], tf: np.ndarray, key_ids: Iterator[int]) -> tuple[np.ndarray, np.ndarray]:
        """The trie is asked in one C-level pass (``map`` into ``np.fromiter``), not a Python
        loop over the terms; -1 marks a term the vocabulary lacks."""
        found = np.fromiter(key_ids, dtype=np.int64, count=len(terms))
        known = found >= 0
        return self.columns[found[known]], tf[known]

    def _key_id(self, term: str) -> int:
        """The term's key id; -1 for a term not in the vocabulary, nor storable in it."""
        if "\0" in term:
            return -1
        try:
            return int(self.vocab.get(term, -1))
        except UnicodeEncodeError:
            return -1

    def row(self, doc: Doc, dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
        """One document's (columns, unit-length weights): a live query, in microseconds."""
        cols, tf = self.counts(doc)
        if not len(cols):
            return cols, np.zeros(0, dtype=dtype)
        weights = (1.0 + np.log(tf.astype(dtype))) * self.idf[cols].astype(dtype)
        # What np.linalg.norm computes for a vector, without its checks (~5 µs a call).
        return cols, (weights / np.sqrt(weights.dot(weights))).astype(dtype)

    def transform(self, docs: Sequence[Doc]) -> sp.csr_matrix:
        """Documents as scikit-learn's ``transform`` gives them (rows of unit length)."""
        import scipy.sparse as sp

        dtype = self.idf.dtype
        rows = [self.counts(d) for d in docs]
        indptr = np.cumsum([0] + [len(c) for c, _ in rows])
        cols = np.concatenate([c for c, _ in rows]) if rows else np.zeros(0, dtype=np.int64)
        tf = np.concatenate([t for _, t in rows]) if rows else np.zeros(0)
        matrix = sp.csr_matrix((tf.astype(dtype), cols, indptr), shape=(len(docs), len(self)))
        matrix.sort_indices()  # the order scikit-learn sums the squares in
        data = (np.log(matrix.data) + dtype.type(1.0)) * self.idf[matrix.indices]
        lengths = np.diff(matrix.indptr)
        norms = np.sqrt(np.bincount(np.repeat(np.arange(len(docs)), lengths), weights=data * data,
                                    minlength=len(docs)))
        matrix.data = (data / np.repeat(np.where(norms > 0, norms, 1.0), lengths)).astype(dtype)
        return matrix

    # -- files ---------------------------------------------------------------------------------
    def save(self, folder: Path, name: str) -> None:
        settings = {"analyzer": self.analyzer, "ngram_range": list(self.ngram_range), "lowercase": self.lowercase}
        (folder / f"{name}.json").write_text(json.dumps(settings), encoding="utf-8")
        self.vocab.save(str(folder / f"{name}_terms.marisa"))
        for part in ("columns", "idf"):
            np.save(folder / f"{name}_{part}.npy", getattr(self, part))

    @classmethod
    def load(cls, folder: Path, name: str) -> TfidfTable:
        settings = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        vocab = marisa_trie.Trie()
        vocab.mmap(str(folder / f"{name}_terms.marisa"))
        columns, idf = (load_shared(folder / f"{name}_{part}.npy") for part in ("columns", "idf"))
        return cls(settings["analyzer"], tuple(settings["ngram_range"]), settings["lowercase"], vocab, columns, idf)

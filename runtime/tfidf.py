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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


@dataclass(frozen=True)
class TfidfTable:
    """The vocabulary is a sorted array of terms (looked up with a binary search) with each term's
    column, not a dict: a dict of the index's ~260k n-grams cost a worker ~35 MiB of Python
    objects, the arrays ~5 MiB, memory-mapped and shared by the workers of a node."""

    analyzer: str  # "char" | "char_wb" | "tokens"
    ngram_range: tuple[int, int]
    lowercase: bool
    terms: np.ndarray  # sorted (numpy str_)
    columns: np.ndarray  # the column of terms[i]
    idf: np.ndarray  # per column

    @classmethod
    def of(cls, vectorizer: Any) -> TfidfTable:  # noqa: ANN401 - a fitted sklearn TfidfVectorizer
        """The table of a fitted vectoriser (build time)."""
        params = vectorizer.get_params()
        analyzer = params["analyzer"] if isinstance(params["analyzer"], str) else "tokens"
        if (analyzer not in ("char", "char_wb", "tokens") or not params["sublinear_tf"] or params["norm"] != "l2"
                or not params["use_idf"] or params["strip_accents"] is not None or params["preprocessor"] is not None):
            raise ValueError(f"a vectoriser this table does not reproduce: {params}")
        terms = np.array(list(vectorizer.vocabulary_), dtype=np.str_)
        columns = np.fromiter(vectorizer.vocabulary_.values(), dtype=np.int64, count=len(terms))
        if any(t.endswith("\0") for t in vectorizer.vocabulary_):
            raise ValueError("a term ending in NUL: numpy would store it truncated")
        order = np.argsort(terms, kind="stable")
        return cls(analyzer, tuple(params["ngram_range"]), bool(params["lowercase"]), terms[order], columns[order],
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
        found: dict[str, int] = {}
        for term in self.analyze(doc):
            found[term] = found.get(term, 0) + 1
        if not found or not len(self.terms):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        grams = np.array(list(found), dtype=np.str_)
        pos = np.minimum(np.searchsorted(self.terms, grams), len(self.terms) - 1)
        known = self.terms[pos] == grams
        tf = np.fromiter(found.values(), dtype=np.float64, count=len(found))
        return self.columns[pos[known]].astype(np.int64), tf[known]

    def row(self, doc: Doc, dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
        """One document's (columns, unit-length weights): a live query, in microseconds."""
        cols, tf = self.counts(doc)
        if not len(cols):
            return cols, np.zeros(0, dtype=dtype)
        weights = (1.0 + np.log(tf.astype(dtype))) * self.idf[cols].astype(dtype)
        return cols, (weights / np.linalg.norm(weights)).astype(dtype)

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
        for part in ("terms", "columns", "idf"):
            np.save(folder / f"{name}_{part}.npy", getattr(self, part))

    @classmethod
    def load(cls, folder: Path, name: str) -> TfidfTable:
        settings = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        terms, columns, idf = (load_shared(folder / f"{name}_{part}.npy")
                               for part in ("terms", "columns", "idf"))
        return cls(settings["analyzer"], tuple(settings["ngram_range"]), settings["lowercase"], terms, columns, idf)

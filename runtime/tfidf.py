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
    analyzer: str  # "char" | "char_wb" | "tokens"
    ngram_range: tuple[int, int]
    lowercase: bool
    terms: list[str]  # column order
    idf: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "_vocab", {t: j for j, t in enumerate(self.terms)})

    @classmethod
    def of(cls, vectorizer: Any) -> TfidfTable:  # noqa: ANN401 - a fitted sklearn TfidfVectorizer
        """The table of a fitted vectoriser (build time)."""
        params = vectorizer.get_params()
        analyzer = params["analyzer"] if isinstance(params["analyzer"], str) else "tokens"
        if (analyzer not in ("char", "char_wb", "tokens") or not params["sublinear_tf"] or params["norm"] != "l2"
                or not params["use_idf"] or params["strip_accents"] is not None or params["preprocessor"] is not None):
            raise ValueError(f"a vectoriser this table does not reproduce: {params}")
        terms = [""] * len(vectorizer.vocabulary_)
        for term, j in vectorizer.vocabulary_.items():
            terms[j] = term
        return cls(analyzer, tuple(params["ngram_range"]), bool(params["lowercase"]), terms, vectorizer.idf_)

    def __len__(self) -> int:
        return len(self.terms)

    def analyze(self, doc: Doc) -> list[str]:
        if self.analyzer == "tokens":
            return list(doc)
        text = str(doc).lower() if self.lowercase else str(doc)
        grams = char_ngrams if self.analyzer == "char" else char_wb_ngrams
        return grams(text, *self.ngram_range)

    def counts(self, doc: Doc) -> tuple[np.ndarray, np.ndarray]:
        """(column, count) of the document's known terms, in first-seen order."""
        vocab: dict[str, int] = self._vocab  # type: ignore[attr-defined]
        found: dict[int, int] = {}
        for term in self.analyze(doc):
            j = vocab.get(term)
            if j is not None:
                found[j] = found.get(j, 0) + 1
        cols = np.fromiter(found, dtype=np.int64, count=len(found))
        return cols, np.fromiter(found.values(), dtype=np.float64, count=len(found))

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
        settings = {"analyzer": self.analyzer, "ngram_range": list(self.ngram_range), "lowercase": self.lowercase,
                    "terms": self.terms}
        (folder / f"{name}.json").write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
        np.save(folder / f"{name}_idf.npy", self.idf)

    @classmethod
    def load(cls, folder: Path, name: str) -> TfidfTable:
        settings = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        return cls(settings["analyzer"], tuple(settings["ngram_range"]), settings["lowercase"], settings["terms"],
                   np.load(folder / f"{name}_idf.npy"))

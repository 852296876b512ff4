"""The three matching signals of the hybrid index, each scoring every indexed unit.

- ``dense``: sentence-transformers embeddings, cosine to every unit (one matrix product).
- ``bm25``: bm25s over language-specific tokens, divided by the query's ideal score so that
  values are comparable between queries (unknown words lower the score: useful for declines).
- ``char``: TF-IDF over character n-grams of the normalised text (typo tolerant).

Lexical signals are per language: a query only meets units of its own language.

bm25s and scikit-learn index at build time; a loaded index is plain arrays (``.npy`` files,
memory-mapped where the workers can share them) scored with numpy, and its TF-IDF vocabularies
are MARISA tries (runtime/tfidf.py), so a model worker imports
neither (nor FAISS, which scored every unit no faster than a product of a few thousand vectors).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.encoder import SentenceEncoder
from retrieval.text import Analyzed
from runtime.language import Lang
from runtime.mapped import load_shared
from runtime.tfidf import TfidfTable

LANGS: tuple[Lang, ...] = ("zh", "en")
K1, B = 1.2, 0.75


@dataclass(frozen=True)
class Unit:
    """One indexed text: a sample question, a title or an answer of one entry, in one language."""

    entry: int  # position in the index's entry list
    lang: Lang
    kind: str  # "question" | "title" | "answer"
    text: str


class EmbeddingCache:
    """Vectors of texts already embedded by one model, so that adding an entry re-encodes only
    that entry's texts. One .npz per model under ``<data_dir>/embeddings/``."""

    def __init__(self, folder: Path, model_name: str) -> None:
        key = hashlib.sha256(model_name.encode()).hexdigest()[:16]
        self.path = folder / f"{key}.npz"

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    def encode(self, embedder: SentenceEncoder, texts: list[str]) -> np.ndarray:
        known: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path) as npz:
                known = dict(zip(npz["keys"].tolist(), npz["vectors"], strict=True))
        keys = [self._key(t) for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in known))
        if missing:
            for text, vec in zip(missing, embedder.encode(missing), strict=True):
                known[self._key(text)] = vec
            self._save(known)
        return np.stack([known[k] for k in keys]).astype(np.float32)

    def _save(self, known: dict[str, np.ndarray]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
        os.replace(tmp, self.path)


class DenseSignal:
    name = "dense"

    def __init__(self, rows: np.ndarray, embedded: np.ndarray, n_units: int) -> None:
        # Every unit's score is needed (views aggregate all of an entry's units), so a query
        # takes one product with all the vectors rather than a k-NN search that would sort them.
        # Only the embedded units' vectors are kept (``rows``: their unit numbers): the others
        # (units outside the model's languages, ~55 % of them) are zeros, and reading them
        # doubled the product's memory traffic for scores that are 0.
        self._rows = rows
        self._embedded = embedded
        self.n_units = n_units

    @classmethod
    def build(cls, vectors: np.ndarray) -> DenseSignal:
        rows = np.flatnonzero(vectors.any(axis=1))
        return cls(rows, np.ascontiguousarray(vectors[rows], dtype=np.float32), len(vectors))

    @property
    def dim(self) -> int:
        return int(self._embedded.shape[1])

    def batch_scores(self, query_vecs: np.ndarray) -> np.ndarray:
        """Build time: the product with the whole matrix, as the stored rankers were fitted on."""
        return np.asarray(query_vecs, dtype=np.float32) @ self.vectors().T

    def unit_scores(self, query_vec: np.ndarray) -> np.ndarray:
        """Cosine to every unit (position = unit number). einsum, not BLAS: a multi-threaded
        gemv has a 50x worse p95 when the cores are busy, and this is only ~1M multiply-adds.
        A query in a language the model does not embed has a zero vector: its scores are zeros
        without the product (~0.65 ms of a Chinese message). Each row's sum does not depend on
        the other rows: the scores are those of the product with every unit's vector."""
        query = np.asarray(query_vec, dtype=np.float32)
        out = np.zeros(self.n_units, dtype=np.float32)
        if query.any():
            out[self._rows] = np.einsum("ij,j->i", self._embedded, query)
        return out

    def vectors(self) -> np.ndarray:
        """Every unit's vector (zeros for units not embedded): a new array, for builds and checks."""
        out = np.zeros((self.n_units, self.dim), dtype=np.float32)
        out[self._rows] = self._embedded
        return out

    def save(self, folder: Path) -> None:
        np.save(folder / "dense.npy", self._embedded)
        np.save(folder / "dense_rows.npy", self._rows)
        (folder / "dense.json").write_text(json.dumps({"n_units": self.n_units}))

    @classmethod
    def load(cls, folder: Path) -> DenseSignal:
        n_units = json.loads((folder / "dense.json").read_text())["n_units"]
        return cls(np.load(folder / "dense_rows.npy"), load_shared(folder / "dense.npy"), n_units)


@dataclass(frozen=True)
class Bm25Scores:
    """bm25s's eager index as it saves it: per token, the units it occurs in and their scores
    (CSC arrays). Scored as bm25s's numpy backend scores, token by token, in float32."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_docs: int
    vocab: dict[str, int]

    def scores(self, ids: list[int]) -> np.ndarray:
        out = np.zeros(self.n_docs, dtype=np.float32)
        for j in ids:
            start, end = self.indptr[j], self.indptr[j + 1]
            np.add.at(out, self.indices[start:end], self.data[start:end])
        return out

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> Bm25Scores:
        import bm25s  # build time only

        # Our own sorted vocabulary: bm25s numbers tokens in the order of a set, which follows
        # the process's string hashing (PYTHONHASHSEED), and the stored arrays would differ
        # between two builds of the same corpus.
        vocab = {tok: i for i, tok in enumerate(sorted({t for tokens in token_lists for t in tokens}))}
        bm25 = bm25s.BM25(k1=K1, b=B, method="lucene")
        bm25.index(([[vocab[t] for t in tokens] for tokens in token_lists], vocab), show_progress=False)
        s = bm25.scores
        return cls(s["data"], s["indices"], s["indptr"], int(s["num_docs"]), bm25.vocab_dict)

    def save(self, folder: Path) -> None:
        for name in ("data", "indices", "indptr"):
            np.save(folder / f"bm25_{name}.npy", getattr(self, name))
        meta = {"n_docs": self.n_docs, "vocab": self.vocab}
        (folder / "bm25.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Bm25Scores:
        data, indices, indptr = (load_shared(folder / f"bm25_{name}.npy")
                                 for name in ("data", "indices", "indptr"))
        meta = json.loads((folder / "bm25.json").read_text(encoding="utf-8"))
        return cls(data, indices, indptr, int(meta["n_docs"]), meta["vocab"])


class Bm25Signal:
    """BM25 over the units of one language."""

    name = "bm25"

    def __init__(self, bm25: Bm25Scores, idf: dict[str, float], max_idf: float) -> None:
        self.bm25 = bm25
        self.idf = idf
        self.max_idf = max_idf

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> Bm25Signal:
        n = len(token_lists)
        df: dict[str, int] = {}
        for tokens in token_lists:
            for tok in dict.fromkeys(tokens):  # not a set: idf.json keeps this order
                df[tok] = df.get(tok, 0) + 1
        idf = {t: float(np.log(1 + (n - d + 0.5) / (d + 0.5))) for t, d in df.items()}
        return cls(Bm25Scores.build(token_lists), idf, float(np.log(1 + (n + 0.5) / 0.5)))

    def unit_scores(self, tokens: list[str]) -> tuple[np.ndarray, float]:
        """Scores divided by the query's ideal score, and the share of query words we know."""
        n = self.bm25.n_docs
        if not tokens:
            return np.zeros(n, dtype=np.float32), 0.0
        known = [t for t in tokens if t in self.idf]
        ideal = sum(self.idf.get(t, self.max_idf) for t in tokens) * (K1 + 1) / 2
        coverage = len(known) / len(tokens)
        if not known:
            return np.zeros(n, dtype=np.float32), coverage
        scores = self.bm25.scores([self.bm25.vocab[t] for t in known])
        return (scores / ideal).astype(np.float32), coverage

    def save(self, folder: Path) -> None:
        self.bm25.save(folder)
        (folder / "idf.json").write_text(json.dumps({"idf": self.idf, "max_idf": self.max_idf}))

    @classmethod
    def load(cls, folder: Path) -> Bm25Signal:
        data = json.loads((folder / "idf.json").read_text())
        return cls(Bm25Scores.load(folder), data["idf"], data["max_idf"])


class CharSignal:
    """Cosine of character n-gram TF-IDF vectors (n-grams within words for English)."""

    name = "char"

    def __init__(self, table: TfidfTable, t_data: np.ndarray, t_indices: np.ndarray, t_indptr: np.ndarray,
                 n_units: int) -> None:
        """The unit matrix transposed, as CSR arrays (a row per n-gram): a query touches only
        its own n-grams' rows."""
        self.table = table
        self._t_data, self._t_indices, self._t_indptr = t_data, t_indices, t_indptr
        self.n_units = n_units

    @classmethod
    def build(cls, lang: Lang, texts: list[str]) -> CharSignal:
        from sklearn.feature_extraction.text import TfidfVectorizer  # build time only

        if lang == "zh":
            vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        else:
            vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        t = vec.fit_transform(texts).T.tocsr()
        return cls(TfidfTable.of(vec), t.data, t.indices, t.indptr, len(texts))

    def unit_scores(self, normalized: str) -> np.ndarray:
        """Same numbers as scikit-learn's ``transform`` + dot product, in tens of microseconds."""
        ids, weights = self.table.row(normalized)
        if not len(ids):
            return np.zeros(self.n_units, dtype=np.float32)
        # The n-grams' rows of the transposed matrix, gathered straight from its CSR arrays.
        # Each temporary is as long as the rows together (~20k for an English query), so they
        # are made in place and in float64 throughout (a float32 times float64 product is a
        # slower loop): the products and sums are the same, in the same order.
        starts = self._t_indptr[ids]
        lengths = self._t_indptr[ids + 1] - starts
        gathered_before = np.cumsum(lengths) - lengths  # where each n-gram's row starts in `flat`
        flat = np.arange(gathered_before[-1] + lengths[-1])
        flat += np.repeat(starts - gathered_before, lengths)
        contrib = self._t_data[flat]
        contrib *= np.repeat(weights.astype(np.float64), lengths)
        return np.bincount(self._t_indices[flat], weights=contrib, minlength=self.n_units).astype(np.float32)

    def batch_scores(self, normalized: list[str]) -> np.ndarray:
        import scipy.sparse as sp  # batches are for builds and evaluation

        matrix_t = sp.csr_matrix((self._t_data, self._t_indices, self._t_indptr), shape=(len(self.table), self.n_units))
        return np.asarray((self.table.transform(normalized) @ matrix_t).todense(), dtype=np.float32)

    def save(self, folder: Path) -> None:
        self.table.save(folder, "char")
        for name in ("data", "indices", "indptr"):
            np.save(folder / f"char_t_{name}.npy", getattr(self, f"_t_{name}"))
        (folder / "char_units.json").write_text(json.dumps({"n_units": self.n_units}))

    @classmethod
    def load(cls, folder: Path) -> CharSignal:
        data, indices, indptr = (load_shared(folder / f"char_t_{name}.npy")
                                 for name in ("data", "indices", "indptr"))
        n_units = json.loads((folder / "char_units.json").read_text())["n_units"]
        return cls(TfidfTable.load(folder, "char"), data, indices, indptr, n_units)


@dataclass(frozen=True)
class QuerySignals:
    """Per-unit scores of one query for each signal, before aggregation per entry."""

    lang: Lang
    dense: np.ndarray  # over all units
    bm25: np.ndarray  # over the units of `lang`
    char: np.ndarray  # over the units of `lang`
    doc: np.ndarray  # [signal, entry]: the query against whole-entry documents / centroids
    clf: np.ndarray  # [entry]: the entry classifier's share
    coverage: float
    analyzed: Analyzed

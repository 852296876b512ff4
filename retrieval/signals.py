"""The three matching signals of the hybrid index, each scoring every indexed unit.

- ``dense``: sentence-transformers embeddings in a FAISS inner-product index (cosine).
- ``bm25``: bm25s over language-specific tokens, divided by the query's ideal score so that
  values are comparable between queries (unknown words lower the score: useful for declines).
- ``char``: TF-IDF over character n-grams of the normalised text (typo tolerant).

Lexical signals are per language: a query only meets units of its own language.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from retrieval.encoder import SentenceEncoder
from retrieval.text import Analyzed
from runtime.language import Lang

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

    def __init__(self, index: faiss.Index) -> None:
        # Every unit's score is needed (views aggregate all of an entry's units), so queries take
        # one inner product with the vectors FAISS stores instead of a full-length k-NN search,
        # which would also sort them. Only the vectors are kept: the FAISS index is rebuilt from
        # them to be saved (a second copy cost each worker 11 MiB).
        self._vectors = index.reconstruct_n(0, index.ntotal)

    @classmethod
    def build(cls, vectors: np.ndarray) -> DenseSignal:
        return cls(cls._flat(vectors))

    @staticmethod
    def _flat(vectors: np.ndarray) -> faiss.Index:
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return index

    def batch_scores(self, query_vecs: np.ndarray) -> np.ndarray:
        return np.asarray(query_vecs, dtype=np.float32) @ self._vectors.T

    def unit_scores(self, query_vec: np.ndarray) -> np.ndarray:
        """Cosine to every unit (position = unit number). einsum, not BLAS: a multi-threaded
        gemv has a 50x worse p95 when the cores are busy, and this is only ~1M multiply-adds."""
        return np.einsum("ij,j->i", self._vectors, np.asarray(query_vec, dtype=np.float32))

    def vectors(self) -> np.ndarray:
        return self._vectors

    def save(self, folder: Path) -> None:
        faiss.write_index(self._flat(self._vectors), str(folder / "dense.faiss"))

    @classmethod
    def load(cls, folder: Path) -> DenseSignal:
        return cls(faiss.read_index(str(folder / "dense.faiss")))


class Bm25Signal:
    """BM25 over the units of one language."""

    name = "bm25"

    def __init__(self, bm25: bm25s.BM25, idf: dict[str, float], max_idf: float) -> None:
        self.bm25 = bm25
        self.idf = idf
        self.max_idf = max_idf
        self.vocab: dict[str, int] = bm25.vocab_dict

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> Bm25Signal:
        bm25 = bm25s.BM25(k1=K1, b=B, method="lucene")
        bm25.index(token_lists, show_progress=False)
        n = len(token_lists)
        df: dict[str, int] = {}
        for tokens in token_lists:
            for tok in set(tokens):
                df[tok] = df.get(tok, 0) + 1
        idf = {t: float(np.log(1 + (n - d + 0.5) / (d + 0.5))) for t, d in df.items()}
        return cls(bm25, idf, float(np.log(1 + (n + 0.5) / 0.5)))

    def unit_scores(self, tokens: list[str]) -> tuple[np.ndarray, float]:
        """Scores divided by the query's ideal score, and the share of query words we know."""
        n = self.bm25.scores["num_docs"]
        if not tokens:
            return np.zeros(n, dtype=np.float32), 0.0
        known = [t for t in tokens if t in self.idf]
        ideal = sum(self.idf.get(t, self.max_idf) for t in tokens) * (K1 + 1) / 2
        coverage = len(known) / len(tokens)
        if not known:
            return np.zeros(n, dtype=np.float32), coverage
        ids = [self.vocab[t] for t in known]
        scores = self.bm25.get_scores_from_ids(ids)
        return (scores / ideal).astype(np.float32), coverage

    def save(self, folder: Path) -> None:
        self.bm25.save(str(folder), show_progress=False)
        (folder / "idf.json").write_text(json.dumps({"idf": self.idf, "max_idf": self.max_idf}))

    @classmethod
    def load(cls, folder: Path) -> Bm25Signal:
        bm25 = bm25s.BM25.load(str(folder), show_progress=False)
        data = json.loads((folder / "idf.json").read_text())
        return cls(bm25, data["idf"], data["max_idf"])


class CharSignal:
    """Cosine of character n-gram TF-IDF vectors (n-grams within words for English)."""

    name = "char"

    def __init__(self, vectorizer: TfidfVectorizer, matrix, *, keep_matrix: bool = True) -> None:  # noqa: ANN001
        """``matrix`` (scipy sparse, a row per unit) is kept only where a build scores batches
        and saves it; a loaded index queries ``matrix_t`` alone (both cost a worker ~15 MiB)."""
        self.vectorizer = vectorizer
        self._matrix = matrix.tocsr() if keep_matrix else None
        self.matrix_t = matrix.T.tocsr()  # row per n-gram: a query touches only its own n-grams
        self.n_units: int = matrix.shape[0]
        self._analyzer = vectorizer.build_analyzer()
        self._vocab: dict[str, int] = vectorizer.vocabulary_
        self._idf = vectorizer.idf_.astype(np.float32)

    @classmethod
    def build(cls, lang: Lang, texts: list[str]) -> CharSignal:
        if lang == "zh":
            vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        else:
            vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        matrix = vec.fit_transform(texts)
        return cls(vec, matrix)

    def unit_scores(self, normalized: str) -> np.ndarray:
        """Same numbers as ``vectorizer.transform`` + dot product, without sklearn's per-call
        validation (which costs milliseconds; this costs tens of microseconds)."""
        counts: dict[int, int] = {}
        for gram in self._analyzer(normalized):
            j = self._vocab.get(gram)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        n_units = self.n_units
        if not counts:
            return np.zeros(n_units, dtype=np.float32)
        ids = np.fromiter(counts, dtype=np.int64, count=len(counts))
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
        weights = tf * self._idf[ids]
        weights /= np.linalg.norm(weights)
        # The n-grams' rows of the transposed matrix, gathered straight from its CSR arrays
        # (scipy's row indexing validates and copies: several times slower for one query).
        t = self.matrix_t
        starts, ends = t.indptr[ids], t.indptr[ids + 1]
        lengths = ends - starts
        flat = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        contrib = np.repeat(weights, lengths) * t.data[flat]
        return np.bincount(t.indices[flat], weights=contrib, minlength=n_units).astype(np.float32)

    @property
    def matrix(self):  # noqa: ANN201 (scipy sparse)
        if self._matrix is None:  # a loaded index asked for it: made again from the transpose
            self._matrix = self.matrix_t.T.tocsr()
        return self._matrix

    def batch_scores(self, normalized: list[str]) -> np.ndarray:
        q = self.vectorizer.transform(normalized)
        return np.asarray((q @ self.matrix.T).todense(), dtype=np.float32)

    def save(self, folder: Path) -> None:
        with open(folder / "char.pkl", "wb") as fh:
            pickle.dump((self.vectorizer, self.matrix), fh)

    @classmethod
    def load(cls, folder: Path) -> CharSignal:
        with open(folder / "char.pkl", "rb") as fh:
            vectorizer, matrix = pickle.load(fh)  # our own cache file, written by save()
        return cls(vectorizer, matrix, keep_matrix=False)


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

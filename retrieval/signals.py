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
import threading
from dataclasses import dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from retrieval.text import Analyzed, Lang

LANGS: tuple[Lang, ...] = ("zh", "en")
MAX_TOKENS = 128
K1, B = 1.2, 0.75


@dataclass(frozen=True)
class Unit:
    """One indexed text: a sample question, a title or an answer of one entry, in one language."""

    entry: int  # position in the index's entry list
    lang: Lang
    kind: str  # "question" | "title" | "answer"
    text: str


class Embedder:
    """Wraps the sentence-transformers model; encoding is serialised (one model, many threads)."""

    def __init__(self, model_name: str) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        # One intra-op thread: a single short query is fastest that way, and on a busy machine
        # several threads spin against each other (measured: 13 ms vs 35-500 ms per query).
        # Concurrency comes from the server's worker threads instead.
        torch.set_num_threads(1)

        self.model_name = model_name
        self._model = SentenceTransformer(model_name, device="cpu")
        self._model.eval()
        # Answers are long; their opening carries the topic, and the cap keeps a full build fast.
        self._model.max_seq_length = min(self._model.max_seq_length or MAX_TOKENS, MAX_TOKENS)
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        with self._lock:
            vecs = self._model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)


class EmbeddingCache:
    """Vectors of texts already embedded by one model, so that adding an entry re-encodes only
    that entry's texts. One .npz per model under ``<data_dir>/embeddings/``."""

    def __init__(self, folder: Path, model_name: str) -> None:
        key = hashlib.sha256(model_name.encode()).hexdigest()[:16]
        self.path = folder / f"{key}.npz"

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    def encode(self, embedder: Embedder, texts: list[str]) -> np.ndarray:
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
        self.index = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> DenseSignal:
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

    def unit_scores(self, query_vec: np.ndarray) -> np.ndarray:
        """Cosine to every unit (position = unit number)."""
        return self.batch_scores(query_vec.reshape(1, -1))[0]

    def batch_scores(self, query_vecs: np.ndarray) -> np.ndarray:
        n = self.index.ntotal
        sims, ids = self.index.search(np.ascontiguousarray(query_vecs, dtype=np.float32), n)
        out = np.empty_like(sims)
        np.put_along_axis(out, ids, sims, axis=1)
        return out

    def vectors(self) -> np.ndarray:
        return self.index.reconstruct_n(0, self.index.ntotal)

    def save(self, folder: Path) -> None:
        faiss.write_index(self.index, str(folder / "dense.faiss"))

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

    def __init__(self, vectorizer: TfidfVectorizer, matrix) -> None:  # noqa: ANN001 (scipy sparse)
        self.vectorizer = vectorizer
        self.matrix_t = matrix.T.tocsr()

    @classmethod
    def build(cls, lang: Lang, texts: list[str]) -> CharSignal:
        if lang == "zh":
            vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        else:
            vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        matrix = vec.fit_transform(texts)
        return cls(vec, matrix)

    def unit_scores(self, normalized: str) -> np.ndarray:
        return self.batch_scores([normalized])[0]

    def batch_scores(self, normalized: list[str]) -> np.ndarray:
        q = self.vectorizer.transform(normalized)
        return np.asarray((q @ self.matrix_t).todense(), dtype=np.float32)

    def save(self, folder: Path) -> None:
        with open(folder / "char.pkl", "wb") as fh:
            pickle.dump((self.vectorizer, self.matrix_t.T.tocsr()), fh)

    @classmethod
    def load(cls, folder: Path) -> CharSignal:
        with open(folder / "char.pkl", "rb") as fh:
            vectorizer, matrix = pickle.load(fh)  # our own cache file, written by save()
        return cls(vectorizer, matrix)


@dataclass(frozen=True)
class QuerySignals:
    """Per-unit scores of one query for each signal, before aggregation per entry."""

    lang: Lang
    dense: np.ndarray  # over all units
    bm25: np.ndarray  # over the units of `lang`
    char: np.ndarray  # over the units of `lang`
    doc: np.ndarray  # [signal, entry]: the query against whole-entry documents / centroids
    coverage: float
    analyzed: Analyzed

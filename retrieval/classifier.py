"""The ``clf`` signal: a linear classifier over entries, trained on their sample questions.

The similarity signals ask "which unit looks most like the query?"; the classifier asks "which
words and character n-grams tell this entry apart from the others?". Entries in one family
(hotline hours vs. hotline languages) share most of their words; a discriminative model learns
the few that differ, which is where the similarity signals confuse them.

Features: character 1-4-grams of the normalised text (Simplified, folded, typo tolerant) and the
analyser's tokens (jieba words for Chinese, stems for English), TF-IDF each, plus the sentence
embedding for the languages the embedding model understands (zeros otherwise, so Chinese does
not lean on an English-only model); LinearSVC one-vs-rest.
Scores are a softmax of the decision values with a temperature fitted on out-of-fold decisions,
so they are comparable between queries (the fusion model uses the share and its ratio to the best).
"""

from __future__ import annotations

import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from retrieval.text import Analyzed

C = 1.0


def _tokens(tokens: list[str]) -> list[str]:
    return tokens


class _Block:
    """One TF-IDF block with a fast single-query path (sklearn's transform validates per call)."""

    def __init__(self, vectorizer: TfidfVectorizer, offset: int) -> None:
        self.vectorizer = vectorizer
        self.offset = offset
        self._analyzer = vectorizer.build_analyzer()
        self._vocab: dict[str, int] = vectorizer.vocabulary_
        self._idf = vectorizer.idf_.astype(np.float32)

    def weights(self, doc: str | list[str]) -> tuple[np.ndarray, np.ndarray]:
        counts: dict[int, int] = {}
        for gram in self._analyzer(doc):
            j = self._vocab.get(gram)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids = np.fromiter(counts, dtype=np.int64, count=len(counts))
        w = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * self._idf[ids]
        return ids + self.offset, w / np.linalg.norm(w)


@dataclass
class EntryClassifier:
    char: TfidfVectorizer
    word: TfidfVectorizer
    coef_t: np.ndarray  # [feature, entry], float32: a query gathers only its own features' rows
    intercept: np.ndarray  # [entry]
    temperature: float
    dim: int  # width of the embedding block, the last rows of coef_t

    def __post_init__(self) -> None:
        self._blocks = (_Block(self.char, 0), _Block(self.word, len(self.char.vocabulary_)))
        self._dense_t = self.coef_t[len(self.coef_t) - self.dim :]

    # -- training ------------------------------------------------------------------------------
    @staticmethod
    def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2)
        word = TfidfVectorizer(analyzer=_tokens, sublinear_tf=True)
        return char, word

    @staticmethod
    def _matrix(
        char: TfidfVectorizer, word: TfidfVectorizer, docs: list[Analyzed], vectors: np.ndarray, fit: bool
    ) -> sp.csr_matrix:
        normalized, tokens = [d.normalized for d in docs], [d.tokens for d in docs]
        if fit:
            blocks = [char.fit_transform(normalized), word.fit_transform(tokens)]
        else:
            blocks = [char.transform(normalized), word.transform(tokens)]
        return sp.hstack([*blocks, sp.csr_matrix(vectors)]).tocsr()

    @classmethod
    def _fit_svm(cls, docs: list[Analyzed], vectors: np.ndarray, targets: np.ndarray, n_entries: int):  # noqa: ANN206
        char, word = cls._vectorizers()
        x = cls._matrix(char, word, docs, vectors, fit=True)
        svm = LinearSVC(C=C).fit(x, targets)
        coef = np.zeros((n_entries, x.shape[1]), dtype=np.float32)
        intercept = np.full(n_entries, -10.0, dtype=np.float32)  # an entry with no data never wins
        coef[svm.classes_] = svm.coef_
        intercept[svm.classes_] = svm.intercept_
        return char, word, coef, intercept

    @classmethod
    def fit(
        cls, docs: list[Analyzed], vectors: np.ndarray, targets: list[int], n_entries: int, folds: np.ndarray
    ) -> tuple[EntryClassifier, np.ndarray]:
        """Train on every doc (``vectors``: their embeddings, zero rows where not used); return
        the classifier and out-of-fold decisions [doc, entry] for the docs with ``folds >= 0``
        (each scored by a model that never saw it; docs with fold -1, such as titles, are always
        in training). Rows of other docs are zero."""
        y = np.asarray(targets)
        oof = np.zeros((len(docs), n_entries), dtype=np.float32)
        rounds = [np.nonzero(folds != f)[0] for f in sorted(set(folds[folds >= 0].tolist()))]

        def fit_on(rows: np.ndarray):  # noqa: ANN202
            return cls._fit_svm([docs[i] for i in rows], vectors[rows], y[rows], n_entries)

        # liblinear releases the GIL: the fold models and the final one train side by side.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            final = pool.submit(fit_on, np.arange(len(docs)))
            for train, (char, word, coef, intercept) in zip(rounds, pool.map(fit_on, rounds), strict=True):
                test = np.setdiff1d(np.arange(len(docs)), train)
                x = cls._matrix(char, word, [docs[i] for i in test], vectors[test], fit=False)
                oof[test] = x @ coef.T + intercept
            char, word, coef, intercept = final.result()
        held = folds >= 0
        temperature = _fit_temperature(oof[held], y[held]) if held.any() else 1.0
        return cls(char, word, np.ascontiguousarray(coef.T), intercept, temperature, vectors.shape[1]), oof

    # -- scoring -------------------------------------------------------------------------------
    def decisions(self, docs: list[Analyzed], vectors: np.ndarray) -> np.ndarray:
        """[doc, entry] decision values (batch path, for training queries)."""
        x = self._matrix(self.char, self.word, docs, vectors, fit=False)
        return np.asarray(x @ self.coef_t, dtype=np.float32) + self.intercept

    def decision(self, doc: Analyzed, vector: np.ndarray) -> np.ndarray:
        """[entry] decision values for one query, in tens of microseconds."""
        ids, weights = zip(*(b.weights(d) for b, d in zip(self._blocks, (doc.normalized, doc.tokens))), strict=True)
        idx, w = np.concatenate(ids), np.concatenate(weights)
        return w @ self.coef_t[idx] + vector @ self._dense_t + self.intercept

    def probabilities(self, decisions: np.ndarray) -> np.ndarray:
        return softmax(decisions * self.temperature, axis=-1).astype(np.float32)

    # -- persistence ---------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        with open(folder / "classifier.pkl", "wb") as fh:
            pickle.dump((self.char, self.word, self.coef_t, self.intercept, self.temperature, self.dim), fh)

    @classmethod
    def load(cls, folder: Path) -> EntryClassifier:
        with open(folder / "classifier.pkl", "rb") as fh:
            return cls(*pickle.load(fh))  # our own cache file, written by save()


def _fit_temperature(decisions: np.ndarray, targets: np.ndarray) -> float:
    """The softmax temperature with the least log loss on out-of-fold decisions."""

    def loss(t: float) -> float:
        return float(-log_softmax(decisions * t, axis=1)[np.arange(len(targets)), targets].mean())

    return float(minimize_scalar(loss, bounds=(0.1, 100.0), method="bounded").x)

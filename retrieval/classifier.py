"""The ``clf`` signal: a linear classifier over entries, trained on their sample questions.

The similarity signals ask "which unit looks most like the query?"; the classifier asks "which
words and character n-grams tell this entry apart from the others?". Entries in one family
(hotline hours vs. hotline languages) share most of their words; a discriminative model learns
the few that differ, which is where the similarity signals confuse them.

Features: character 1-4-grams of the normalised text (Simplified, folded, typo tolerant) and the
analyser's tokens (jieba words for Chinese, stems for English), TF-IDF each; LinearSVC one-vs-rest.
(Sentence embeddings as extra features were tried: with ~13 sample questions per language they
no longer changed recall, since the fusion already has the dense signal, and they tripled the
training time.)
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

    def __post_init__(self) -> None:
        self._blocks = (_Block(self.char, 0), _Block(self.word, len(self.char.vocabulary_)))

    # -- training ------------------------------------------------------------------------------
    @staticmethod
    def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2)
        word = TfidfVectorizer(analyzer=_tokens, sublinear_tf=True)
        return char, word

    @staticmethod
    def _matrix(char: TfidfVectorizer, word: TfidfVectorizer, docs: list[Analyzed], fit: bool) -> sp.csr_matrix:
        normalized, tokens = [d.normalized for d in docs], [d.tokens for d in docs]
        if fit:
            blocks = [char.fit_transform(normalized), word.fit_transform(tokens)]
        else:
            blocks = [char.transform(normalized), word.transform(tokens)]
        return sp.hstack(blocks).tocsr()

    @staticmethod
    def _fit_svm(x: sp.csr_matrix, targets: np.ndarray, n_entries: int) -> tuple[np.ndarray, np.ndarray]:
        svm = LinearSVC(C=C).fit(x, targets)
        coef = np.zeros((n_entries, x.shape[1]), dtype=np.float32)
        intercept = np.full(n_entries, -10.0, dtype=np.float32)  # an entry with no data never wins
        coef[svm.classes_] = svm.coef_
        intercept[svm.classes_] = svm.intercept_
        return coef, intercept

    @classmethod
    def fit(
        cls, docs: list[Analyzed], targets: list[int], n_entries: int, folds: np.ndarray
    ) -> tuple[EntryClassifier, np.ndarray]:
        """Train on every doc; return the classifier and out-of-fold decisions [doc, entry] for
        the docs with ``folds >= 0`` (each scored by a model that never saw it; docs with fold
        -1, such as titles, are always in training). Rows of other docs are zero. The TF-IDF
        vocabulary and weights come from all docs (no labels in them), so the folds share one
        feature matrix."""
        y = np.asarray(targets)
        char, word = cls._vectorizers()
        x = cls._matrix(char, word, docs, fit=True)
        oof = np.zeros((len(docs), n_entries), dtype=np.float32)
        tests = [np.nonzero(folds == f)[0] for f in sorted(set(folds[folds >= 0].tolist()))]
        trains = [np.setdiff1d(np.arange(len(docs)), test) for test in tests]
        # liblinear releases the GIL: the fold models and the final one train side by side.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            final = pool.submit(cls._fit_svm, x, y, n_entries)
            models = pool.map(lambda rows: cls._fit_svm(x[rows], y[rows], n_entries), trains)
            for test, (coef, intercept) in zip(tests, models, strict=True):
                oof[test] = x[test] @ coef.T + intercept
            coef, intercept = final.result()
        held = folds >= 0
        temperature = _fit_temperature(oof[held], y[held]) if held.any() else 1.0
        return cls(char, word, np.ascontiguousarray(coef.T), intercept, temperature), oof

    # -- scoring -------------------------------------------------------------------------------
    def decisions(self, docs: list[Analyzed]) -> np.ndarray:
        """[doc, entry] decision values (batch path, for training queries)."""
        x = self._matrix(self.char, self.word, docs, fit=False)
        return np.asarray(x @ self.coef_t, dtype=np.float32) + self.intercept

    def decision(self, doc: Analyzed) -> np.ndarray:
        """[entry] decision values for one query, in tens of microseconds."""
        inputs: tuple[str | list[str], ...] = (doc.normalized, doc.tokens)
        ids, weights = zip(*(b.weights(d) for b, d in zip(self._blocks, inputs, strict=True)), strict=True)
        idx, w = np.concatenate(ids), np.concatenate(weights)
        return w @ self.coef_t[idx] + self.intercept

    def probabilities(self, decisions: np.ndarray) -> np.ndarray:
        return softmax(decisions * self.temperature, axis=-1).astype(np.float32)

    # -- persistence ---------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        with open(folder / "classifier.pkl", "wb") as fh:
            pickle.dump((self.char, self.word, self.intercept, self.temperature), fh)
        np.save(folder / "classifier_coef.npy", self.coef_t)

    @classmethod
    def load(cls, folder: Path) -> EntryClassifier:
        """The weights (29 MB for the shipped corpus) are memory-mapped: a query reads only its
        own features' rows, and the model workers of a node share the pages."""
        with open(folder / "classifier.pkl", "rb") as fh:
            char, word, intercept, temperature = pickle.load(fh)  # our own cache file, written by save()
        coef_t = np.load(folder / "classifier_coef.npy", mmap_mode="r")
        return cls(char, word, coef_t, intercept, temperature)


def _fit_temperature(decisions: np.ndarray, targets: np.ndarray) -> float:
    """The softmax temperature with the least log loss on out-of-fold decisions."""

    def loss(t: float) -> float:
        return float(-log_softmax(decisions * t, axis=1)[np.arange(len(targets)), targets].mean())

    return float(minimize_scalar(loss, bounds=(0.1, 100.0), method="bounded").x)

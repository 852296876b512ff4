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

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.text import Analyzed
from runtime.mapped import load_shared
from runtime.softmax import softmax
from runtime.tfidf import TfidfTable

if TYPE_CHECKING:
    import scipy.sparse as sp

C = 1.0


def _tokens(tokens: list[str]) -> list[str]:
    return tokens


@dataclass
class EntryClassifier:
    """Served from plain arrays: the TF-IDF tables and the weights (scikit-learn trains them)."""

    char: TfidfTable
    word: TfidfTable
    coef_t: np.ndarray  # [feature, entry], float32: a query gathers only its own features' rows
    intercept: np.ndarray  # [entry]
    temperature: float

    # -- training ------------------------------------------------------------------------------
    @staticmethod
    def _vectorizers() -> tuple[Any, Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer  # build time only

        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2)
        word = TfidfVectorizer(analyzer=_tokens, sublinear_tf=True)
        return char, word

    @staticmethod
    def _fit_svm(x: sp.csr_matrix, targets: np.ndarray, n_entries: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.svm import LinearSVC

        # liblinear shuffles with a seed drawn from numpy's global generator unless given one.
        svm = LinearSVC(C=C, random_state=0).fit(x, targets)
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
        import scipy.sparse as sp

        y = np.asarray(targets)
        char, word = cls._vectorizers()
        x = sp.hstack([char.fit_transform([d.normalized for d in docs]),
                       word.fit_transform([d.tokens for d in docs])]).tocsr()
        oof = np.zeros((len(docs), n_entries), dtype=np.float32)
        tests = [np.nonzero(folds == f)[0] for f in sorted(set(folds[folds >= 0].tolist()))]
        trains = [np.setdiff1d(np.arange(len(docs)), test) for test in tests]
        # One after the other, not in threads: liblinear shuffles with one random generator per
        # process, and fits side by side would draw from it in whatever order the threads run,
        # so two builds of one corpus would differ.
        for test, train in zip(tests, trains, strict=True):
            coef, intercept = cls._fit_svm(x[train], y[train], n_entries)
            oof[test] = x[test] @ coef.T + intercept
        coef, intercept = cls._fit_svm(x, y, n_entries)
        held = folds >= 0
        temperature = _fit_temperature(oof[held], y[held]) if held.any() else 1.0
        tables = TfidfTable.of(char), TfidfTable.of(word)
        return cls(*tables, np.ascontiguousarray(coef.T), intercept, temperature), oof

    # -- scoring -------------------------------------------------------------------------------
    def decisions(self, docs: list[Analyzed]) -> np.ndarray:
        """[doc, entry] decision values (batch path, for training queries)."""
        import scipy.sparse as sp

        x = sp.hstack([self.char.transform([d.normalized for d in docs]),
                       self.word.transform([d.tokens for d in docs])]).tocsr()
        return np.asarray(x @ self.coef_t, dtype=np.float32) + self.intercept

    def decision(self, doc: Analyzed) -> np.ndarray:
        """[entry] decision values for one query, in tens of microseconds."""
        char_ids, char_w = self.char.row(doc.normalized)
        word_ids, word_w = self.word.row(doc.tokens)
        idx, w = np.concatenate([char_ids, word_ids + len(self.char)]), np.concatenate([char_w, word_w])
        return w @ self.coef_t[idx] + self.intercept

    def probabilities(self, decisions: np.ndarray) -> np.ndarray:
        return softmax(decisions * self.temperature, axis=-1).astype(np.float32)

    # -- persistence ---------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        self.char.save(folder, "classifier_char")
        self.word.save(folder, "classifier_word")
        np.save(folder / "classifier_intercept.npy", self.intercept)
        (folder / "classifier.json").write_text(json.dumps({"temperature": self.temperature}))
        np.save(folder / "classifier_coef.npy", self.coef_t)

    @classmethod
    def load(cls, folder: Path) -> EntryClassifier:
        """The weights (29 MB for the shipped corpus) are memory-mapped: a query reads only its
        own features' rows, and the model workers of a node share the pages."""
        temperature = json.loads((folder / "classifier.json").read_text())["temperature"]
        coef_t = load_shared(folder / "classifier_coef.npy")
        return cls(TfidfTable.load(folder, "classifier_char"), TfidfTable.load(folder, "classifier_word"), coef_t,
                   np.load(folder / "classifier_intercept.npy"), temperature)


def _fit_temperature(decisions: np.ndarray, targets: np.ndarray) -> float:
    """The softmax temperature with the least log loss on out-of-fold decisions."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    def loss(t: float) -> float:
        return float(-log_softmax(decisions * t, axis=1)[np.arange(len(targets)), targets].mean())

    return float(minimize_scalar(loss, bounds=(0.1, 100.0), method="bounded").x)

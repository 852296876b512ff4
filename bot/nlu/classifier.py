"""Intent classifier: char n-gram + word TF-IDF (+ optional English sentence embeddings) -> linear model.

Features, all computed on ``text.fold`` output:
- character n-grams (1-4, TF-IDF, sublinear): carry Chinese, which has no spaces, and are robust
  to typos and to Traditional/Simplified (folded to Simplified first);
- word uni/bigrams from spaCy (jieba segmenter for Chinese, blank English otherwise);
- optionally a sentence embedding from ``Settings.embedding_model`` (an English-only MiniLM) for
  English messages; Chinese messages get a zero block, so Chinese predictions never depend on it.

The linear model is scikit-learn's multinomial logistic regression; its class probabilities are
the confidences. The out-of-scope threshold is calibrated by cross-validation (see ``calibrate``).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from bot.nlu.langid import detect_language
from bot.nlu.text import Tokenizer, fold
from bot.nlu.types import OUT_OF_SCOPE


@dataclass(frozen=True)
class ClassifierConfig:
    char_ngrams: tuple[int, int] = (1, 4)
    word_ngrams: tuple[int, int] = (1, 2)
    C: float = 20.0
    max_iter: int = 300
    use_embeddings: bool = True
    embedding_weight: float = 1.0
    cv_folds: int = 5

    def as_dict(self) -> dict:
        return asdict(self)


class Embedder:
    """Sentence-transformers wrapper; encodes English texts only (zeros for Chinese)."""

    def __init__(self, model_path: str) -> None:
        from sentence_transformers import SentenceTransformer  # heavy import: only when used

        self.model = SentenceTransformer(model_path, device="cpu")
        self.dim = self.model.get_sentence_embedding_dimension()
        self._lock = threading.Lock()

    def encode(self, texts: list[str], english: list[bool]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        idx = [i for i, en in enumerate(english) if en]
        if idx:
            with self._lock:
                vecs = self.model.encode([texts[i] for i in idx], batch_size=64,
                                         normalize_embeddings=True, show_progress_bar=False)
            out[idx] = vecs
        return out


def _pretokenized(tokens: list[str]) -> list[str]:
    return tokens


@dataclass
class Featurizer:
    config: ClassifierConfig
    char: TfidfVectorizer = field(init=False)
    word: TfidfVectorizer = field(init=False)

    def __post_init__(self) -> None:
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=self.config.char_ngrams,
                                    sublinear_tf=True, min_df=1, lowercase=False, dtype=np.float32)
        self.word = TfidfVectorizer(analyzer=_pretokenized, ngram_range=(1, 1),
                                    sublinear_tf=True, lowercase=False, dtype=np.float32)

    def _words(self, tokenizer: Tokenizer, folded: str, has_han: bool) -> list[str]:
        toks = tokenizer.words(folded, has_han)
        lo, hi = self.config.word_ngrams
        grams = []
        for n in range(lo, hi + 1):
            grams += [" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)]
        return grams

    def _prepare(self, texts: list[str], tokenizer: Tokenizer) -> tuple[list[str], list[list[str]], list[bool]]:
        folded = [fold(t) for t in texts]
        english = [detect_language(t).lang == "en" for t in texts]
        words = [self._words(tokenizer, f, not en) for f, en in zip(folded, english)]
        return folded, words, english

    def fit_transform(self, texts: list[str], tokenizer: Tokenizer, embedder: Embedder | None) -> sp.csr_matrix:
        folded, words, english = self._prepare(texts, tokenizer)
        blocks = [self.char.fit_transform(folded), self.word.fit_transform(words)]
        return self._stack(blocks, texts, english, embedder)

    def transform(self, texts: list[str], tokenizer: Tokenizer, embedder: Embedder | None) -> sp.csr_matrix:
        folded, words, english = self._prepare(texts, tokenizer)
        blocks = [self.char.transform(folded), self.word.transform(words)]
        return self._stack(blocks, texts, english, embedder)

    def _stack(self, blocks: list, texts: list[str], english: list[bool], embedder: Embedder | None) -> sp.csr_matrix:
        if embedder is not None:
            dense = embedder.encode(texts, english) * self.config.embedding_weight
            blocks.append(sp.csr_matrix(dense))
        return sp.hstack(blocks, format="csr")


def _model(config: ClassifierConfig) -> LogisticRegression:
    return LogisticRegression(C=config.C, max_iter=config.max_iter)


@dataclass(frozen=True)
class Calibration:
    threshold: float
    criterion: str
    cv_in_scope_accuracy: float
    cv_oos_recall: float | None


def calibrate(X: sp.csr_matrix, y: np.ndarray, config: ClassifierConfig) -> Calibration:
    """Choose the confidence threshold below which a message is out of scope.

    Out-of-fold probabilities come from stratified k-fold cross-validation on the training data.
    Criterion: maximise the mean of in-scope accuracy (a rejected in-scope message counts as
    wrong) and out-of-scope recall (an OOS example counts as caught when its top intent is
    out_of_scope or its confidence is below the threshold). Without OOS examples in the data
    nothing can be calibrated, and the threshold is 0 (reject only by the out_of_scope intent).
    """
    is_oos = y == OUT_OF_SCOPE
    if not is_oos.any():
        return Calibration(0.0, "no out-of-scope examples: threshold 0", float("nan"), None)
    _, counts = np.unique(y, return_counts=True)
    folds = max(2, min(config.cv_folds, int(counts.min())))
    top, conf = np.empty(len(y), dtype=object), np.zeros(len(y))
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y):
        model = _model(config).fit(X[train_idx], y[train_idx])
        proba = model.predict_proba(X[test_idx])
        top[test_idx] = model.classes_[proba.argmax(1)]
        conf[test_idx] = proba.max(1)
    best = (-1.0, 0.0, 0.0, 0.0)
    for t in np.unique(np.concatenate([[0.0], conf])):
        rejected = (top == OUT_OF_SCOPE) | (conf < t)
        acc = float(((top == y) & ~rejected)[~is_oos].mean())
        rec = float(rejected[is_oos].mean())
        score = (acc + rec) / 2
        if score > best[0]:
            best = (score, float(t), acc, rec)
    return Calibration(best[1], f"max mean(in-scope accuracy, OOS recall), {folds}-fold CV", best[2], best[3])


@dataclass
class IntentModel:
    """Everything the trained classifier needs at parse time; pickled into the model cache."""

    config: ClassifierConfig
    featurizer: Featurizer
    model: LogisticRegression
    calibration: Calibration
    embedding_model: str | None

    @property
    def classes(self) -> list[str]:
        return list(self.model.classes_)

    @classmethod
    def train(cls, texts: list[str], intents: list[str], config: ClassifierConfig,
              tokenizer: Tokenizer, embedder: Embedder | None, embedding_model: str | None) -> IntentModel:
        featurizer = Featurizer(config)
        X = featurizer.fit_transform(texts, tokenizer, embedder)
        y = np.asarray(intents, dtype=object)
        calibration = calibrate(X, y, config)
        model = _model(config).fit(X, y)
        return cls(config, featurizer, model, calibration, embedding_model if embedder else None)

    def predict(self, texts: list[str], tokenizer: Tokenizer, embedder: Embedder | None) -> np.ndarray:
        return self.model.predict_proba(self.featurizer.transform(texts, tokenizer, embedder))

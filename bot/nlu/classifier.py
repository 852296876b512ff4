"""Intent classifier: char n-gram + word TF-IDF + English sentence embeddings -> linear model.

Features (the sparse ones computed on ``text.fold`` output):
- character n-grams (1-4, TF-IDF, sublinear): carry Chinese, which has no spaces, and are robust
  to typos and to Traditional/Simplified (folded to Simplified first);
- word uni/bigrams from spaCy (jieba segmenter for Chinese, blank English otherwise), plus an
  ``<only:type>`` token when the message is nothing but entities (a bare "广东");
- a sentence embedding from ``Settings.embedding_model`` (an English-only MiniLM) for English
  messages, weighted by ``embedding_weight``; other messages get a zero block, so Chinese
  predictions never depend on it. Without a model the engine runs on the sparse blocks alone.

The linear model is scikit-learn's LinearSVC (one-vs-rest, liblinear: seconds to train even with
150 intents). Confidences are a softmax of its decision scores with a temperature fitted on
out-of-fold scores (minimum log loss); the out-of-scope threshold is calibrated on the same
out-of-fold predictions (see ``calibrate``).

scikit-learn and SciPy train; the trained model is plain arrays (TF-IDF tables, weights), so a
model worker that loads it imports neither.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.nlu.entities import EntityExtractor
from bot.nlu.text import Tokenizer, fold
from bot.nlu.types import OUT_OF_SCOPE, Entity
from runtime.language import lang_of
from runtime.softmax import softmax
from runtime.tfidf import TfidfTable

if TYPE_CHECKING:
    import scipy.sparse as sp

    from retrieval.encoder import SentenceEncoder


@dataclass(frozen=True)
class ClassifierConfig:
    char_ngrams: tuple[int, int] = (1, 4)
    word_ngrams: tuple[int, int] = (1, 2)
    C: float = 0.5
    entity_features: bool = True
    use_embeddings: bool = True
    embedding_weight: float = 2.0
    cv_folds: int = 5

    def as_dict(self) -> dict:
        return asdict(self)


class Embedder:
    """English sentence embeddings from the retriever's encoder (sentence-transformers, run through
    ONNX Runtime on one thread with int8 weights where the model allows: ~3 ms per message instead
    of ~6 ms at full precision); other messages get zeros, so Chinese predictions never depend on
    the English-only model."""

    def __init__(self, model_path: str, onnx_cache: Path, encoder: SentenceEncoder | None = None,
                 *, int8: bool = False, build: bool = True) -> None:
        """``encoder``: an already loaded ``retrieval.encoder.SentenceEncoder`` of the same model (the
        worker shares the retriever's: one copy of the model, one encoding per message); else the
        encoder exported under ``onnx_cache`` (exported now if ``build``)."""
        if encoder is None:
            from retrieval.encoder import SentenceEncoder  # onnxruntime: only when used

            encoder = SentenceEncoder.load(model_path, onnx_cache, int8=int8, build=build)
        self._encoder = encoder
        self.model_id: str = encoder.model_id  # the model and its precision: part of the cache key
        self.dim = int(encoder.dim)

    def encode(self, texts: list[str], english: list[bool]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        idx = [i for i, en in enumerate(english) if en]
        if idx:
            out[idx] = self._encoder.encode([texts[i] for i in idx])
        return out


@dataclass(frozen=True)
class Message:
    """One message read once: folded, and the entities that the model's own extractor found in
    it (``None``: not looked for yet). The parse reports those entities too, so the features
    take them from here rather than folding and matching the message a second time."""

    text: str
    folded: str
    entities: list[Entity] | None = None


def _pretokenized(tokens: list[str]) -> list[str]:
    return tokens


# What may surround an entity in a message that only names it: "广东省", "Guangdong province".
# How far below the best macro-F1 the out-of-scope threshold may sit (see calibrate).
F1_TOLERANCE = 0.005
_REMAINDER = re.compile(r"[\W_]|省|市|province|city", re.IGNORECASE)


@dataclass
class Featurizer:
    """Fitted by ``fit_transform`` (scikit-learn's vectorisers, kept as plain tables)."""

    config: ClassifierConfig
    entities: EntityExtractor | None = None
    char: TfidfTable | None = field(default=None, init=False)
    word: TfidfTable | None = field(default=None, init=False)

    def _tables(self) -> tuple[TfidfTable, TfidfTable]:
        if self.char is None or self.word is None:
            raise ValueError("the featurizer is not fitted")
        return self.char, self.word

    def _words(self, tokenizer: Tokenizer, folded: str, has_han: bool) -> list[str]:
        toks = tokenizer.words(folded, has_han)
        lo, hi = self.config.word_ngrams
        grams = []
        for n in range(lo, hi + 1):
            grams += [" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)]
        return grams

    def _entity_tokens(self, text: str, folded: str, found: list[Entity] | None = None) -> list[str]:
        """``<only:province>`` when the message is nothing but entities: the answer "湖南" then
        generalises from "广东" instead of leaning on characters it shares with unrelated words
        (广东 with 广东话, a language choice). A token for every entity found was measured too: it
        lowered accuracy on the nlu_data hold-out, so only whole-message entities count."""
        if self.entities is None:
            return []
        if found is None:
            found = self.entities.extract(text, folded)
        rest = list(folded)
        for e in found:
            rest[e.start:e.end] = [" "] * (e.end - e.start)
        if found and not _REMAINDER.sub("", "".join(rest)):
            return [f"<only:{e.type}>" for e in found]
        return []

    def _prepare(self, texts: list[str], tokenizer: Tokenizer) -> tuple[list[str], list[list[str]], list[bool]]:
        folded = [fold(t) for t in texts]
        english = [lang_of(t) == "en" for t in texts]
        words = [self._words(tokenizer, f, not en) + self._entity_tokens(t, f)
                 for t, f, en in zip(texts, folded, english, strict=True)]
        return folded, words, english

    def _prepare_one(self, message: Message, tokenizer: Tokenizer) -> tuple[str, list[str], bool]:
        english = lang_of(message.text) == "en"
        words = self._words(tokenizer, message.folded, not english) + self._entity_tokens(
            message.text, message.folded, message.entities)
        return message.folded, words, english

    def fit_transform(self, texts: list[str], tokenizer: Tokenizer, embedder: Embedder | None) -> sp.csr_matrix:
        from sklearn.feature_extraction.text import TfidfVectorizer  # training only

        char = TfidfVectorizer(analyzer="char_wb", ngram_range=self.config.char_ngrams,
                               sublinear_tf=True, min_df=1, lowercase=False, dtype=np.float32)
        word = TfidfVectorizer(analyzer=_pretokenized, ngram_range=(1, 1),
                               sublinear_tf=True, lowercase=False, dtype=np.float32)
        folded, words, english = self._prepare(texts, tokenizer)
        blocks = [char.fit_transform(folded), word.fit_transform(words)]
        self.char, self.word = TfidfTable.of(char), TfidfTable.of(word)
        return self._stack(blocks, texts, english, embedder)

    def transform(self, texts: list[str], tokenizer: Tokenizer, embedder: Embedder | None) -> sp.csr_matrix:
        char, word = self._tables()
        folded, words, english = self._prepare(texts, tokenizer)
        blocks = [char.transform(folded), word.transform(words)]
        return self._stack(blocks, texts, english, embedder)

    def transform_one(self, message: Message, tokenizer: Tokenizer,
                      embedder: Embedder | None) -> tuple[np.ndarray, np.ndarray]:
        """Sparse features of one message as (column indices, values), without sklearn's per-call
        input validation (which costs milliseconds); numerically the same as ``transform``."""
        folded, words, english = self._prepare_one(message, tokenizer)
        cols, vals, offset = [], [], 0
        for table, doc in zip(self._tables(), (folded, words), strict=True):
            c, v = table.row(doc, np.float64)  # in float64, kept as float32: the weights served before
            cols.append(c + offset)
            vals.append(v.astype(np.float32))
            offset += len(table)
        if embedder is not None:
            dense = embedder.encode([message.text], [english])[0] * self.config.embedding_weight
            cols.append(np.arange(offset, offset + len(dense)))
            vals.append(dense)
        return np.concatenate(cols), np.concatenate(vals)

    def _stack(self, blocks: list, texts: list[str], english: list[bool], embedder: Embedder | None) -> sp.csr_matrix:
        import scipy.sparse as sp

        if embedder is not None:
            dense = embedder.encode(texts, english) * self.config.embedding_weight
            blocks.append(sp.csr_matrix(dense))
        return sp.hstack(blocks, format="csr")


def _model(config: ClassifierConfig) -> Any:  # noqa: ANN401 - sklearn's LinearSVC
    from sklearn.svm import LinearSVC  # training only

    # liblinear shuffles with a seed drawn from numpy's global generator unless given one.
    return LinearSVC(C=config.C, random_state=0)


@dataclass(frozen=True)
class Calibration:
    threshold: float
    temperature: float
    criterion: str
    cv_in_scope_accuracy: float
    cv_oos_recall: float | None


def _out_of_fold_scores(X: sp.csr_matrix, y: np.ndarray,
                        config: ClassifierConfig) -> tuple[np.ndarray, np.ndarray, int]:
    from sklearn.model_selection import StratifiedKFold
    classes = np.unique(y)
    _, counts = np.unique(y, return_counts=True)
    folds = max(2, min(config.cv_folds, int(counts.min())))
    scores = np.zeros((len(y), len(classes)))
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y):
        model = _model(config).fit(X[train_idx], y[train_idx])
        cols = np.searchsorted(classes, model.classes_)
        scores[np.ix_(test_idx, cols)] = model.decision_function(X[test_idx])
    return classes, scores, folds


def _fit_temperature(scores: np.ndarray, gold: np.ndarray) -> float:
    from scipy.optimize import minimize_scalar
    def nll(t: float) -> float:
        p = softmax(scores * t, axis=1)[np.arange(len(gold)), gold]
        return float(-np.log(np.clip(p, 1e-12, None)).mean())

    return float(minimize_scalar(nll, bounds=(0.1, 100.0), method="bounded").x)


def calibrate(X: sp.csr_matrix, y: np.ndarray, config: ClassifierConfig) -> Calibration:
    """Fit the softmax temperature and the confidence threshold below which a message is OOS.

    Out-of-fold decision scores come from stratified k-fold cross-validation on the training data.
    Threshold criterion: maximise macro-F1 over all intents, with out_of_scope as one more class
    (a message below the threshold is predicted out_of_scope); candidates are the quantiles 0-50%
    of the out-of-fold confidences. Macro-F1 weighs the OOS class like any intent, so neither
    rejecting too much (hurts every in-scope intent's recall) nor too little (hurts OOS recall)
    wins. Without OOS examples the threshold is 0 (reject only by the out_of_scope intent).
    """
    from sklearn.metrics import f1_score

    if len(np.unique(y)) < 2:
        raise ValueError("training data needs at least two intents")
    classes, scores, folds = _out_of_fold_scores(X, y, config)
    gold = np.searchsorted(classes, y)
    temperature = _fit_temperature(scores, gold)
    proba = softmax(scores * temperature, axis=1)
    top, conf = classes[proba.argmax(1)], proba.max(1)
    is_oos = y == OUT_OF_SCOPE
    if not is_oos.any():
        acc = float((top == y).mean())
        return Calibration(0.0, temperature, "no out-of-scope examples: threshold 0", acc, None)
    candidates = []
    for t in np.unique(np.quantile(conf, np.linspace(0, 0.5, 101))):
        predicted = np.where(conf < t, OUT_OF_SCOPE, top)
        score = f1_score(y, predicted, average="macro", zero_division=0)
        acc = float((predicted == y)[~is_oos].mean())
        candidates.append((score, float(t), acc, float((predicted == OUT_OF_SCOPE)[is_oos].mean())))
    # The curve is flat near its top (macro-F1 within 0.003 over thresholds 0.14-0.40), so its
    # argmax jumps with any new example; the lowest threshold within F1_TOLERANCE of the best is
    # stable, and a real question declined costs a visitor more than an off-topic one answered.
    top_score = max(c[0] for c in candidates)
    best = min((c for c in candidates if c[0] >= top_score - F1_TOLERANCE), key=lambda c: c[1])
    criterion = (f"lowest threshold within {F1_TOLERANCE} of the best macro-F1 over all intents with "
                 f"out_of_scope as one class, on {folds}-fold out-of-fold predictions")
    return Calibration(best[1], temperature, criterion, best[2], best[3])


@dataclass
class IntentModel:
    """Everything the trained classifier needs at parse time; pickled into the model cache.
    ``coef`` [class, feature] and ``intercept`` are LinearSVC's (one row when it had two classes)."""

    config: ClassifierConfig
    featurizer: Featurizer
    coef: np.ndarray
    intercept: np.ndarray
    classes: list[str]
    calibration: Calibration
    embedding_model: str | None

    @classmethod
    def train(cls, texts: list[str], intents: list[str], config: ClassifierConfig,
              tokenizer: Tokenizer, embedder: Embedder | None,
              entities: EntityExtractor | None = None) -> IntentModel:
        featurizer = Featurizer(config, entities if config.entity_features else None)
        X = featurizer.fit_transform(texts, tokenizer, embedder)
        y = np.asarray(intents, dtype=object)
        calibration = calibrate(X, y, config)
        model = _model(config).fit(X, y)
        return cls(config, featurizer, model.coef_, model.intercept_, list(model.classes_), calibration,
                   embedder.model_id if embedder else None)

    def _probabilities(self, scores: np.ndarray) -> np.ndarray:
        if self.coef.shape[0] == 1:  # a binary LinearSVC has one row: the second class's score
            scores = np.stack([-scores[..., 0], scores[..., 0]], axis=-1)
        return softmax(scores * self.calibration.temperature, axis=-1)

    def predict(self, texts: list[str], tokenizer: Tokenizer, embedder: Embedder | None) -> np.ndarray:
        x = self.featurizer.transform(texts, tokenizer, embedder)
        return self._probabilities(np.asarray(x @ self.coef.T) + self.intercept)

    def predict_one(self, message: Message, tokenizer: Tokenizer, embedder: Embedder | None) -> np.ndarray:
        cols, vals = self.featurizer.transform_one(message, tokenizer, embedder)
        return self._probabilities(self.coef[:, cols] @ vals + self.intercept)

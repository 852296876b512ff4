"""The built-in engine: language id + intent classifier + rule-based entities, cached by content hash."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import joblib
import numpy as np

from bot.nlu.classifier import ClassifierConfig, Embedder, IntentModel, Message
from bot.nlu.dataset import TrainingData
from bot.nlu.entities import EntityExtractor
from bot.nlu.text import Tokenizer, fold
from bot.nlu.types import OUT_OF_SCOPE, Entity, Parse
from runtime.build_lock import NotBuilt, build_lock
from runtime.language_id import detect_language

if TYPE_CHECKING:
    from retrieval.encoder import SentenceEncoder

log = logging.getLogger(__name__)

# Bump when features, model or entity rules change in a way that invalidates cached models.
CODE_VERSION = "builtin-9"
# The pickled model is made of these modules' classes: a change to them trains again (an old
# model.joblib is never unpickled into classes that no longer match it, nor serves the entity
# patterns of the code it was trained with).
MODEL_CODE = (Path(__file__).with_name("classifier.py"), Path(__file__).with_name("entities.py"),
              Path(__file__).parents[2] / "runtime" / "tfidf.py")
RANKING_SIZE = 5


@dataclass
class TrainedArtifact:
    intent_model: IntentModel
    entities: EntityExtractor
    key: str
    n_examples: int  # no timing here: the pickled model is byte-for-byte the same on every training


def data_key(data: TrainingData, config: ClassifierConfig, embedding_model: str | None) -> str:
    """``embedding_model``: the encoder's ``model_id`` (model and precision), None without one."""
    payload = {
        "code": CODE_VERSION,
        "model_code": [hashlib.sha256(path.read_bytes()).hexdigest() for path in MODEL_CODE],
        "config": config.as_dict(),
        "embedding_model": embedding_model,
        "examples": [(e.text, e.intent, [asdict(x) for x in e.entities]) for e in data.examples],
        "synonyms": sorted(data.synonyms.items()),
        "regexes": sorted(data.regexes.items()),
        "lookups": sorted(data.lookups.items()),
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class BuiltinEngine:
    """parse() is thread-safe: the model is read-only and the tokenizer/embedder lock internally."""

    name = "builtin"

    def __init__(self, artifact: TrainedArtifact, tokenizer: Tokenizer, embedder: Embedder | None) -> None:
        self.artifact = artifact
        self._tokenizer = tokenizer
        self._embedder = embedder

    @property
    def threshold(self) -> float:
        return self.artifact.intent_model.calibration.threshold

    def parse(self, text: str) -> Parse:
        model = self.artifact.intent_model
        folded = fold(text)
        entities = self.artifact.entities.extract(text, folded)
        # The features' extractor is this one (see _train): they reuse what it found.
        shared = model.featurizer.entities is self.artifact.entities
        message = Message(text, folded, entities if shared else None)
        return self._build(text, model.predict_one(message, self._tokenizer, self._embedder), model.classes, entities)

    def parse_batch(self, texts: list[str]) -> list[Parse]:
        model = self.artifact.intent_model
        proba = model.predict(texts, self._tokenizer, self._embedder)
        classes = model.classes
        return [self._build(text, row, classes, self.artifact.entities.extract(text, fold(text)))
                for text, row in zip(texts, proba, strict=True)]

    def _build(self, text: str, row: np.ndarray, classes: list[str], entities: list[Entity]) -> Parse:
        order = np.argsort(-row)[:RANKING_SIZE]
        ranking = [(classes[i], float(row[i])) for i in order]
        intent, confidence = ranking[0]
        is_oos = intent == OUT_OF_SCOPE or confidence < self.threshold
        return Parse(
            text=text,
            lang=detect_language(text),
            intent=OUT_OF_SCOPE if is_oos else intent,
            confidence=confidence,
            ranking=ranking,
            entities=entities,
            is_oos=is_oos,
        )


def train_or_load(data: TrainingData, cache_root: Path, embedding_model: str | None,
                  config: ClassifierConfig | None = None, *, force: bool = False,
                  onnx_cache: Path | None = None, encoder: SentenceEncoder | None = None,
                  int8: bool = False, train: bool = True) -> tuple[BuiltinEngine, bool]:
    """Return (engine, trained_now). Models live in ``cache_root/<key>/model.joblib``; a missing one
    is trained once under the build lock of ``cache_root``, or ``NotBuilt`` raised if not ``train``.

    ``embedding_model`` (a sentence-transformers folder) feeds the English embedding block when
    ``config.use_embeddings``; None trains on sparse features alone. ``onnx_cache`` is where the
    encoder's ONNX export is kept (the retriever uses ``<data_dir>/models`` too); ``int8`` runs it
    quantised (``Settings.embedding_int8``). ``encoder``, an already loaded encoder, overrides both.
    """
    config = config or ClassifierConfig()
    if not data.examples:
        raise ValueError("no training examples")
    tokenizer = Tokenizer()
    embedder = (_load_embedder(embedding_model, onnx_cache or cache_root / "onnx", encoder, int8, train)
                if config.use_embeddings and embedding_model else None)
    key = data_key(data, config, embedder.model_id if embedder else None)
    path = cache_root / key / "model.joblib"
    if path.exists() and not force:
        return BuiltinEngine(joblib.load(path), tokenizer, embedder), False
    if not train:
        raise NotBuilt(f"no NLU model {path}")
    with build_lock(cache_root):
        if path.exists() and not force:  # trained while this process waited
            return BuiltinEngine(joblib.load(path), tokenizer, embedder), False
        return _train(data, config, key, path, tokenizer, embedder), True


def _train(data: TrainingData, config: ClassifierConfig, key: str, path: Path, tokenizer: Tokenizer,
           embedder: Embedder | None) -> BuiltinEngine:
    started = time.perf_counter()
    entities = EntityExtractor(data)
    model = IntentModel.train([e.text for e in data.examples], [e.intent for e in data.examples],
                              config, tokenizer, embedder, entities)
    artifact = TrainedArtifact(model, entities, key, len(data.examples))
    _atomic_dump(artifact, path)
    _write_meta(artifact, path.parent, time.perf_counter() - started)
    return BuiltinEngine(artifact, tokenizer, embedder)


def _load_embedder(model_path: str, onnx_cache: Path, encoder: SentenceEncoder | None, int8: bool,
                   build: bool) -> Embedder:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    return Embedder(model_path, onnx_cache, encoder, int8=int8, build=build)


def _atomic_dump(obj: object, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    joblib.dump(obj, tmp)
    os.replace(tmp, path)


def train_seconds(model_folder: Path) -> float:
    """How long the model in ``model_folder`` (``cache_root/<key>``) took to train."""
    return float(json.loads((model_folder / "meta.json").read_text(encoding="utf-8"))["train_seconds"])


def _write_meta(artifact: TrainedArtifact, folder: Path, seconds: float) -> None:
    cal = artifact.intent_model.calibration
    meta = {
        "key": artifact.key,
        "code_version": CODE_VERSION,
        "examples": artifact.n_examples,
        "intents": artifact.intent_model.classes,
        "train_seconds": round(seconds, 2),
        "oos_threshold": cal.threshold,
        "threshold_criterion": cal.criterion,
        "cv_in_scope_accuracy": cal.cv_in_scope_accuracy,
        "cv_oos_recall": cal.cv_oos_recall,
        "config": artifact.intent_model.config.as_dict(),
        "embedding_model": artifact.intent_model.embedding_model,
    }
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")

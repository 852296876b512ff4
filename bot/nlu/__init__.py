"""NLU for 12367 ONLINE: language identification, intents and entities.

Public API::

    from bot.nlu import detect_language, load_engine
    detect_language("簽證過期點算")   # LangInfo(lang="zh", script="yue")
    engine = load_engine(settings)    # built-in (default) or Rasa over HTTP (nlu_engine="rasa")
    engine.parse("我想转人工")          # Parse(text, lang, intent, confidence, ranking, entities, is_oos)
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from bot.nlu.dataset import NLUDataError, TrainingData, load_training_data
from bot.nlu.types import ENTITY_TYPES, INTENTS, OUT_OF_SCOPE, Entity, Example, Parse
from runtime.language_id import LangInfo, detect_language

if TYPE_CHECKING:
    from bot.nlu.builtin import BuiltinEngine
    from bot.nlu.rasa_runtime import RasaEngine
    from bot.settings import Settings
    from retrieval.encoder import SentenceEncoder

__all__ = [
    "ENTITY_TYPES", "INTENTS", "OUT_OF_SCOPE", "Entity", "Example", "LangInfo", "NLUDataError", "Parse",
    "TrainingData", "detect_language", "engine_name", "load_engine", "load_training_data",
]


def engine_name(settings: Settings) -> str:
    """``settings.nlu_engine`` (CHAT_NLU_ENGINE), overridden by a plain NLU_ENGINE variable."""
    return os.environ.get("NLU_ENGINE") or settings.nlu_engine


def load_engine(settings: Settings, encoder: SentenceEncoder | None = None, *,
                build: bool = True) -> BuiltinEngine | RasaEngine:
    """The configured engine; the built-in one is trained on first use and cached by content hash
    (``build=False``: ``NotBuilt`` instead of training). ``encoder``: the retriever's sentence
    encoder, shared instead of loading the model again."""
    if engine_name(settings) == "rasa":
        from bot.nlu.rasa_runtime import RasaEngine

        return RasaEngine(settings.rasa_url)
    from bot.nlu.builtin import train_or_load

    data = load_training_data(settings.nlu_data_dir)
    engine, _ = train_or_load(data, settings.data_dir / "nlu", settings.embedding_model,
                              onnx_cache=settings.data_dir / "models", encoder=encoder,
                              int8=settings.embedding_int8, train=build)
    return engine

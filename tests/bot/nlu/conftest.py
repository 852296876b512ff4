"""Shared fixtures: one real built-in model trained on nlu_data/ (about a second, cached per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu.builtin import BuiltinEngine, train_or_load
from bot.nlu.dataset import load_training_data

ROOT = Path(__file__).resolve().parents[3]
NLU_DATA = ROOT / "nlu_data"


@pytest.fixture(scope="session")
def nlu_data():
    return load_training_data(NLU_DATA)


@pytest.fixture(scope="session")
def engine(nlu_data, tmp_path_factory) -> BuiltinEngine:
    cache = tmp_path_factory.mktemp("nlu-cache")
    built, trained = train_or_load(nlu_data, cache, None)
    assert trained
    return built

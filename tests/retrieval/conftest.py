"""One tiny fixture index per test session (the model loads once; the index is cached by hash).

The exported encoders (content-hashed, ``<data>/models``) are shared with the built data dir
(``CHAT_TEST_CACHE``, default ``data/``) where it has them: the export runs once, not per run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FIXTURE_KNOWLEDGE = Path(__file__).parent / "fixtures" / "knowledge"
ROOT = Path(__file__).resolve().parents[2]
SHARED_MODELS = Path(os.environ.get("CHAT_TEST_CACHE", ROOT / "data")) / "models"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("retrieval-data")
    SHARED_MODELS.mkdir(parents=True, exist_ok=True)
    (folder / "models").symlink_to(SHARED_MODELS.resolve())
    return folder


@pytest.fixture(scope="session")
def settings(data_dir: Path):  # noqa: ANN201
    from retrieval.settings import RetrievalSettings

    return RetrievalSettings(knowledge_dir=FIXTURE_KNOWLEDGE, data_dir=data_dir)


@pytest.fixture(scope="session")
def retriever(settings):  # noqa: ANN001, ANN201
    from retrieval import Retriever

    return Retriever.load(settings)


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture corpus."""
    target = tmp_path / "knowledge"
    shutil.copytree(FIXTURE_KNOWLEDGE, target)
    return target

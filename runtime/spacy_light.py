"""spaCy's blank tokenizers without PyTorch.

Importing spaCy imports thinc, which imports torch when it is installed (about 350 MiB and a
second of start-up) only to offer torch-backed layers; a blank tokenizer never uses them, and
torch stays installed for the build-time encoder export. So torch is hidden while spaCy is first
imported: thinc then records that torch is absent, exactly as on a machine without it.
"""

from __future__ import annotations

import sys
from typing import Any


def blank(lang: str, config: dict[str, Any] | None = None) -> Any:  # noqa: ANN401 - spaCy is untyped here
    """``spacy.blank(lang, config=config)``, importing spaCy without torch if it is not loaded yet."""
    hide = "torch" not in sys.modules and "spacy" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]  # the documented way to make an import fail
    try:
        import spacy
    finally:
        if hide and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy.blank(lang, config=config or {})

"""Knowledge retrieval for 12367 ONLINE: corpus schema and checks, hybrid index, search, answers.

    from retrieval import Retriever
    r = Retriever.load(settings)               # builds or loads the content-hashed index
    res = r.search("how long can I stay with the 240-hour transit", k=5)
    ans = r.answer(res.hits[0].entry_id, lang="zh", script="zh-Hant")

The names below are imported on first use: the server process imports ``retrieval.settings``
for its configuration, and importing the search code with it (numpy, the encoder's runtime) cost
it about 100 MiB and a second of start-up for models only its workers load.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retrieval.answers import Answer, RelatedLink, SourceLink
    from retrieval.corpus import CorpusError, Issue
    from retrieval.retriever import Hit, Retriever, SearchResult
    from retrieval.schema import Entry

_MODULES = {
    "Answer": "retrieval.answers", "RelatedLink": "retrieval.answers", "SourceLink": "retrieval.answers",
    "CorpusError": "retrieval.corpus", "Issue": "retrieval.corpus",
    "Hit": "retrieval.retriever", "Retriever": "retrieval.retriever", "SearchResult": "retrieval.retriever",
    "Entry": "retrieval.schema",
}

__all__ = [
    "Answer",
    "CorpusError",
    "Entry",
    "Hit",
    "Issue",
    "RelatedLink",
    "Retriever",
    "SearchResult",
    "SourceLink",
]


def __getattr__(name: str) -> Any:  # noqa: ANN401 - PEP 562: the attribute's own type
    if name not in _MODULES:
        raise AttributeError(f"module 'retrieval' has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name]), name)

"""Knowledge retrieval for 12367 ONLINE: corpus schema and checks, hybrid index, search, answers.

    from retrieval import Retriever
    r = Retriever.load(settings)               # builds or loads the content-hashed index
    res = r.search("how long can I stay with the 240-hour transit", k=5)
    ans = r.answer(res.hits[0].entry_id, lang="zh", script="zh-Hant")
"""

from retrieval.answers import Answer, RelatedLink, SourceLink
from retrieval.corpus import CorpusError, Issue
from retrieval.retriever import Hit, Retriever, SearchResult
from retrieval.schema import Entry

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

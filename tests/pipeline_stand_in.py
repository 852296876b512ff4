"""The bot without its models, for in-process servers whose tests need no answer from them.

``StandInWorkers`` answers visitor messages the way ``bot.worker.ModelWorkers`` does, with the
real pipeline (language, controls, the dialogue, the handoff cues and the rendering of replies);
only the two trained models are replaced by rules, so nothing is loaded: the intent is
``request_human`` when the message asks for a person in so many words (bot.handoff_cues, the
rule the pipeline itself trusts) and an in-scope question otherwise, and the knowledge base has
no entry, so every question is declined. Asking for a person, the business-option and region
pickers, and everything after the handoff behave as in production.
"""

from __future__ import annotations

import asyncio

from bot.dialogue import Context
from bot.handoff_cues import asks_for_person
from bot.nlu.types import Parse
from bot.pipeline import Outcome, Pipeline
from bot.worker import WorkersLost
from retrieval.retriever import SearchResult
from runtime.language_id import detect_language
from services.records import Requester


class RuleIntents:
    def parse(self, text: str) -> Parse:
        intent = "request_human" if asks_for_person(text) else "immigration_question"
        return Parse(text=text, lang=detect_language(text), intent=intent, confidence=0.9)


class NoEntries:
    """A knowledge base with nothing in it: every search is declined."""

    def search(self, query: str, k: int = 5) -> SearchResult:
        return SearchResult(hits=[], confidence=0.0, decision="decline", reason="no entries")

    def answer(self, entry_id: str, *, lang: str, script: str) -> None:
        raise LookupError(f"no entry {entry_id!r} in the stand-in knowledge base")


class StandInWorkers:
    def __init__(self, regions: list[str]) -> None:
        self.pipeline = Pipeline(RuleIntents(), NoEntries(), regions)

    async def warm_up(self) -> bool:
        return True

    async def respond(self, ctx: Context, text: str,
                      requester: Requester | None = None) -> Outcome:
        return await asyncio.to_thread(self.pipeline.respond, ctx, text, requester)

    def replace(self, lost: WorkersLost) -> bool:
        """The stand-in's pipeline runs in the server's process: it has no pool to lose."""
        return False

    def retriever(self) -> NoEntries:
        return self.pipeline.retriever

    def shutdown(self) -> None:
        return None

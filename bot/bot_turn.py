"""The bot's turn: one visitor message through the worker pool to replies and an escalation.

Each turn, and each other change of a conversation's dialogue context (feedback, a language
switch), holds that conversation's lock, so two of them never interleave their context writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot import frames as f
from bot.dialogue import Context
from bot.hub import Hub
from bot.metrics import Metrics
from bot.pipeline import Outcome, say
from bot.store import Store
from bot.worker import Workers, WorkersLost
from conversation.events import Stored
from conversation.locks import SessionLocks
from handoff.service import HandoffService
from runtime.fair_share import FairShare
from services.records import Requester
from storage.conversations import TurnWrites

log = logging.getLogger(__name__)

TYPING_AFTER_S = 0.3  # a slower answer shows the bot typing until it comes


class BotTurns:
    """Answers visitor messages once ``ready`` is set; ``workers`` is the pool that answers them
    (given, or set by the server once it has started one). ``workers_lost`` is told when the
    pool's processes died, and clears ``ready`` until new ones have loaded (ChatServer)."""

    def __init__(self, store: Store, hub: Hub, metrics: Metrics, handoff: HandoffService,
                 ready: asyncio.Event, workers: Workers | None = None,
                 workers_lost: Callable[[WorkersLost], None] | None = None,
                 share: FairShare | None = None) -> None:
        self.store, self.hub, self.metrics, self.handoff = store, hub, metrics, handoff
        self.ready = ready
        self.workers = workers
        self.workers_lost = workers_lost
        # Turns reach the workers through these slots, the least busy client address first.
        self.share = share or FairShare(slots=2)
        self.locks = SessionLocks()

    async def answer(self, sid: str, event: Stored, ip: str = "") -> None:
        """Run the pipeline for one visitor message and emit what the bot says; ``ip`` (the
        visitor's address) counts failed identity checks of the look-ups."""
        async with self.locks.hold(sid):
            waited = not self.ready.is_set()
            if waited:  # an answer is coming, once the models are loaded
                await self.hub.typing(sid, "bot", True)
            await self.ready.wait()
            start = self.store.turn_start(sid, event.seq)
            # Silent when an agent took the chat meanwhile, or when it was answered already (a
            # resumed session after a restart).
            if start is None or start.session.state != "bot" or start.replied:
                if waited:
                    await self.hub.typing(sid, "bot", False)
                return
            ctx = Context(**start.context)
            outcome = await self._outcome(sid, ctx, event.text or "", Requester(session=sid, ip=ip),
                                          typing=waited)
            for stage, seconds in outcome.timings.items():
                self.metrics.stage_latency.labels(stage=stage).observe(seconds)
            chosen = outcome.context
            if chosen.lang_locked and (not ctx.lang_locked or chosen.lang != ctx.lang):
                # "English please" typed or pressed is a choice like the widget's switch: the
                # client relabels itself and keeps the lock.
                await self.hub.push(sid, f.Lang(lang=chosen.lang, locked=True))
            await self.apply(sid, outcome, summary_source=event.text or "", read=event.seq)

    async def _outcome(self, sid: str, ctx: Context, text: str, requester: Requester,
                       typing: bool) -> Outcome:
        """The pipeline's outcome, or an apology: a broken model must not leave the visitor
        without an answer. A message that found the model workers dead before it reached one
        waits for their replacement and is answered then; one that a worker was running when it
        died, or did not answer in time (``ModelWorkers``), gets the apology, as it may have done
        part of its work (booked a slot)."""
        for attempt in (1, 2):
            try:
                return await self._respond(sid, ctx, text, requester, typing=typing)
            except WorkersLost as lost:
                log.error("model workers lost", extra={"session": sid, "pool": lost.pool})
                if self.workers_lost is not None:
                    self.workers_lost(lost)
                if lost.may_have_run or attempt == 2:
                    break
                await self.hub.typing(sid, "bot", True)
                typing = True
                await self.ready.wait()
            except Exception:
                log.exception("pipeline failed", extra={"session": sid})
                break
        return Outcome([say(ctx, "failure")], None, ctx, {})

    async def _respond(self, sid: str, ctx: Context, text: str, requester: Requester,
                       typing: bool) -> Outcome:
        """The pipeline's outcome. The bot's typing indicator shows only while an answer takes
        longer than ``TYPING_AFTER_S`` (``typing``: it shows already): on a quick one the dots
        would only flicker, and the two frames cost the server and every client their work."""
        pending = asyncio.ensure_future(self._run(ctx, text, requester))
        try:
            if not typing:
                done, _ = await asyncio.wait({pending}, timeout=TYPING_AFTER_S)
                if done:
                    return pending.result()
                await self.hub.typing(sid, "bot", True)
            try:
                return await pending
            finally:
                await self.hub.typing(sid, "bot", False)
        except asyncio.CancelledError:  # asyncio.wait leaves the turn's pipeline call running
            pending.cancel()
            raise

    async def _run(self, ctx: Context, text: str, requester: Requester) -> Outcome:
        assert self.workers is not None
        async with self.share.slot(requester.ip):
            return await self.workers.respond(ctx, text, requester)

    async def apply(self, sid: str, outcome: Outcome, summary_source: str = "",
                    read: int | None = None) -> None:
        """Store what the turn changed and say its replies, then escalate if it asks to;
        ``read``: the seq of the visitor's message the outcome's NLU reading is of."""
        self.record(sid, outcome, read)
        for reply in outcome.replies:
            self.metrics.replies.labels(sender="bot", kind=reply.meta.get("kind", "")).inc()
        ctx = outcome.context
        if outcome.escalate is not None:
            e = outcome.escalate
            self.metrics.handoffs.labels(reason=e.reason).inc()
            await self.handoff.escalate(
                sid, lang=ctx.lang, business_option=e.business_option, region=e.region,
                overseas=e.overseas, summary=e.summary or summary_source, reason=e.reason,
            )

    def record(self, sid: str, outcome: Outcome, read: int | None) -> None:
        """The turn's writes and replies at once (one statement on PostgreSQL, one transaction on
        SQLite), the replies pushed once committed."""
        ctx = outcome.context
        turn = TurnWrites(lang=ctx.lang, script=ctx.script, lang_locked=ctx.lang_locked,
                          context=ctx.model_dump(mode="json"),  # dates as text
                          read_seq=read, reading=outcome.nlu or None)
        self.hub.emit_turn(sid, turn, outcome.replies)

    async def with_context(self, sid: str, step: Callable[[Context], Outcome]) -> None:
        """Run a context-changing step (feedback, language switch) under the session's lock."""
        async with self.locks.hold(sid):
            ctx = Context(**self.store.context(sid))
            await self.apply(sid, step(ctx))

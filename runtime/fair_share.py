"""A few slots shared fairly between clients: when several wait, the client that has used the
slots least lately goes first.

The model workers are the costly part of a node. Handed out first come, first served, a client
sending many or long messages (several sockets from one address, 2,000 characters each) would
hold them, and every other visitor would wait behind its queue; handed out by recent use, the
others' messages go first and it gets what they leave. Use decays by half every ``half_life_s``,
so a visitor who asked a lot a while ago is not held back now. Nothing is refused: with no
contention a slot is taken at once, whatever the client's use.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass
class _Use:
    seconds: float  # held, decayed to ``at``
    at: float


@dataclass(eq=False)  # each waiter is itself: the queue finds and removes it by identity
class _Waiter:
    arrived: int
    key: str
    granted: asyncio.Future[None]


class FairShare:
    def __init__(self, slots: int, half_life_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free = slots
        self.half_life_s = half_life_s
        self.clock = clock
        self.use: dict[str, _Use] = {}
        self.waiting: list[_Waiter] = []
        self.arrivals = itertools.count()
        self.pruned = clock()

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Hold a slot for ``key`` (a client address) while the block runs; the time it is held
        counts as the key's use."""
        await self._acquire(key)
        started = self.clock()
        try:
            yield
        finally:
            self._charge(key, self.clock() - started)
            self._release()

    def used(self, key: str, now: float | None = None) -> float:
        """The key's use in seconds, decayed to ``now`` (the clock's time when None)."""
        use = self.use.get(key)
        if use is None:
            return 0.0
        now = self.clock() if now is None else now
        return use.seconds * math.exp2(-(now - use.at) / self.half_life_s)

    async def _acquire(self, key: str) -> None:
        if self.free > 0 and not self.waiting:
            self.free -= 1
            return
        waiter = _Waiter(next(self.arrivals), key, asyncio.get_running_loop().create_future())
        self.waiting.append(waiter)
        try:
            await waiter.granted
        except asyncio.CancelledError:
            if waiter in self.waiting:
                self.waiting.remove(waiter)
            elif not waiter.granted.cancelled():
                self._release()  # granted as it was cancelled: pass the slot on
            raise

    def _release(self) -> None:
        self.free += 1
        now = self.clock()  # one reading: a key's messages compare equal, and go oldest first
        while self.free > 0 and self.waiting:
            # The least used key first; among a key's own messages, the oldest.
            chosen = min(self.waiting, key=lambda w: (self.used(w.key, now), w.arrived))
            self.waiting.remove(chosen)
            if chosen.granted.done():  # cancelled while waiting, not yet resumed to say so
                continue
            self.free -= 1
            chosen.granted.set_result(None)

    def _charge(self, key: str, seconds: float) -> None:
        now = self.clock()
        self.use[key] = _Use(self.used(key, now) + seconds, now)
        if now - self.pruned > self.half_life_s:  # forget the keys whose use has decayed away
            self.pruned = now
            self.use = {k: u for k, u in self.use.items() if self.used(k, now) > 1e-3}

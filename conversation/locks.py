"""One asyncio lock per conversation: the bot's turns and context changes hold one set of them
(bot/bot_turn.py), changes of who holds a conversation another (conversation/owner.py), so a
bot turn that escalates never waits on itself."""

from __future__ import annotations

import asyncio
import contextlib


class SessionLocks:
    """One asyncio lock per session with work in flight, dropped when nobody holds or awaits it."""

    def __init__(self) -> None:
        self.locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, sid: str):
        lock, users = self.locks.get(sid, (asyncio.Lock(), 0))
        self.locks[sid] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self.locks[sid]
            if users == 1:
                del self.locks[sid]
            else:
                self.locks[sid] = (lock, users - 1)

"""One asyncio lock per conversation, so that its turns and context changes run one at a time."""

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

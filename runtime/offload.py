"""Expensive work (QR drawing, password hashing) off the event loop, behind a bounded queue.

``Offload.run(fn, *args)`` runs ``fn`` in the offload's own small pool: threads for work that
releases the GIL (argon2), a process for pure-Python work that would hold it (QR drawing). At most
``workers + queue`` calls are admitted at once; one more raises ``Busy`` at once instead of
waiting, so a flood of expensive requests gets a quick refusal and cannot grow an unbounded
backlog (or stall the event loop that serves everyone else).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def _watch_parent() -> None:
    """Pool initializer: a worker whose server was killed (SIGKILL) exits instead of lingering."""
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True,
                     name="orphan-watch").start()


class Busy(Exception):
    """The offload's queue is full; try again shortly."""


class Offload:
    def __init__(self, name: str, workers: int = 1, queue: int = 8,
                 processes: bool = False) -> None:
        self.name = name
        self.workers = max(1, workers)
        self.limit = self.workers + max(0, queue)
        self.pending = 0
        self.executor: Executor
        if processes:  # started on first use; ``fn`` must live in a module the child can import
            self.executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_watch_parent)
        else:
            self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix=name)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.pending >= self.limit:
            raise Busy(self.name)
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        finally:
            self.pending -= 1

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

"""A callback on the event loop as soon as one of some processes exits.

One pidfd per process (Linux 5.3 and later), read by the loop: a process's death is seen when it
happens, without polling, and a pid the kernel reuses later cannot be mistaken for it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable


class ExitWatch:
    """Calls ``on_exit(pid)`` on the running loop for each of ``pids`` that exits (at once for
    one that is gone already). Opened and closed on the loop."""

    def __init__(self, pids: Iterable[int], on_exit: Callable[[int], None]) -> None:
        self.loop = asyncio.get_running_loop()
        self.on_exit = on_exit
        self.fds: dict[int, int] = {}  # pidfd -> pid
        try:
            for pid in pids:
                try:
                    fd = os.pidfd_open(pid)
                except ProcessLookupError:
                    self.loop.call_soon(on_exit, pid)
                    continue
                self.fds[fd] = pid
                self.loop.add_reader(fd, self._exited, fd)
        except OSError:  # no pidfds here (an old kernel, a sandbox), or no fds left
            self.close()
            raise

    def _exited(self, fd: int) -> None:
        pid = self.fds.pop(fd)
        self.loop.remove_reader(fd)
        os.close(fd)
        self.on_exit(pid)

    def close(self) -> None:
        for fd in self.fds:
            self.loop.remove_reader(fd)
            os.close(fd)
        self.fds.clear()

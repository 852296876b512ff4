"""The models (NLU engine and retriever) in worker processes, away from the websocket loop.

Why a separate process: the pipeline is CPU-bound Python and holds the GIL, so in the server's
process it would stall every socket while it thinks; and the models cost a few hundred MiB, which
the process holding thousands of visitor connections should not carry. The server talks to the
workers through a ``ProcessPoolExecutor`` (spawned, so no threads or sockets are forked).

A worker only loads what was built (the exported encoder, the index, the NLU model). On a fresh
data dir it builds them first in a child process, under the build locks, so that of several
workers (or servers) one builds and the others wait, and no worker keeps PyTorch in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from bot.dialogue import Context
from bot.pipeline import Outcome, Pipeline
from bot.settings import Settings
from runtime.build_lock import NotBuilt
from runtime.language import TRADITIONAL_CONFIGS, converter
from runtime.process_exit import ExitWatch
from services.records import Requester

log = logging.getLogger(__name__)

# One pipeline per worker process, set by the pool's initializer: process-local by design.
_pipeline: Pipeline | None = None


def load_pipeline(settings: Settings, regions: list[str]) -> Pipeline:
    """The built models, built first (in a child process) where any is missing."""
    try:
        return _load_built(settings, regions)
    except NotBuilt as missing:
        log.info("building the models: %s", missing)
    build_in_child(settings)
    return _load_built(settings, regions)


def _load_built(settings: Settings, regions: list[str]) -> Pipeline:
    from bot.appointment_backend import calendar_today, worker_appointments
    from bot.appointment_flow import AppointmentFlow
    from bot.guide_chat import GuideChat
    from bot.lookups import Lookups
    from bot.nlu import load_engine
    from retrieval import Retriever
    from services.http_adapter import HttpOfficeDirectory

    retriever = Retriever.load(settings, build=False)
    load_converters()
    offices = HttpOfficeDirectory(settings.offices_url) if settings.offices_url else None
    lookups = Lookups.open(settings, settings.public_url or f"http://{settings.host}:{settings.port}")
    appointments = AppointmentFlow(worker_appointments(settings), calendar_today(settings))
    guides = GuideChat.open(settings, settings.public_url or f"http://{settings.host}:{settings.port}")
    return Pipeline(load_engine(settings, encoder=retriever.embedder, build=False), retriever, regions,
                    offices, lookups, appointments, guides)


def load_converters() -> None:
    """Load every OpenCC converter the pipeline uses now, at start-up: the Simplified-to-Traditional
    dictionaries take about 45 MiB and 80 ms, which would otherwise fall on the first visitors (and
    be missing from the memory a node reports when it says ready)."""
    for config in ("t2s", "s2t", *TRADITIONAL_CONFIGS.values()):
        converter(config)


def build_models(settings: Settings) -> None:
    """Export the encoder, build the index and train the NLU model where missing (each once,
    under its lock): what ``make build`` does, for the data dir of ``settings``."""
    from bot import logs
    from bot.nlu import load_engine
    from retrieval import Retriever

    logs.configure(settings.log_level)
    retriever = Retriever.load(settings)
    load_engine(settings, encoder=retriever.embedder)


def build_in_child(settings: Settings) -> None:
    """``build_models`` in a spawned process: PyTorch (the export) and the build's memory leave
    with it."""
    child = multiprocessing.get_context("spawn").Process(target=build_models, args=(settings,), name="model-build")
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"building the models failed (exit code {child.exitcode}): see the log")


def _exit_with_parent(parent: int, every_s: float = 1.0) -> None:
    """A server killed with SIGKILL cannot stop its pool: a worker whose parent is gone exits
    instead of holding its models forever."""
    while True:
        time.sleep(every_s)
        if os.getppid() != parent:
            os._exit(0)


# How much lower than the server's event loop a worker runs: a visitor's message waits on the loop
# for a few short steps (frames, the store) and on a worker for one long one, so on a busy machine
# the loop is served first, and the workers take the CPU it leaves.
WORKER_NICENESS = 5


def _init(settings: Settings, regions: list[str]) -> None:
    global _pipeline
    os.nice(WORKER_NICENESS)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True, name="orphan-watch").start()
    _pipeline = load_pipeline(settings, regions)


def _respond(ctx: Context, text: str, requester: Requester | None) -> Outcome:
    assert _pipeline is not None
    return _pipeline.respond(ctx, text, requester)


def _search(query: str, k: int) -> Any:
    assert _pipeline is not None
    return _pipeline.retriever.search(query, k=k)


def _answer(entry_id: str, lang: str, script: str) -> Any:
    assert _pipeline is not None
    return _pipeline.retriever.answer(entry_id, lang=lang, script=script)


def _ready() -> int:
    assert _pipeline is not None
    return os.getpid()


def _kill(pids: frozenset[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class WorkersLost(RuntimeError):
    """A model worker died (the kernel's OOM killer, a crash in native code) and took its pool
    with it: the call was not answered, and none is until the pool is replaced. ``pool`` numbers
    the pool that was lost, so that of the calls failing together one replaces it;
    ``may_have_run``: the call had reached a worker, which may have done part of it (booked a
    slot) before it died, so it must not simply be run again."""

    def __init__(self, pool: int, *, may_have_run: bool) -> None:
        super().__init__(f"model worker pool {pool} lost")
        self.pool, self.may_have_run = pool, may_have_run


class Workers(Protocol):
    """What answers visitor messages for the server: ``ModelWorkers``, or a test's stand-in
    running the pipeline without the models (tests/pipeline_stand_in.py)."""

    async def warm_up(self) -> bool: ...
    async def respond(self, ctx: Context, text: str,
                      requester: Requester | None = None) -> Outcome: ...
    def replace(self, lost: WorkersLost) -> bool: ...
    def retriever(self) -> Any: ...
    def shutdown(self) -> None: ...


class ModelWorkers:
    """``processes`` workers in a pool. ``on_lost`` is told as soon as a loaded worker dies
    (killed, crashed), even between messages, so that the pool is replaced before a visitor
    meets it; a call that meets a lost pool raises ``WorkersLost`` as well."""

    def __init__(self, settings: Settings, regions: list[str], processes: int = 1,
                 on_lost: Callable[[WorkersLost], None] | None = None) -> None:
        self.settings, self.regions, self.processes = settings, regions, processes
        self.on_lost = on_lost
        self.pool = self._start_pool()
        self.pools_started = 1
        self.exits: ExitWatch | None = None
        self.pids: frozenset[int] = frozenset()  # the loaded pool's workers
        self.closing = False

    def _start_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init, initargs=(self.settings, self.regions),
        )

    async def warm_up(self, every_s: float = 0.05) -> bool:
        """Wait until every worker has loaded (building the index or model when stale). Only a
        loaded worker takes tasks, so one loaded worker could answer all of a single round: the
        rounds go on until each worker has answered one. False when the pool was replaced while
        it loaded (the new one is still to load); ``WorkersLost`` when a worker died loading."""
        loop = asyncio.get_running_loop()
        pool, number = self.pool, self.pools_started
        answered: set[int] = set()
        while number == self.pools_started:
            try:
                answered.update(await asyncio.gather(*(loop.run_in_executor(pool, _ready)
                                                       for _ in range(self.processes))))
            except BrokenProcessPool as broken:
                raise WorkersLost(number, may_have_run=False) from broken
            except RuntimeError:  # "cannot schedule new futures after shutdown": replaced
                if number != self.pools_started:
                    return False
                raise
            except OSError as failed:  # a worker could not be started (memory short)
                raise WorkersLost(number, may_have_run=False) from failed
            if len(answered) >= self.processes:
                break
            await asyncio.sleep(every_s)
        if number != self.pools_started:
            return False
        self.pids = frozenset(answered)
        if self.on_lost is not None and self.exits is None:
            try:
                self.exits = ExitWatch(answered, lambda _pid: self._exited(number))
            except OSError:
                log.warning("model workers not watched: a dead one is noticed at its next call",
                            exc_info=True)
        return True

    def _exited(self, pool: int) -> None:
        """A worker of pool number ``pool`` exited; at shutdown, or of a pool replaced already,
        that is expected."""
        if not self.closing and self.on_lost is not None and pool == self.pools_started:
            self.on_lost(WorkersLost(pool, may_have_run=False))

    async def respond(self, ctx: Context, text: str, requester: Requester | None = None) -> Outcome:
        """The pipeline's outcome; ``WorkersLost`` when the pool died, or when the call was not
        answered within ``turn_timeout_s`` (a worker stuck in native code): then the pool's
        workers are killed, as a running call cannot be taken back from one."""
        pool, number, pids = self.pool, self.pools_started, self.pids
        try:  # a pool found broken at submission never ran the call
            call = asyncio.get_running_loop().run_in_executor(pool, _respond, ctx, text, requester)
        except BrokenProcessPool as broken:
            raise WorkersLost(number, may_have_run=False) from broken
        limit = asyncio.timeout(self.settings.turn_timeout_s)
        try:
            async with limit:
                return await call
        except BrokenProcessPool as broken:
            raise WorkersLost(number, may_have_run=True) from broken
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # this turn is being cancelled
                raise
            raise WorkersLost(number, may_have_run=False) from None  # the pool dropped the call
        except TimeoutError:
            # Raised in the worker (a remote call's), or a pool still loading (its workers
            # are not known yet): the turn gets the apology, the pool stays.
            if not limit.expired() or not pids:
                raise
            log.error("a model worker did not answer in time: killing the pool's workers",
                      extra={"seconds": self.settings.turn_timeout_s, "pool": number})
            _kill(pids)
            raise WorkersLost(number, may_have_run=True) from None

    def replace(self, lost: WorkersLost) -> bool:
        """Start a new pool in place of the lost one (``warm_up`` waits for its models); False
        when that pool was replaced already."""
        if lost.pool != self.pools_started or self.closing:
            return False
        if self.exits is not None:
            self.exits.close()
            self.exits = None
        self.pids = frozenset()
        # Calls the lost pool holds fail with BrokenProcessPool (WorkersLost); cancelling them
        # instead would end their turns without an answer or an apology.
        self.pool.shutdown(wait=False, cancel_futures=False)
        self.pool = self._start_pool()
        self.pools_started += 1
        log.warning("model workers lost: starting new ones", extra={"pool": self.pools_started})
        return True

    def shutdown(self) -> None:
        self.closing = True  # the workers' exits that follow are not losses
        self.pool.shutdown(wait=True, cancel_futures=True)

    def retriever(self) -> RetrieverProxy:
        return RetrieverProxy(self)


class RetrieverProxy:
    """The retriever's ``search``/``answer`` for code in threads (agent-assist), run by a worker
    of the current pool."""

    def __init__(self, workers: ModelWorkers) -> None:
        self.workers = workers

    def search(self, query: str, k: int = 5) -> Any:
        return self.workers.pool.submit(_search, query, k).result()

    def answer(self, entry_id: str, *, lang: str, script: str) -> Any:
        return self.workers.pool.submit(_answer, entry_id, lang, script).result()

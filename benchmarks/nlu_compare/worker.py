"""The built-in engine's benchmark run, importable by a spawned process."""

from __future__ import annotations

import resource
import tempfile
from multiprocessing import Queue
from pathlib import Path

from benchmarks.nlu_compare.datasets import ROOT, Split


def builtin_worker(split: Split, queue: Queue) -> None:
    from bot.nlu.builtin import train_or_load, train_seconds
    from bot.nlu.evaluation import evaluate
    from bot.settings import Settings

    shipped = Settings()
    with tempfile.TemporaryDirectory() as cache:
        # The engine as the bot ships it: default config, the offline MiniLM for English messages.
        engine, _ = train_or_load(split.train, Path(cache), shipped.embedding_model, force=True,
                                  onnx_cache=ROOT / "data" / "models", int8=shipped.embedding_int8)
        report = evaluate(engine, split.test)
        report["train_seconds"] = train_seconds(Path(cache) / engine.artifact.key)
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report["oos_threshold"] = engine.threshold
    queue.put(report)

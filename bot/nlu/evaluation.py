"""Evaluation of any engine with ``parse``/``parse_batch`` on labelled examples (sklearn.metrics)."""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from bot.nlu.types import OUT_OF_SCOPE, Example, Parse


class Engine(Protocol):
    def parse(self, text: str) -> Parse: ...


def evaluate(engine: Engine, examples: list[Example], *, latency_sample: int = 300) -> dict:
    started = time.perf_counter()
    batch = getattr(engine, "parse_batch", None)
    parses = batch([e.text for e in examples]) if batch else [engine.parse(e.text) for e in examples]
    batch_seconds = time.perf_counter() - started
    gold = [e.intent for e in examples]
    pred = [p.intent for p in parses]
    labels = sorted(set(gold) | set(pred))
    p, r, f, support = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    in_scope = [i for i, g in enumerate(gold) if g != OUT_OF_SCOPE]
    oos = [i for i, g in enumerate(gold) if g == OUT_OF_SCOPE]
    flagged = [i for i, x in enumerate(parses) if x.is_oos]
    report = {
        "examples": len(examples),
        "accuracy": accuracy_score(gold, pred),
        "macro_f1": f1_score(gold, pred, labels=labels, average="macro", zero_division=0),
        "in_scope_accuracy": float(np.mean([gold[i] == pred[i] for i in in_scope])) if in_scope else None,
        "oos_recall": float(np.mean([parses[i].is_oos for i in oos])) if oos else None,
        "oos_precision": (float(np.mean([gold[i] == OUT_OF_SCOPE for i in flagged])) if flagged else None)
        if oos else None,
        "per_intent": {
            label: {"precision": float(p[k]), "recall": float(r[k]), "f1": float(f[k]), "support": int(support[k])}
            for k, label in enumerate(labels)
        },
        "batch_seconds": batch_seconds,
    }
    report["latency_ms"] = measure_latency(engine, [e.text for e in examples][:latency_sample])
    return report


def measure_latency(engine: Engine, texts: list[str]) -> dict:
    """One message at a time, as the chat server calls it."""
    for t in texts[:5]:
        engine.parse(t)  # warm-up: lazy imports, caches, connection pool
    samples = []
    for t in texts:
        started = time.perf_counter()
        engine.parse(t)
        samples.append((time.perf_counter() - started) * 1000)
    if not samples:
        return {"p50": None, "p95": None, "n": 0}
    return {"p50": float(np.percentile(samples, 50)), "p95": float(np.percentile(samples, 95)), "n": len(samples)}


def holdout_split(examples: list[Example], test_fraction: float = 0.2,
                  seed: int = 0) -> tuple[list[Example], list[Example]]:
    """Stratified split by intent (sklearn), reproducible."""
    from sklearn.model_selection import train_test_split

    labels = [e.intent for e in examples]
    train, test = train_test_split(examples, test_size=test_fraction, random_state=seed, stratify=labels)
    return list(train), list(test)

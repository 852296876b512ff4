"""Sentence encoder: int8 weights (the default) against full precision, side by side.

    .venv/bin/python -m benchmarks.encoder_precision [--n 600] [--nlu-splits 8] [--json]

- speed: both ONNX encoders of ``Settings.embedding_model`` are loaded in one process and embed
  the same English messages one at a time, alternating, so that a busy machine slows both alike:
  English questions of the retrieval dev set and CLINC150 validation questions. Reported:
  per-message p50/p95 of each, their ratio, and the cosine between their vectors.
- NLU accuracy: the built-in engine trained and evaluated with each encoder on ``--nlu-splits``
  stratified 80/20 splits of ``nlu_data/`` (seeds 1..N; seed 0 is the split nlu_compare reports),
  so that a difference of two or three borderline messages on one split is not read as a trend.

Retrieval and CLINC150 accuracy with each precision come from ``python -m retrieval evaluate`` and
``python -m benchmarks.nlu_compare`` (``CHAT_EMBEDDING_INT8=false`` for full precision).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")



def english_messages(n: int) -> list[str]:
    from benchmarks.nlu_compare.datasets import SHARED
    from retrieval.evaluate import load_dev

    texts = [row.q for row in load_dev() if row.lang == "en"]
    clinc150 = SHARED / "clinc150" / "train_val.json"
    if clinc150.exists():
        val = json.loads(clinc150.read_text(encoding="utf-8"))["val"]
        texts += [text for text, _ in val[:: max(1, len(val) // n)]]
    return texts[:n]


def speed(encoders: dict, n: int) -> dict:
    texts = english_messages(n)
    times: dict[str, list[float]] = {name: [] for name in encoders}
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in encoders}
    for i in range(20):  # warm-up, on texts not measured (the encoder remembers its last few)
        for enc in encoders.values():
            enc.encode([f"warm-up question number {i}"])
    for text in texts:
        for name, enc in encoders.items():
            start = time.perf_counter()
            vectors[name].append(enc.encode([text])[0])
            times[name].append((time.perf_counter() - start) * 1000)
    cosine = (np.stack(vectors["int8"]) * np.stack(vectors["fp32"])).sum(axis=1)
    return {
        "messages": len(texts),
        **{name: {"p50_ms": float(np.percentile(t, 50)), "p95_ms": float(np.percentile(t, 95))}
           for name, t in times.items()},
        "speed_up_p50": float(np.percentile(times["fp32"], 50) / np.percentile(times["int8"], 50)),
        "cosine": {"mean": float(cosine.mean()), "min": float(cosine.min())},
    }


def nlu_accuracy(encoders: dict, splits: int) -> dict:
    from benchmarks.nlu_compare.datasets import ROOT
    from bot.nlu.builtin import train_or_load
    from bot.nlu.dataset import load_training_data
    from bot.nlu.evaluation import evaluate, holdout_split

    full = load_training_data(ROOT / "nlu_data")
    rows: dict[str, list[tuple[float, float]]] = {name: [] for name in encoders}
    for seed in range(1, splits + 1):
        data = copy.copy(full)
        data.examples, test = holdout_split(full.examples, 0.2, seed=seed)
        for name, enc in encoders.items():
            with tempfile.TemporaryDirectory() as cache:
                engine, _ = train_or_load(data, Path(cache), enc.model_name, force=True, encoder=enc)
                report = evaluate(engine, test)
            rows[name].append((report["accuracy"], report["oos_recall"]))
    return {name: {"accuracy": [a for a, _ in r], "oos_recall": [o for _, o in r],
                   "mean_accuracy": float(np.mean([a for a, _ in r])),
                   "mean_oos_recall": float(np.mean([o for _, o in r]))} for name, r in rows.items()}


def main() -> int:
    from bot.settings import Settings
    from retrieval.build import resolve_model
    from retrieval.encoder import SentenceEncoder

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=600, help="messages embedded by each encoder")
    parser.add_argument("--nlu-splits", type=int, default=8, help="nlu_data 80/20 splits (0: skip)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    settings = Settings()
    model, cache = resolve_model(settings.embedding_model), Path(settings.data_dir) / "models"
    encoders = {"int8": SentenceEncoder.load(model, cache, int8=True),
                "fp32": SentenceEncoder.load(model, cache, int8=False)}
    report = {"backends": {name: enc.backend for name, enc in encoders.items()},
              "speed": speed(encoders, args.n)}
    if args.nlu_splits:
        report["nlu_data"] = nlu_accuracy(encoders, args.nlu_splits)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    s = report["speed"]
    print(f"{s['messages']} English messages, one at a time, alternating encoders")
    for name in encoders:
        print(f"  {name:5} ({report['backends'][name]}): "
              f"p50 {s[name]['p50_ms']:.2f} ms, p95 {s[name]['p95_ms']:.2f} ms")
    print(f"  int8 is {s['speed_up_p50']:.2f}x faster at p50; cosine to fp32 mean "
          f"{s['cosine']['mean']:.4f}, min {s['cosine']['min']:.4f}")
    for name, r in report.get("nlu_data", {}).items():
        print(f"  nlu_data, {len(r['accuracy'])} splits, {name}: accuracy {r['mean_accuracy']:.1%}, "
              f"OOS recall {r['mean_oos_recall']:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

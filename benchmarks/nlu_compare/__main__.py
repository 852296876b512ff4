"""Built-in engine vs Rasa 3.6 (DIET) on nlu_data hold-out, CLINC150 and xSID zh+en, in one run.

    python -m benchmarks.nlu_compare [--engines builtin,rasa] [--datasets nlu_data,clinc150,xsid]

Each built-in run trains in a fresh spawned process (so its peak RSS is its own); Rasa trains with
its CLI (cached by content hash under data/rasa/, the recorded training time is reused) and is
measured over its HTTP API, the way CHAT_NLU_ENGINE=rasa uses it. Results: JSON in
benchmarks/results/nlu_compare.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import re
import sys
import time
from pathlib import Path
from queue import Empty

import numpy as np

from benchmarks.nlu_compare.datasets import ROOT, Split, clinc150, nlu_data_holdout, xsid
from benchmarks.nlu_compare.measure import BUILTIN_DISTS, ChildrenPeakRSS, dists_size, tree_size
from benchmarks.nlu_compare.worker import builtin_worker

DATASETS = {"nlu_data": nlu_data_holdout, "clinc150": clinc150, "xsid": xsid}
RESULTS = ROOT / "benchmarks" / "results" / "nlu_compare.json"


def run_builtin(split: Split) -> dict:
    """Train and evaluate in a fresh spawned process so the peak RSS measured is the engine's own."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=builtin_worker, args=(split, queue))
    proc.start()
    while proc.is_alive() or not queue.empty():
        try:
            report = queue.get(timeout=5)
            proc.join()
            return report
        except Empty:
            continue
    raise RuntimeError(f"built-in worker died with exit code {proc.exitcode}")


def rasa_config(epochs: int | None) -> Path:
    """nlu_data/rasa_config.yml, or a copy with DIET's epochs changed (written under data/rasa/)."""
    from bot.nlu.rasa_runtime import DEFAULT_CONFIG

    if epochs is None:
        return DEFAULT_CONFIG
    text = re.sub(r"(\n\s+epochs:\s*)\d+", rf"\g<1>{epochs}", DEFAULT_CONFIG.read_text(encoding="utf-8"))
    path = ROOT / "data" / "rasa" / f"rasa_config-epochs{epochs}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run_rasa(split: Split, config: Path) -> dict:
    from bot.nlu.evaluation import evaluate
    from bot.nlu.rasa_runtime import RasaEngine, serve_rasa, train_rasa

    cache = ROOT / "data" / "rasa"
    with ChildrenPeakRSS() as train_mem:
        model, seconds = train_rasa(split.train, cache, config, timeout_s=4 * 3600)
    if seconds is None:  # cached model: reuse the training time recorded when it was trained
        seconds = json.loads((model.parent / "meta.json").read_text())["train_seconds"]
    with ChildrenPeakRSS() as serve_mem, serve_rasa(model) as (url, _pid):
        engine = RasaEngine(url)
        report = evaluate(engine, split.test)
        engine.close()
    report["train_seconds"] = seconds
    report["peak_rss_mb"] = max(train_mem.peak, serve_mem.peak) / 2**20
    return report


def summarise(reports: list[dict]) -> dict:
    def mean(key: str):
        values = [r[key] for r in reports if r.get(key) is not None]
        return float(np.mean(values)) if values else None

    return {
        "folds": len(reports),
        "accuracy": mean("accuracy"),
        "in_scope_accuracy": mean("in_scope_accuracy"),
        "macro_f1": mean("macro_f1"),
        "oos_recall": mean("oos_recall"),
        "oos_precision": mean("oos_precision"),
        "p50_ms": float(np.mean([r["latency_ms"]["p50"] for r in reports])),
        "p95_ms": float(np.mean([r["latency_ms"]["p95"] for r in reports])),
        "train_seconds": mean("train_seconds"),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in reports),
    }


def _fmt(value, pct: bool = False, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.1f}%" if pct else f"{value:.{digits}f}"


def table(results: dict, sizes: dict) -> str:
    lines = ["| dataset | engine | accuracy | in-scope acc. | macro-F1 | OOS recall | parse p50 / p95 ms "
             "| train s | peak RSS MB | install MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for dataset, engines in results.items():
        for engine, s in engines.items():
            lines.append(
                f"| {dataset} | {engine} | {_fmt(s['accuracy'], True)} | {_fmt(s['in_scope_accuracy'], True)} | "
                f"{_fmt(s['macro_f1'], True)} | {_fmt(s['oos_recall'], True)} | {_fmt(s['p50_ms'], digits=2)} / "
                f"{_fmt(s['p95_ms'], digits=2)} | {_fmt(s['train_seconds'])} | {_fmt(s['peak_rss_mb'], digits=0)} | "
                f"{_fmt(sizes[engine.split()[0]], digits=0)} |")
    return "\n".join(lines)


def _per_dataset(spec: str) -> dict[str, int]:
    return {k: int(v) for k, v in (item.split("=") for item in spec.split(",") if item)}


def _engine_label(engine: str, epochs: int | None, folds: int, of: int) -> str:
    notes = [f"DIET {epochs} epochs"] if engine == "rasa" and epochs else []
    if folds < of:
        notes.append(f"folds 1-{folds} of {of}" if folds > 1 else f"fold 1 of {of}")
    return f"{engine} ({', '.join(notes)})" if notes else engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.nlu_compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="builtin,rasa")
    parser.add_argument("--datasets", default="nlu_data,clinc150,xsid")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--rasa-epochs", default="",
                        help="per dataset, e.g. 'xsid=30,clinc150=20': DIET epochs instead of the config's")
    parser.add_argument("--rasa-skip", default="", help="datasets on which Rasa is not run, e.g. 'clinc150'")
    parser.add_argument("--rasa-folds", default="",
                        help="per dataset, e.g. 'xsid=2': Rasa on the first N folds only (the built-in "
                             "runs on all; per-fold numbers of both are in the JSON)")
    args = parser.parse_args(argv)
    rasa_skip = set(filter(None, args.rasa_skip.split(",")))
    rasa_epochs = _per_dataset(args.rasa_epochs)
    rasa_folds = _per_dataset(args.rasa_folds)
    engines = args.engines.split(",")
    results: dict[str, dict[str, dict]] = {}
    raw: dict[str, dict[str, list]] = {}
    started = time.time()
    for name in args.datasets.split(","):
        splits = list(DATASETS[name]())
        label = splits[0].name.split(" fold")[0]
        for engine in engines:
            if engine == "rasa" and name in rasa_skip:
                continue
            reports = []
            for split in splits[:rasa_folds.get(name)] if engine == "rasa" else splits:
                print(f"[{time.time() - started:7.0f}s] {engine} on {split.name} "
                      f"({len(split.train.examples)} train / {len(split.test)} test)", file=sys.stderr, flush=True)
                if engine == "rasa":
                    reports.append(run_rasa(split, rasa_config(rasa_epochs.get(name))))
                else:
                    reports.append(run_builtin(split))
            shown = _engine_label(engine, rasa_epochs.get(name), len(reports), len(splits))
            raw.setdefault(label, {})[shown] = reports
            results.setdefault(label, {})[shown] = summarise(reports)
            print(json.dumps({label: {shown: results[label][shown]}}), file=sys.stderr, flush=True)
            few = rasa_folds.get(name)
            if engine == "builtin" and "rasa" in engines and few and few < len(splits):
                # The same folds Rasa is measured on, for a like-for-like row.
                results[label][_engine_label(engine, None, few, len(splits))] = summarise(reports[:few])
    sizes = {"builtin": dists_size(BUILTIN_DISTS) / 2**20}
    rasa_venv = ROOT / ".venv-rasa"
    sizes["rasa"] = tree_size(rasa_venv) / 2**20 if rasa_venv.exists() else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": results, "install_mb": sizes, "runs": raw,
                                    "machine": {"cpus": mp.cpu_count(), "python": platform.python_version()},
                                    "wall_seconds": time.time() - started}, indent=2, ensure_ascii=False))
    print(table(results, sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Retrieval speed: full index build time, and per-query latency (query embedding included).

    .venv/bin/python -m benchmarks.retrieval_speed [--repeat 3] [--json]

- build: a cold rebuild of the real corpus in a fresh temporary data dir (no cached index, no
  cached embeddings), then a warm load of the same index from the cache;
- search: every dev question (wall time, and CPU time of the searching thread)
  (benchmarks/retrieval_dev/*.jsonl) through ``Retriever.search``,
  ``--repeat`` times after one warm-up pass; the peer run side by side is the query embedding
  alone (what any dense retriever pays), so the ratio shows what the lexical signals, fusion
  and confidence add.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> int:
    from bot.settings import Settings
    from retrieval import Retriever
    from retrieval.evaluate import load_dev

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        start = time.perf_counter()
        retriever = Retriever.load(settings)
        cold_total = time.perf_counter() - start
        start = time.perf_counter()
        Retriever.load(settings)
        warm_load = time.perf_counter() - start

    queries = [row.q for row in load_dev()]
    for q in queries:  # warm-up: first-call costs (allocations, caches) are not what visitors see
        retriever.search(q)
    search_ms: list[float] = []
    search_cpu_ms: list[float] = []
    embed_ms: list[float] = []
    # Separate passes: the encoder remembers its last few texts (so a message embedded by the NLU
    # is not embedded again by the retriever), and interleaving would hand search that saving.
    for _ in range(args.repeat):
        for q in queries:
            t0 = time.perf_counter()
            retriever.embedder.encode([q])
            embed_ms.append((time.perf_counter() - t0) * 1000)
        for q in queries:
            t1, c1 = time.perf_counter(), time.thread_time()
            retriever.search(q)
            c2, t2 = time.thread_time(), time.perf_counter()
            search_ms.append((t2 - t1) * 1000)
            search_cpu_ms.append((c2 - c1) * 1000)
    result = {
        "entries": len(retriever.index.entry_ids),
        "units": len(retriever.index.units),
        "build_s": round(retriever.build_seconds, 2),
        "build_cpu_s": round(retriever.build_cpu_seconds, 2),
        "cold_load_total_s": round(cold_total, 2),
        "warm_load_s": round(warm_load, 2),
        "queries": len(search_ms),
        "search_p50_ms": round(statistics.median(search_ms), 2),
        "search_p95_ms": round(percentile(search_ms, 95), 2),
        # CPU time of the searching thread (torch runs one intra-op thread): what a query costs
        # when the two cores are not shared with other jobs.
        "search_cpu_p50_ms": round(statistics.median(search_cpu_ms), 2),
        "search_cpu_p95_ms": round(percentile(search_cpu_ms, 95), 2),
        "embed_only_p50_ms": round(statistics.median(embed_ms), 2),
        "embed_only_p95_ms": round(percentile(embed_ms, 95), 2),
        "ratio_p50": round(statistics.median(search_ms) / statistics.median(embed_ms), 2),
        "cpu_count": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

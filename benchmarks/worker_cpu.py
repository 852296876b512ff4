"""A model worker's CPU per message: the pipeline over the 595 retrieval dev questions.

    .venv/bin/python -m benchmarks.worker_cpu [--repeat 3] [--gap-ms 20] [--profile out.pstats] [--dump out.jsonl]

What a model worker runs for one visitor message (``Pipeline.respond``, a fresh context each
time), in one process, after one warm-up pass; the CPU time of the calling thread (the encoder
runs one intra-op thread) per message: mean, p50, p95. ``--dump`` writes each message's
outcome (replies as sent, NLU reading, escalation, new context) so that two versions of the code
can be compared answer for answer; ``--profile`` writes a cProfile of the measured passes; the dump is of the last pass.

``--gap-ms`` sleeps that long after each message, as a worker of a node under load waits for its
next one (50 ms apart for each of 2 workers at 40 msg/s, ~10 ms near the knee): its caches are cold by
then, and a message costs nearly twice the CPU of one answered straight after another.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.pipeline import Outcome

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def outcome_record(question: str, outcome: Outcome) -> dict[str, object]:
    """What the visitor and the agent would see of one answer, as JSON."""
    return {"q": question, "replies": [reply.to_wire() for reply in outcome.replies], "nlu": outcome.nlu,
            "escalate": outcome.escalate.__dict__ if outcome.escalate else None,
            "context": outcome.context.model_dump(mode="json")}


def main() -> int:
    from bot.__main__ import _pipeline
    from bot.dialogue import Context
    from bot.settings import Settings
    from retrieval.evaluate import load_dev

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--dump", type=Path)
    parser.add_argument("--gap-ms", type=float, default=0.0, help="sleep after each message (not counted)")
    args = parser.parse_args()

    pipeline = _pipeline(Settings())
    questions = [row.q for row in load_dev()]
    for q in questions:  # warm-up: first-call costs are not what visitors see
        pipeline.respond(Context(), q)
    profiler = cProfile.Profile() if args.profile else None
    cpu_ms: list[float] = []
    outcomes: list[Outcome] = []
    for _ in range(args.repeat):
        outcomes.clear()
        for q in questions:
            if profiler:
                profiler.enable()
            c1 = time.thread_time()
            outcomes.append(pipeline.respond(Context(), q))
            cpu_ms.append((time.thread_time() - c1) * 1000)
            if profiler:
                profiler.disable()
            if args.gap_ms:
                time.sleep(args.gap_ms / 1000)
    if args.dump:  # the last pass: what a warm worker answers
        with args.dump.open("w", encoding="utf-8") as out:
            for q, outcome in zip(questions, outcomes, strict=True):
                out.write(json.dumps(outcome_record(q, outcome), ensure_ascii=False, default=str) + "\n")
    if profiler and args.profile:
        profiler.dump_stats(args.profile)
    print(json.dumps({
        "messages": len(cpu_ms), "cpu_mean_ms": round(statistics.fmean(cpu_ms), 2),
        "cpu_p50_ms": round(statistics.median(cpu_ms), 2), "cpu_p95_ms": round(percentile(cpu_ms, 95), 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What messages built to be slow cost a model worker, next to an ordinary question.

    .venv/bin/python -m benchmarks.costly_messages [--chars 2000] [--repeat 5]

One process runs the pipeline (``Pipeline.respond``, a fresh context each time) as a model worker
does. Each crafted message is run ``--repeat`` times with a different last character (no cache
helps) after one warm-up call of the ordinary question; reported per message: the first call's
CPU ms and the median of the rest. ``--chars`` is the message's length (the protocol allows
2,000); a shorter length lets a version with a superlinear pattern finish.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def crafted(chars: int) -> dict[str, str]:
    """The crafted messages (before their last character), each ``chars - 1`` long."""
    n = chars - 1
    rng = random.Random(7)
    words = ["visa", "permit", "office", "stay", "extend", "residence", "entry", "apply", "when", "how"]
    return {
        "visa + spaces": ("visa" + " " * n)[:n],
        "my passport + spaces": ("my passport" + " " * n)[:n],
        "受理编号 + tabs": ("受理编号" + "\t" * n)[:n],
        "!? repeated": ("!?" * n)[:n],
        "emoji repeated": ("😀" * n)[:n],
        "check + commas": ("check" + "," * n)[:n],
        "I can wait 3 + spaces": ("I can wait 3" + " " * n)[:n],
        "English words": " ".join(rng.choice(words) for _ in range(n))[:n],
        "Chinese sentences": ("我想预约明天下午去上海办理签证延期，可以吗？" * n)[:n],
        "ordinary question": "How do I extend my visa?",
    }


def main() -> int:
    from bot.__main__ import _pipeline
    from bot.dialogue import Context
    from bot.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chars", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    pipeline = _pipeline(Settings())
    pipeline.respond(Context(), "How do I extend my visa?")
    rows = {}
    for name, text in crafted(args.chars).items():
        cpu_ms = []
        for i in range(args.repeat):
            message = text + "xyzuvw"[i % 6] if name != "ordinary question" else text
            started = time.process_time()
            pipeline.respond(Context(), message)
            cpu_ms.append(round((time.process_time() - started) * 1000, 1))
        rows[name] = {"first_ms": cpu_ms[0], "median_ms": statistics.median(cpu_ms[1:] or cpu_ms)}
        print(json.dumps({"message": name, **rows[name]}, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

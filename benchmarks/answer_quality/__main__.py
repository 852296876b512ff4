"""The whole bot as a visitor meets it: every case of a set over a real server and websocket.

    python -m benchmarks.answer_quality --set blind            # the frozen blind set: figures only
    python -m benchmarks.answer_quality --set tuning --misses /tmp/misses.jsonl

Starts ``python -m bot serve`` on a free port (or uses ``--url``), opens one conversation per case
as the widget does (``hello`` with the portal page's language, no language lock), sends each turn
and judges the replies (cases.py). The blind set's wrong turns are only counted by family, never
written out: it is reported, not tuned on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from benchmarks.answer_quality.cases import SETS_DIR, Case, Turn, Verdict, judge, load_cases, miss_family
from benchmarks.load_cluster import free_port, start_chat_server

QUIET_S = 0.4  # no more frames for this long after the bot stops typing: the turn is over
TURN_TIMEOUT_S = 60.0


async def _frames_until_quiet(ws: ClientConnection, first_timeout: float) -> list[dict]:
    frames: list[dict] = []
    timeout = first_timeout
    while True:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        except TimeoutError:
            return frames
        frames.append(frame)
        typing_on = frame.get("type") == "typing" and frame.get("on")
        timeout = TURN_TIMEOUT_S if typing_on or frame.get("type") == "ack" else QUIET_S


async def run_case(url: str, case: Case) -> list[tuple[Turn, Verdict, list[dict]]]:
    out = []
    async with connect(url, max_size=2**20) as ws:
        await ws.send(json.dumps({"type": "hello", "session": None, "lang": None,
                                  "page_lang": case.page_lang, "last_seq": 0, "channel": "web"}))
        await _frames_until_quiet(ws, 10.0)  # welcome, greeting, state
        for n, turn in enumerate(case.turns):
            await ws.send(json.dumps({"type": "message", "id": f"{case.id}-{n}", "text": turn.text}))
            frames = await _frames_until_quiet(ws, TURN_TIMEOUT_S)
            replies = [f for f in frames if f.get("type") == "reply"]
            states = [f["state"] for f in frames if f.get("type") == "state"]
            out.append((turn, judge(turn, replies, states), replies))
    return out


async def run_all(url: str, cases: list[Case], concurrency: int) -> dict[str, list]:
    gate = asyncio.Semaphore(concurrency)
    results: dict[str, list] = {}

    async def one(case: Case) -> None:
        async with gate:
            results[case.id] = await run_case(url, case)

    await asyncio.gather(*(one(c) for c in cases))
    return results


def _pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 1) if d else None


def summarise(singles: list[Case], dialogues: list[Case], results: dict[str, list]) -> dict:
    by_script: dict[str, Counter] = defaultdict(Counter)
    total: Counter = Counter()
    families: Counter = Counter()
    for case in singles:
        turn, v, _ = results[case.id][0]
        for bucket in (by_script[turn.script], total):
            _count(bucket, turn, v)
        if (family := miss_family(turn, v)) is not None:
            families[family] += 1
    turns_right = sum(v.right for c in dialogues for _, v, _ in results[c.id])
    turns = sum(len(c.turns) for c in dialogues)
    dialogue_lang = sum(v.lang_ok for c in dialogues for _, v, _ in results[c.id])
    whole = sum(all(v.right for _, v, _ in results[c.id]) for c in dialogues)
    dialogue_families = Counter(f for c in dialogues for t, v, _ in results[c.id]
                                if (f := miss_family(t, v)) is not None)
    return {
        "single": {"all": _rates(total), **{s: _rates(c) for s, c in sorted(by_script.items())}},
        "dialogues": {"dialogues": len(dialogues), "turns": turns,
                      "turns_right": _pct(turns_right, turns),
                      "dialogues_right": _pct(whole, len(dialogues)),
                      "reply_language": _pct(dialogue_lang, turns)},
        "single_misses": dict(families.most_common()),
        "dialogue_misses": dict(dialogue_families.most_common()),
    }


def _count(c: Counter, turn: Turn, v: Verdict) -> None:
    c["cases"] += 1
    c[f"expect_{turn.expect}"] += 1
    c[f"right_{turn.expect}"] += v.right
    c[f"{turn.expect}_as_{v.outcome}"] += 1
    c["lang_ok"] += v.lang_ok
    if turn.expect != "handoff":
        c["not_handoff"] += 1
        c["false_handoff"] += v.outcome == "handoff"
    if turn.expect == "answer":
        c["false_decline"] += v.outcome == "decline"


def _rates(c: Counter) -> dict:
    answers = c["expect_answer"]
    return {
        "cases": c["cases"],
        "answered_with_facts": _pct(c["right_answer"], answers),
        "clarify_rate": _pct(c["answer_as_clarify"], answers),
        "handoff_recall": _pct(c["right_handoff"], c["expect_handoff"]),
        "false_handoff": _pct(c["false_handoff"], c["not_handoff"]),
        "decline_recall": _pct(c["right_decline"], c["expect_decline"]),
        "false_decline": _pct(c["false_decline"], answers),
        "smalltalk": _pct(c["right_smalltalk"], c["expect_smalltalk"]),
        "lang_switch": _pct(c["right_lang_switch"], c["expect_lang_switch"]),
        "reply_language": _pct(c["lang_ok"], c["cases"]),
    }


def report(name: str, summary: dict) -> str:
    cols = ["cases", "answered_with_facts", "clarify_rate", "handoff_recall", "false_handoff",
            "decline_recall", "false_decline", "reply_language"]
    lines = [f"## {name} set", "", "| script | " + " | ".join(cols) + " |",
             "|" + "---|" * (len(cols) + 1)]
    for script, rates in summary["single"].items():
        lines.append(f"| {script} | " + " | ".join(_cell(rates[k]) for k in cols) + " |")
    d = summary["dialogues"]
    lines += ["", f"dialogues: {d['dialogues']} ({d['turns']} turns): turns right {d['turns_right']}%,"
              f" whole dialogues right {d['dialogues_right']}%, reply language {d['reply_language']}%",
              "", "single-case misses by family: " + json.dumps(summary["single_misses"], ensure_ascii=False),
              "dialogue-turn misses by family: " + json.dumps(summary["dialogue_misses"], ensure_ascii=False)]
    return "\n".join(lines)


def _cell(value) -> str:
    return "–" if value is None else str(value)


def write_misses(path: Path, cases: list[Case], results: dict[str, list]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for case in cases:
            for n, (turn, v, replies) in enumerate(results[case.id]):
                if not v.right or not v.lang_ok:
                    f.write(json.dumps({
                        "id": case.id, "turn": n, "text": turn.text, "expect": turn.expect,
                        "page_lang": case.page_lang, "reply_lang": turn.reply_lang,
                        "facts": turn.facts, "outcome": v.outcome, "entry": v.entry,
                        "scripts": v.reply_scripts, "facts_ok": v.facts_ok,
                        "reply": [r.get("text", "")[:300] for r in replies],
                        "previous": [t.text for t in case.turns[:n]],
                    }, ensure_ascii=False) + "\n")


async def main(args: argparse.Namespace) -> dict:
    singles, dialogues = load_cases(SETS_DIR / args.set)
    if args.only == "single":
        dialogues = []
    elif args.only == "dialogues":
        singles = []
    if args.limit:
        singles, dialogues = singles[: args.limit], dialogues[: max(1, args.limit // 10)]
    proc = None
    url = args.url
    if url is None:
        port = free_port()
        data_dir = Path(tempfile.mkdtemp(prefix="answer-quality-"))
        proc = start_chat_server(port, data_dir, args.workers)
        url = f"ws://127.0.0.1:{port}/ws"
    started = time.monotonic()
    try:
        results = await run_all(url, singles + dialogues, args.concurrency)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
    summary = summarise(singles, dialogues, results)
    summary["seconds"] = round(time.monotonic() - started, 1)
    if args.misses:
        if args.set == "blind":
            sys.exit("the blind set is only reported: its misses are counted by family, not shown")
        write_misses(Path(args.misses), singles + dialogues, results)
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.answer_quality", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="blind", choices=["blind", "tuning"])
    ap.add_argument("--url", help="a running server's ws URL instead of starting one")
    ap.add_argument("--workers", type=int, default=2, help="model workers of the started server")
    ap.add_argument("--concurrency", type=int, default=4, help="conversations at once")
    ap.add_argument("--limit", type=int, default=0, help="first N single cases only (smoke runs)")
    ap.add_argument("--only", choices=["single", "dialogues"], help="run one kind of case only")
    ap.add_argument("--misses", help="write the tuning set's wrong turns here (JSON lines)")
    ap.add_argument("--out", help="write the summary as JSON here")
    return ap.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    result = asyncio.run(main(arguments))
    if arguments.out:
        Path(arguments.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(report(arguments.set, result))
    print(f"\n({result['seconds']} s)")

"""Load benchmark: simulated visitors over real websockets against the chat server, and the same
client against a bare ``websockets`` echo server in the same run (the transport's limit).

    .venv/bin/python -m benchmarks.load --visitors 200 --duration 60 --idle 5000

Active visitors each send a question, wait for the bot's reply, think for 2-4 s and ask again
(about 67 messages/s for 200 visitors). Reported: p50/p95/p99 message→reply latency, throughput,
lost (never acked or never answered) and duplicated messages, the server's peak RSS; then
``--idle`` connections that said hello and stay open, with the RSS they cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
# Visitors ask the development set's questions (all scripts, in and out of scope): varied text,
# so no cache makes the numbers look better than real traffic would.
QUESTIONS = [json.loads(line)["q"]
             for path in sorted((ROOT / "benchmarks" / "retrieval_dev").glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
ECHO_SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve
async def echo(ws):
    async for message in ws:
        await ws.send(message)
async def main():
    async with serve(echo, "127.0.0.1", int(sys.argv[1]), compression=None):
        print("ready", flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    acked: int = 0
    answered: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.task: asyncio.Task | None = None

    async def run(self) -> None:
        while True:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            await asyncio.sleep(0.1)

    def __enter__(self) -> RssSampler:
        self.task = asyncio.get_running_loop().create_task(self.run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()

    def current(self) -> int:
        return self.proc.memory_info().rss


async def chat_visitor(url: str, deadline: float, tally: Tally, rng: random.Random) -> None:
    async with connect(url, compression=None, open_timeout=30) as ws:
        await ws.send(json.dumps({"type": "hello", "session": None, "last_seq": 0}))
        pending: dict[str, float] = {}
        seen_seqs: set[int] = set()
        answered: set[int] = set()
        n = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(rng.uniform(2, 4))
            msg_id = f"m{n}"
            n += 1
            tally.sent += 1
            pending[msg_id] = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "id": msg_id,
                                      "text": rng.choice(QUESTIONS)}))
            ack_seq = None
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                seq = frame.get("seq")
                if frame["type"] in ("reply", "state", "visitor") and seq is not None:
                    if seq in seen_seqs:
                        tally.duplicates += 1
                    seen_seqs.add(seq)
                if frame["type"] == "ack" and frame["id"] == msg_id:
                    tally.acked += 1
                    ack_seq = frame["seq"]
                elif ack_seq is not None and seq is not None and seq > ack_seq \
                        and ack_seq not in answered and _answers(frame):
                    answered.add(ack_seq)
                    tally.answered += 1
                    tally.latencies.append(time.perf_counter() - pending.pop(msg_id))
                    if frame["type"] == "state" or frame["from"] == "system":
                        # Handed to a person: this visitor starts a fresh chat with the bot.
                        await ws.send(json.dumps({"type": "hello", "session": None,
                                                  "last_seq": 0}))
                        while json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] \
                                != "welcome":
                            pass
                        seen_seqs.clear()
                        answered.clear()
                    break
                elif frame["type"] == "error":
                    tally.errors.append(frame["code"])
                    break


def _answers(frame: dict) -> bool:
    """The bot's reply, or the chat being queued for a person (then handoff speaks)."""
    return (frame["type"] == "reply" and frame["from"] in ("bot", "system")) or (
        frame["type"] == "state" and frame["state"] in ("queued", "agent"))


async def echo_visitor(url: str, deadline: float, tally: Tally, rng: random.Random) -> None:
    async with connect(url, compression=None, open_timeout=30) as ws:
        n = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(rng.uniform(2, 4))
            payload = json.dumps({"type": "message", "id": f"m{n}", "text": rng.choice(QUESTIONS)})
            n += 1
            tally.sent += 1
            started = time.perf_counter()
            await ws.send(payload)
            if await asyncio.wait_for(ws.recv(), 30) == payload:
                tally.acked += 1
                tally.answered += 1
                tally.latencies.append(time.perf_counter() - started)


async def run_visitors(kind, url: str, visitors: int, duration: float, pid: int) -> dict:
    tally = Tally()
    deadline = time.monotonic() + duration
    rng = random.Random(7)
    started = time.perf_counter()
    with RssSampler(pid) as rss:
        await asyncio.gather(*(kind(url, deadline, tally, random.Random(rng.random()))
                               for _ in range(visitors)))
    elapsed = time.perf_counter() - started
    lat = sorted(tally.latencies) or [float("nan")]
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    return {
        "visitors": visitors, "sent": tally.sent, "answered": tally.answered,
        "lost": tally.sent - tally.answered, "duplicated": tally.duplicates,
        "errors": len(tally.errors), "throughput_msg_s": round(tally.answered / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 1), "p95_ms": round(q[94] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1), "peak_rss_mib": round(rss.peak / 2**20, 1),
    }


async def idle_connections(url: str, count: int, pid: int) -> dict:
    proc = psutil.Process(pid)
    before = proc.memory_info().rss
    sockets = []
    try:
        for start in range(0, count, 250):
            batch = await asyncio.gather(*(connect(url, compression=None, open_timeout=60)
                                           for _ in range(min(250, count - start))))
            for ws in batch:
                await ws.send(json.dumps({"type": "hello", "session": None, "last_seq": 0}))
            sockets.extend(batch)
        await asyncio.sleep(5)  # let every greeting go out
        alive = sum(1 for ws in sockets if ws.state.name == "OPEN")
        rss = proc.memory_info().rss
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {"connections": count, "open": alive, "rss_mib": round(rss / 2**20, 1),
            "rss_before_mib": round(before / 2**20, 1),
            "per_connection_kib": round((rss - before) / max(alive, 1) / 1024, 1)}


def start_chat_server(port: int, data_dir: Path, workers: int) -> subprocess.Popen:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import link_caches  # the same cache sharing the tests use
    link_caches(data_dir)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CHAT_MAX_CONNS_PER_IP": "100000",
           "CHAT_IP_RATE": "100000", "CHAT_IP_BURST": "100000", "CHAT_LOG_LEVEL": "WARNING",
           "CHAT_MODEL_WORKERS": str(workers)}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port),
                             "--data-dir", str(data_dir)], cwd=ROOT, env=env)
    import urllib.request
    for _ in range(1800):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("chat server did not become ready")


def start_echo_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(port)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


async def main(args: argparse.Namespace) -> dict:
    raise_fd_limit()
    results: dict = {"args": vars(args)}
    with tempfile.TemporaryDirectory() as tmp:
        chat_port, echo_port = free_port(), free_port()
        chat = start_chat_server(chat_port, Path(tmp) / "data", args.workers)
        echo = start_echo_server(echo_port)
        try:
            results["echo"] = await run_visitors(echo_visitor, f"ws://127.0.0.1:{echo_port}",
                                                 args.visitors, args.duration, echo.pid)
            results["chat"] = await run_visitors(chat_visitor, f"ws://127.0.0.1:{chat_port}/ws",
                                                 args.visitors, args.duration, chat.pid)
            if args.idle:
                results["idle"] = await idle_connections(f"ws://127.0.0.1:{chat_port}/ws",
                                                         args.idle, chat.pid)
        finally:
            for proc in (chat, echo):
                proc.terminate()
                proc.wait(30)
    chat_r, echo_r = results["chat"], results["echo"]
    results["ratio_p95_chat_over_echo"] = round(chat_r["p95_ms"] / max(echo_r["p95_ms"], 0.01), 1)
    return results


def report(results: dict) -> str:
    workers = results["args"]["workers"]
    rows = ["| server | visitors | messages | lost | duplicated | throughput msg/s | p50 ms "
            "| p95 ms | p99 ms | peak RSS MiB |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name in ("chat", "echo"):
        r = results[name]
        label = f"chat ({workers} model worker{'s' if workers > 1 else ''})" if name == "chat" \
            else "bare websockets echo"
        rows.append(f"| {label} | {r['visitors']} | {r['sent']} | {r['lost']} | {r['duplicated']} "
                    f"| {r['throughput_msg_s']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} "
                    f"| {r['peak_rss_mib']} |")
    text = "\n".join(rows) + f"\n\np95 ratio chat/echo: {results['ratio_p95_chat_over_echo']}\n"
    if "idle" in results:
        i = results["idle"]
        text += (f"\nIdle: {i['open']}/{i['connections']} connections open, server RSS "
                 f"{i['rss_mib']} MiB ({i['per_connection_kib']} KiB per connection)\n")
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1, help="CHAT_MODEL_WORKERS")
    parser.add_argument("--json", type=Path, help="also write the results here")
    ns = parser.parse_args()
    out = asyncio.run(main(ns))
    print(report(out))
    if ns.json:
        ns.json.write_text(json.dumps(out, indent=2, default=str))

"""Load benchmark: simulated visitors over real websockets against chat nodes, and the same
client against a bare ``websockets`` echo server in the same run (the transport's limit).

    .venv/bin/python -m benchmarks.load --visitors 200 --duration 60 --idle 5000
    .venv/bin/python -m benchmarks.load --rate 150 --duration 30 --agents 2
    .venv/bin/python -m benchmarks.load --knee --rate 60 --step-duration 20 --agents 2 \\
        --backend postgres --nodes 2
    .venv/bin/python -m benchmarks.load --soak 600 --rate 100 --agents 2

Closed loop (the default): active visitors each send a question, wait for the bot's reply, think
for 2-4 s and ask again (about 67 messages/s for 200 visitors); then ``--idle`` connections that
said hello and stay open, with the RSS they cost.

Open loop (``--rate R``): R messages a second on a Poisson schedule, whatever the replies do,
each taken by a visitor with nothing in flight (a visitor has one message in flight at most, as
replies do not name the message they answer). Latency is send → reply; "from schedule" also
counts the wait for a free visitor, so a server that falls behind shows it. ``--knee`` steps the
rate up (×``--step-factor``) until p95 from schedule passes 50 ms or a message is lost, unsent,
duplicated or refused; the knee is the last rate that held. ``--soak S`` holds R for S seconds,
reading each node's memory every 10 s, and reports the series and its slope.

Reported: p50/p95/p99, throughput, lost (never acked or answered by the end plus ``--grace``),
duplicated (an event ``seq`` seen twice), errors, peak RSS of each node (its server process,
with its model workers, and its largest model worker), and CPU in % of one core of the client,
the nodes, PostgreSQL and the whole machine. Nodes: ``--nodes N`` on ``--backend postgres`` share
one database; visitors and ``--agents`` (logged in, idle: the queue broadcasts reach them) go
round-robin over the nodes' ports directly, with no load balancer in between.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from benchmarks.load_cluster import Cluster, Probe, Usage, agents_online, cluster, raise_fd_limit

ROOT = Path(__file__).resolve().parent.parent
# Visitors ask the development set's questions (all scripts, in and out of scope): varied text,
# so no cache makes the numbers look better than real traffic would.
QUESTIONS = [json.loads(line)["q"]
             for path in sorted((ROOT / "benchmarks" / "retrieval_dev").glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
P95_TARGET_S = 0.050
CLOSED_LOOP_TIMEOUT_S = 30
RSS_EVERY_S, SOAK_RSS_EVERY_S = 0.5, 10.0
MIB = 2**20


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # send → reply
    from_schedule: list[float] = field(default_factory=list)  # due → reply (open loop)
    sent: int = 0
    acked: int = 0
    answered: int = 0
    duplicates: int = 0
    unsent: int = 0  # due, but no visitor was free before the end plus grace
    handoffs: int = 0  # answers that queued the chat for a person (the agents' consoles hear)
    errors: list[str] = field(default_factory=list)


class Visitor(Protocol):
    async def ask(self, tally: Tally, due: float, timeout: float) -> None: ...

    async def close(self) -> None: ...


class ChatVisitor:
    """One visitor's websocket to a chat node: hello, then one question at a time."""

    def __init__(self, ws: ClientConnection, rng: random.Random) -> None:
        self.ws, self.rng = ws, rng
        self.n = 0
        self.seen_seqs: set[int] = set()

    @classmethod
    async def open(cls, url: str, rng: random.Random) -> ChatVisitor:
        visitor = cls(await connect(url, compression=None, open_timeout=60, max_size=None), rng)
        await visitor.hello()
        return visitor

    async def hello(self) -> None:
        """A fresh chat with the bot (also after a chat was handed to a person)."""
        await self.ws.send(json.dumps({"type": "hello", "session": None, "last_seq": 0}))
        while json.loads(await asyncio.wait_for(self.ws.recv(), 30))["type"] != "welcome":
            pass
        self.seen_seqs.clear()

    async def ask(self, tally: Tally, due: float, timeout: float) -> None:
        """Send a question; the answer is the first bot or system reply after its ack (or the
        chat queued for a person). Not answered within ``timeout``: counted lost."""
        msg_id = f"m{self.n}"
        self.n += 1
        tally.sent += 1
        sent = time.perf_counter()
        await self.ws.send(json.dumps({"type": "message", "id": msg_id,
                                       "text": self.rng.choice(QUESTIONS)}))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                if await self._until_answered(msg_id, tally):
                    now = time.perf_counter()
                    tally.latencies.append(now - sent)
                    tally.from_schedule.append(now - due)

    async def _until_answered(self, msg_id: str, tally: Tally) -> bool:
        ack_seq = None
        while True:
            frame = json.loads(await self.ws.recv())
            seq = frame.get("seq")
            if frame["type"] in ("reply", "state", "visitor") and seq is not None:
                tally.duplicates += seq in self.seen_seqs
                self.seen_seqs.add(seq)
            if frame["type"] == "ack" and frame["id"] == msg_id:
                tally.acked += 1
                ack_seq = frame["seq"]
            elif ack_seq is not None and seq is not None and seq > ack_seq and _answers(frame):
                tally.answered += 1
                if frame["type"] == "state" or frame["from"] == "system":
                    tally.handoffs += 1
                    await self.hello()  # handed to a person: start a fresh chat with the bot
                return True
            elif frame["type"] == "error":
                tally.errors.append(frame["code"])
                return False

    async def close(self) -> None:
        await self.ws.close()


def _answers(frame: dict) -> bool:
    """The bot's reply, or the chat being queued for a person (then handoff speaks)."""
    return (frame["type"] == "reply" and frame["from"] in ("bot", "system")) or (
        frame["type"] == "state" and frame["state"] in ("queued", "agent"))


class EchoVisitor:
    """The same traffic to the bare echo server: the reply is the frame itself."""

    def __init__(self, ws: ClientConnection, rng: random.Random) -> None:
        self.ws, self.rng = ws, rng
        self.n = 0

    @classmethod
    async def open(cls, url: str, rng: random.Random) -> EchoVisitor:
        return cls(await connect(url, compression=None, open_timeout=60), rng)

    async def ask(self, tally: Tally, due: float, timeout: float) -> None:
        payload = json.dumps({"type": "message", "id": f"m{self.n}",
                              "text": self.rng.choice(QUESTIONS)})
        self.n += 1
        tally.sent += 1
        sent = time.perf_counter()
        await self.ws.send(payload)
        with contextlib.suppress(TimeoutError):
            if await asyncio.wait_for(self.ws.recv(), timeout) == payload:
                now = time.perf_counter()
                tally.acked += 1
                tally.answered += 1
                tally.latencies.append(now - sent)
                tally.from_schedule.append(now - due)

    async def close(self) -> None:
        await self.ws.close()


Opener = Callable[[str, random.Random], Awaitable[Visitor]]


async def open_visitors(opener: Opener, urls: list[str], count: int) -> list[Visitor]:
    """``count`` visitors, round-robin over ``urls``, opened 250 at a time."""
    rng = random.Random(7)
    visitors: list[Visitor] = []
    for start in range(0, count, 250):
        visitors += await asyncio.gather(*(
            opener(urls[i % len(urls)], random.Random(rng.random()))
            for i in range(start, min(start + 250, count))))
    return visitors


class RssSampler:
    """Each probe's RSS every ``every`` seconds: the peaks, and the series of tree totals."""

    def __init__(self, probes: list[Probe], every: float) -> None:
        self.probes, self.every = probes, every
        self.peak_own = [0] * len(probes)
        self.peak_total = [0] * len(probes)
        self.peak_child = [0] * len(probes)  # a node's largest model worker
        self.series: list[tuple[float, list[float]]] = []  # (seconds in, MiB per probe)
        self.task: asyncio.Task | None = None

    async def run(self) -> None:
        started = time.monotonic()
        while True:
            readings = [probe.rss() for probe in self.probes]
            for i, (own, total) in enumerate(readings):
                self.peak_own[i] = max(self.peak_own[i], own)
                self.peak_total[i] = max(self.peak_total[i], total)
                self.peak_child[i] = max(self.peak_child[i], self.probes[i].largest_child_rss())
            self.series.append((round(time.monotonic() - started, 1),
                                [round(total / MIB, 1) for _, total in readings]))
            await asyncio.sleep(self.every)

    def __enter__(self) -> RssSampler:
        self.task = asyncio.get_running_loop().create_task(self.run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()

    def peaks(self) -> list[dict[str, float]]:
        return [{"server_mib": round(own / MIB, 1), "node_mib": round(total / MIB, 1),
                 "worker_mib": round(child / MIB, 1)}
                for own, total, child in zip(self.peak_own, self.peak_total, self.peak_child, strict=True)]


@contextlib.contextmanager
def measured(lab: Cluster, probes: list[Probe], every: float) -> Iterator[tuple[RssSampler,
                                                                                list[Usage]]]:
    with lab.meter().measure() as usage, RssSampler(probes, every) as rss:
        yield rss, usage


def summary(tally: Tally, elapsed: float, visitors: int, rss: RssSampler, usage: Usage,
            rate: float | None = None) -> dict:
    def quantiles(values: list[float]) -> list[float]:
        lat = sorted(values) or [float("nan")]
        return statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99

    q, qs = quantiles(tally.latencies), quantiles(tally.from_schedule)
    return {
        "visitors": visitors, "rate_msg_s": rate, "sent": tally.sent, "answered": tally.answered,
        "lost": tally.sent - tally.answered, "unsent": tally.unsent,
        "duplicated": tally.duplicates, "errors": len(tally.errors), "handoffs": tally.handoffs,
        "error_codes": sorted(set(tally.errors)),
        "throughput_msg_s": round(tally.answered / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 1), "p95_ms": round(q[94] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "p95_from_schedule_ms": round(qs[94] * 1000, 1) if rate else None,
        "rss": rss.peaks(), "cpu_pct": asdict(usage),
        "cpu_ms_per_msg": cpu_per_message(usage, elapsed, tally.answered),
    }


def cpu_per_message(usage: Usage, elapsed: float, answered: int) -> dict[str, float]:
    """CPU milliseconds per answered message of the nodes' server processes, their model
    workers and PostgreSQL: on a machine shared with other work this moves far less than the
    latencies do, so it is what compares two versions of the code."""
    if not answered:
        return {"servers": 0.0, "workers": 0.0, "postgres": 0.0}
    ms = 10 * elapsed / answered  # % of a core over the run -> ms per message
    return {"servers": round(usage.servers * ms, 2),
            "workers": round((usage.nodes - usage.servers) * ms, 2),
            "postgres": round(usage.postgres * ms, 2)}


async def guarded(work: Awaitable[None], tally: Tally) -> None:
    """A visitor whose socket fails stops; the failure is an error of the run, not a crash."""
    try:
        await work
    except (ConnectionClosed, OSError) as exc:
        tally.errors.append(type(exc).__name__)


# Closed loop ---------------------------------------------------------------------------------

async def think_and_ask(visitor: Visitor, tally: Tally, deadline: float,
                        rng: random.Random) -> None:
    while time.monotonic() < deadline:
        await asyncio.sleep(rng.uniform(2, 4))
        await visitor.ask(tally, time.perf_counter(), CLOSED_LOOP_TIMEOUT_S)


async def closed_loop(lab: Cluster, visitors: list[Visitor], duration: float,
                      probes: list[Probe]) -> dict:
    tally = Tally()
    deadline = time.monotonic() + duration
    rng = random.Random(11)
    started = time.perf_counter()
    with measured(lab, probes, RSS_EVERY_S) as (rss, usage):
        await asyncio.gather(*(guarded(think_and_ask(v, tally, deadline,
                                                     random.Random(rng.random())), tally)
                               for v in visitors))
    return summary(tally, time.perf_counter() - started, len(visitors), rss, usage[0])


# Open loop -----------------------------------------------------------------------------------

async def schedule(queue: asyncio.Queue[float | None], rate: float, duration: float,
                   takers: int, rng: random.Random) -> None:
    """Poisson arrivals at ``rate``/s for ``duration`` s, queued at their due time."""
    start = due = time.perf_counter()
    while (due := due + rng.expovariate(rate)) - start < duration:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(due)
    for _ in range(takers):
        queue.put_nowait(None)


async def take_and_ask(visitor: Visitor, queue: asyncio.Queue[float | None], tally: Tally,
                       answer_by: float) -> None:
    while (due := await queue.get()) is not None:
        left = answer_by - time.perf_counter()
        if left <= 0:
            tally.unsent += 1
            continue
        await visitor.ask(tally, due, left)


async def open_loop(lab: Cluster, visitors: list[Visitor], rate: float, duration: float,
                    grace: float, probes: list[Probe], rss_every: float = RSS_EVERY_S) -> dict:
    tally = Tally()
    queue: asyncio.Queue[float | None] = asyncio.Queue()
    started = time.perf_counter()
    with measured(lab, probes, rss_every) as (rss, usage):
        await asyncio.gather(
            schedule(queue, rate, duration, len(visitors), random.Random(13)),
            *(guarded(take_and_ask(v, queue, tally, started + duration + grace), tally)
              for v in visitors))
    result = summary(tally, time.perf_counter() - started, len(visitors), rss, usage[0], rate)
    result["rss_series"] = rss.series
    return result


def holds(step: dict) -> bool:
    """A rate the server sustains: p95 from schedule within target, nothing lost or refused."""
    return (step["p95_from_schedule_ms"] <= P95_TARGET_S * 1000 and not step["lost"]
            and not step["unsent"] and not step["duplicated"] and not step["errors"])


async def knee(lab: Cluster, visitors: list[Visitor], args: argparse.Namespace) -> dict:
    steps, rate, best = [], args.rate, None
    while rate <= args.max_rate:
        step = await open_loop(lab, visitors, rate, args.step_duration, args.grace, lab.probes)
        step.pop("rss_series")
        steps.append(step)
        print(f"rate {rate:.0f}/s: p95 {step['p95_ms']} ms (from schedule "
              f"{step['p95_from_schedule_ms']}), {step['throughput_msg_s']} msg/s, lost "
              f"{step['lost']}, unsent {step['unsent']}, errors {step['errors']}, "
              f"cpu {step['cpu_pct']}", flush=True)
        if not holds(step):
            break
        best = rate
        rate = round(rate * args.step_factor, 1)
    # Every step held up to --max-rate: the knee lies higher and was not found.
    return {"steps": steps, "knee_msg_s": best, "found": not holds(steps[-1])}


def slope_mib_per_min(series: list[tuple[float, list[float]]], node: int, warmup: float) -> float:
    """The least-squares slope after ``warmup`` s (the first answers grow the workers' caches)."""
    settled = [(t, v) for t, v in series if t >= warmup]
    if len(settled) < 2:
        return float("nan")
    fit = statistics.linear_regression([t / 60 for t, _ in settled],
                                       [v[node] for _, v in settled])
    return round(fit.slope, 2)


async def idle_connections(url: str, count: int, pid: int) -> dict:
    probe = Probe(pid)
    before = probe.rss()[0]
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
        rss = probe.rss()[0]
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {"connections": count, "open": alive, "rss_mib": round(rss / MIB, 1),
            "rss_before_mib": round(before / MIB, 1),
            "per_connection_kib": round((rss - before) / max(alive, 1) / 1024, 1)}


async def chat_runs(lab: Cluster, args: argparse.Namespace) -> dict:
    """The chat nodes under the chosen mode, with the agents online."""
    results: dict = {}
    chat = await open_visitors(ChatVisitor.open, lab.ws_urls, args.visitors)
    try:
        async with agents_online(lab.ws_urls, args.agents) as agents:
            if args.knee:
                results["knee"] = await knee(lab, chat, args)
            elif args.soak:
                results["chat"] = await open_loop(lab, chat, args.rate, args.soak, args.grace,
                                                  lab.probes, SOAK_RSS_EVERY_S)
                results["chat"]["rss_slope_mib_per_min"] = [
                    slope_mib_per_min(results["chat"]["rss_series"], i, args.warmup)
                    for i in range(len(lab.probes))]
            elif args.rate:
                results["chat"] = await open_loop(lab, chat, args.rate, args.duration,
                                                  args.grace, lab.probes)
            else:
                results["chat"] = await closed_loop(lab, chat, args.duration, lab.probes)
            results["agent_frames"] = agents.frames
    finally:
        await asyncio.gather(*(v.close() for v in chat), return_exceptions=True)
    return results


async def echo_run(lab: Cluster, args: argparse.Namespace, rate: float | None) -> dict:
    """The echo server under the same traffic (open loop at ``rate``, or closed loop)."""
    echo = await open_visitors(EchoVisitor.open, [lab.echo_url], args.visitors)
    probes = [Probe(lab.echo.pid)]
    try:
        if rate is None:
            return await closed_loop(lab, echo, args.duration, probes)
        duration = args.step_duration if args.knee else args.duration
        result = await open_loop(lab, echo, rate, duration, args.grace, probes)
        result.pop("rss_series")
        return result
    finally:
        await asyncio.gather(*(v.close() for v in echo), return_exceptions=True)


async def run_mode(lab: Cluster, args: argparse.Namespace) -> dict:
    """The chat nodes, the idle connections (closed loop), then the echo server."""
    results = await chat_runs(lab, args)
    if args.idle and not args.rate:
        results["idle"] = await idle_connections(lab.ws_urls[0], args.idle, lab.probes[0].proc.pid)
    # In a knee search, the echo server takes the last (highest) step's rate.
    rate = results["knee"]["steps"][-1]["rate_msg_s"] if args.knee else args.rate
    results["echo"] = await echo_run(lab, args, rate)
    return results


async def main(args: argparse.Namespace) -> dict:
    raise_fd_limit()
    with cluster(args.backend, args.nodes, args.workers, args.agents) as lab:
        results = await run_mode(lab, args)
    return {"args": vars(args), **results}


COLUMNS = ("| run | visitors | rate /s | messages | lost | unsent | dup | errors | msg/s | p50 ms "
           "| p95 ms | p99 ms | p95 from schedule ms | peak RSS MiB per node (server / with "
           "workers / largest worker) | CPU % of a core: client / node servers / nodes with workers / PostgreSQL / "
           "machine | CPU ms per message: node servers / model workers / PostgreSQL |")


def row(label: str, r: dict) -> str:
    rss = ", ".join(f"{n['server_mib']} / {n['node_mib']} / {n['worker_mib']}" for n in r["rss"])
    cpu, per = r["cpu_pct"], r["cpu_ms_per_msg"]
    return (f"| {label} | {r['visitors']} | {r['rate_msg_s'] or 'closed loop'} | {r['sent']} "
            f"| {r['lost']} | {r['unsent']} | {r['duplicated']} | {r['errors']} "
            f"| {r['throughput_msg_s']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} "
            f"| {r['p95_from_schedule_ms'] or '-'} | {rss} | {cpu['client']} / {cpu['servers']} / "
            f"{cpu['nodes']} / {cpu['postgres']} / {cpu['machine']} | {per['servers']} / "
            f"{per['workers']} / {per['postgres']} |")


def report(results: dict) -> str:
    a = results["args"]
    chat = (f"chat, {a['nodes']} node{'s' if a['nodes'] > 1 else ''} on {a['backend']}, "
            f"{a['workers']} model worker{'s' if a['workers'] > 1 else ''} each")
    rows = [COLUMNS, "|" + "---|" * (COLUMNS.count("|") - 1)]
    if "knee" in results:
        rows += [row(chat, step) for step in results["knee"]["steps"]]
    else:
        rows.append(row(chat, results["chat"]))
    rows.append(row("bare websockets echo", results["echo"]))
    text = "\n".join(rows) + "\n"
    if "knee" in results:
        found = results["knee"]
        knee_text = f"{found['knee_msg_s']} msg/s" if found["knee_msg_s"] else \
            "below the first step's rate"
        text += ("\nKnee (highest rate with p95 from schedule ≤ 50 ms, nothing lost): "
                 f"{knee_text}"
                 f"{'' if found['found'] else ' (every step held: the knee is above --max-rate)'}\n")
    if "rss_slope_mib_per_min" in results.get("chat", {}):
        series = results["chat"]["rss_series"]
        text += (f"\nRSS per node every {SOAK_RSS_EVERY_S:.0f} s (MiB, with workers): "
                 f"{[values for _, values in series]}\nslope MiB/min per node: "
                 f"{results['chat']['rss_slope_mib_per_min']} (after the first {a['warmup']:.0f} s)\n")
    handoffs = sum(step["handoffs"] for step in results["knee"]["steps"]) if "knee" in results \
        else results["chat"]["handoffs"]
    text += (f"\nChats queued for a person: {handoffs}; frames received by the {a['agents']} "
             f"agent consoles: {results['agent_frames']}\n")
    if "idle" in results:
        i = results["idle"]
        text += (f"\nIdle: {i['open']}/{i['connections']} connections open, server RSS "
                 f"{i['rss_mib']} MiB ({i['per_connection_kib']} KiB per connection)\n")
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0,
                        help="seconds of a closed-loop or --rate run, and of the echo run")
    parser.add_argument("--idle", type=int, default=5000, help="closed loop: idle connections")
    parser.add_argument("--workers", type=int, default=1, help="CHAT_MODEL_WORKERS per node")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--nodes", type=int, default=1, help="> 1 needs --backend postgres")
    parser.add_argument("--agents", type=int, default=0, help="agent consoles logged in, idle")
    parser.add_argument("--rate", type=float, help="open loop: messages/s (--knee: the first)")
    parser.add_argument("--knee", action="store_true", help="step the rate up to the knee")
    parser.add_argument("--step-factor", type=float, default=1.25)
    parser.add_argument("--step-duration", type=float, default=20.0)
    parser.add_argument("--max-rate", type=float, default=2000.0)
    parser.add_argument("--soak", type=float, metavar="SECONDS", help="hold --rate this long")
    parser.add_argument("--warmup", type=float, default=60.0,
                        help="--soak: seconds left out of the memory slope")
    parser.add_argument("--grace", type=float, default=10.0,
                        help="open loop: seconds after the schedule ends for the last answers")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if (args.knee or args.soak) and not args.rate:
        parser.error("--knee and --soak need --rate")
    if args.knee and args.soak:
        parser.error("--knee or --soak, not both")
    if args.nodes < 1 or (args.nodes > 1 and args.backend != "postgres"):
        parser.error("--nodes: 1, or more with --backend postgres (nodes share one database)")
    return args


if __name__ == "__main__":
    ns = parse_args()
    out = asyncio.run(main(ns))
    print(report(out))
    if ns.json:
        ns.json.write_text(json.dumps(out, indent=2, default=str))

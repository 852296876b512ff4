"""The online services' flows, measured over real websockets against a real server: how many
turns a visitor needs and how long each flow takes, and appointment booking under concurrent
visitors (bookings/s, the final confirmation's latency, and double bookings: must be 0).

    .venv/bin/python -m benchmarks.service_flows --visitors 30

The visitor answers what the bot asks (`meta.field` of the appointment form; the first button
offered for a service, city, office, date or time), so a flow's turn count is what the form
needs, not what a script assumed. The calendar's today is fixed (CHAT_APPOINTMENTS_TODAY), so
every run books the same days.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from benchmarks.load_cluster import free_port, raise_fd_limit

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-09-21"  # a Monday; "next Tuesday" is 2026-09-29
OFFICE = "chengdu-exit-entry-administration"
CROWD_DAY = "2026-09-30"  # a working day no single flow books: its seats are the crowd's alone
SEATS = 4  # the embedded schedule's seats per slot (services/appointments.py Schedule)
BUTTON_FIELDS = ("service", "city", "office", "date", "time")


@dataclass(frozen=True)
class Flow:
    name: str
    first: str  # what the visitor types first
    done: tuple[str, ...]  # the reply kinds that end it
    then: tuple[str, ...] = ()  # what the visitor types next, in order (look-ups)


FLOWS = [
    Flow("booking, step by step (menu button)", "Online appointment", ("appointment_booked",)),
    Flow("booking, everything in one message",
         "I need to extend my visa in Chengdu next Tuesday at 10:00, my name is Anna Lee, "
         "passport E12345678", ("appointment_booked",)),
    Flow("look-up: application progress, one field a message", "Application progress",
         ("lookup_result",), ("A202603020017", "XA1234567", "1988-04-12")),
    Flow("look-up: application progress, all at once",
         "Can you check the progress of my application A202603020017?", ("lookup_result",),
         ("XA1234567 1988-04-12",)),
    Flow("look-up: visa / permit", "My visa / permit info", ("lookup_result",),
         ("R202600081 XA1234567 1988-04-12",)),
    Flow("look-up: PR card", "Permanent residence ID card info", ("lookup_result",),
         ("900000198501010017 XB2468013 1985-01-01",)),
    Flow("look-up: PR holder passport + e-document", "PR holder passport info",
         ("lookup_result",), ("900000198501010017 XB2468013 1985-01-01",)),
    Flow("office directory, typed question", "Where is the exit-entry office in Guangzhou?",
         ("office", "office_list")),
    Flow("office directory, menu button", "Exit-entry office directory",
         ("office", "office_list"), ("Chengdu",)),
    Flow("look-up for a family member (assisted)", "Can you check my son's residence permit?",
         ("lookup_result",), ("R202600081 XA1234567 1988-04-12", "Anna Lee")),
    Flow("service guide: menu button, then a procedure (checklist and its PDF link)",
         "Service guides", ("guide",), ("Download checklist: Work-type residence permit",)),
    Flow("service guide: the button under an answer", "Download checklist: Extending your visa "
         "(stay period) while in China", ("guide",)),
]


class Visitor:
    """One visitor's socket: send a message, wait for the bot's replies to it."""

    def __init__(self, ws: ClientConnection, name: str, passport: str,
                 rng: random.Random | None = None) -> None:
        self.ws, self.name, self.passport = ws, name, passport
        self.rng = rng  # with one, a free time is picked at random, as a crowd would
        self.turns = 0
        self.waited = 0.0  # seconds from each message to the turn's last reply, summed
        self.last_wait = 0.0

    async def say(self, text: str, quiet_s: float = 0.3) -> list[dict]:
        """The replies to ``text``: every reply until none has come for ``quiet_s`` after the
        first (a turn may send an answer and then the form's question)."""
        self.turns += 1
        msg_id = f"m{self.turns}-{time.monotonic_ns()}"
        await self.ws.send(json.dumps({"type": "message", "id": msg_id, "text": text}))
        sent = last = time.perf_counter()
        replies: list[dict] = []
        while True:
            try:
                frame = json.loads(await asyncio.wait_for(self.ws.recv(),
                                                          quiet_s if replies else 60))
            except TimeoutError:
                self.last_wait = last - sent
                self.waited += self.last_wait
                return replies
            if frame.get("type") == "reply" and frame.get("from") != "visitor":
                replies.append(frame)
                last = time.perf_counter()

    def answer(self, reply: dict) -> str:
        """What a visitor who books answers to the form's question."""
        field = reply["meta"].get("field")
        free = [s["time"] for s in reply["meta"].get("slots", []) if s["free"] > 0]
        if field == "time" and self.rng is not None and free:
            return self.rng.choice(free)
        if field in BUTTON_FIELDS and reply.get("quick_replies"):
            return str(reply["quick_replies"][0]["value"])
        return {"name": self.name, "passport": self.passport, "helper": "Bo Lee",
                "confirm": "Confirm"}.get(field or "", "Confirm")


async def open_visitor(url: str, name: str, passport: str,
                       rng: random.Random | None = None) -> Visitor:
    ws = await connect(url, open_timeout=30, max_size=2**20)
    await ws.send(json.dumps({"type": "hello", "session": None, "lang": "en", "last_seq": 0,
                              "channel": "web"}))
    while json.loads(await ws.recv()).get("type") != "welcome":
        pass
    return Visitor(ws, name, passport, rng)


async def run_flow(url: str, flow: Flow) -> dict[str, Any]:
    visitor = await open_visitor(url, "Anna Lee", "E12345678")
    try:
        replies = await visitor.say(flow.first)
        pending = list(flow.then)
        while not any(r["meta"].get("kind") in flow.done for r in replies):
            if visitor.turns > 12:
                raise RuntimeError(f"{flow.name}: no end after 12 turns: {replies[-1]['text']}")
            text = pending.pop(0) if pending else visitor.answer(replies[-1])
            replies = await visitor.say(text)
    finally:
        await visitor.ws.close()
    # The bot's time: each message to its turn's last reply (the visitor's reading and typing
    # are not modelled).
    return {"flow": flow.name, "turns": visitor.turns, "seconds": round(visitor.waited, 2)}


async def book_at_once(url: str, n: int) -> dict[str, Any]:
    """N visitors who all want 10:00 on CROWD_DAY at the same office: 4 seats, so most are told
    it is full and pick one of the free times they are offered (at random: some collide again).
    Latency: "Confirm" to the booking."""
    visitors = [await open_visitor(url, f"Anna {_letters(i)}", f"E{10000000 + i}",
                                   random.Random(i)) for i in range(n)]
    confirmations: list[float] = []
    bookings: list[dict] = []

    async def book(v: Visitor) -> None:
        replies = await v.say(f"I need to extend my visa in Chengdu on {CROWD_DAY} at 10:00", 0.05)
        while True:
            last = replies[-1]
            if last["meta"].get("kind") == "appointment_booked":
                bookings.append(last["meta"]["booking"])
                return
            if v.turns > 30:
                raise RuntimeError(f"no booking after 30 turns: {last['text']}")
            text = v.answer(last)
            replies = await v.say(text, 0.05)
            if text == "Confirm" and replies[-1]["meta"].get("kind") == "appointment_booked":
                confirmations.append(v.last_wait)

    start = time.perf_counter()
    await asyncio.gather(*(book(v) for v in visitors))
    wall = time.perf_counter() - start
    await asyncio.gather(*(v.ws.close() for v in visitors))
    taken = Counter((b["date"], b["time"]) for b in bookings)
    quantiles = statistics.quantiles(confirmations, n=20) if len(confirmations) > 1 else [0] * 19
    return {"visitors": n, "booked": len(bookings), "wall_s": round(wall, 2),
            "bookings_per_s": round(len(bookings) / wall, 2),
            "confirm_p50_ms": round(statistics.median(confirmations) * 1000, 1),
            "confirm_p95_ms": round(quantiles[18] * 1000, 1),
            "turns_mean": round(statistics.mean(v.turns for v in visitors), 1),
            "slots_used": len(taken),
            "double_bookings": sum(max(0, c - SEATS) for c in taken.values())
            + over_booked(url, taken)}


def _letters(i: int) -> str:
    """A surname for visitor ``i`` ("Ka", "Kb", …): names are letters, not numbers."""
    return "K" + chr(97 + i // 26) + chr(97 + i % 26)


def over_booked(url: str, taken: Counter) -> int:
    """What the server itself says of those slots: seats free + seats booked must be 4."""
    wrong = 0
    for day in {d for d, _ in taken}:
        http = url.replace("ws://", "http://").removesuffix("/ws")
        with urllib.request.urlopen(f"{http}/api/appointments/availability?office={OFFICE}"
                                    f"&date={day}", timeout=10) as answer:
            slots = json.load(answer)["slots"]
        wrong += sum(1 for s in slots if s["free"] + taken.get((day, s["time"]), 0) != SEATS)
    return wrong


def start_server(port: int, data_dir: Path) -> subprocess.Popen:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import link_caches  # the same cache sharing the tests use
    link_caches(data_dir)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CHAT_MAX_CONNS_PER_IP": "100000",
           "CHAT_IP_RATE": "100000", "CHAT_IP_BURST": "100000", "CHAT_LOG_LEVEL": "WARNING",
           "CHAT_APPOINTMENTS_TODAY": TODAY, "CHAT_LOOKUP_FAILURES_PER_IP": "1000"}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port),
                             "--data-dir", str(data_dir)], cwd=ROOT, env=env)
    for _ in range(1800):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("chat server did not become ready")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    raise_fd_limit()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = start_server(port, Path(tmp) / "data")
        url = f"ws://127.0.0.1:{port}/ws"
        try:
            flows = [await run_flow(url, flow) for flow in FLOWS]
            concurrent = await book_at_once(url, args.visitors)
        finally:
            server.terminate()
            server.wait(30)
    return {"flows": flows, "concurrent_booking": concurrent}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=30, help="visitors booking at once")
    results = asyncio.run(main(parser.parse_args()))
    print(json.dumps(results, ensure_ascii=False, indent=2))

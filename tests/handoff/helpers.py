"""Helpers for handoff tests: agent accounts via the CLI and a JSON agent websocket client."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from pathlib import Path

from websockets.asyncio.client import connect

from handoff.__main__ import main as cli_main

PASSWORD = "agent password 12367"


def add_agent(data_dir: Path, username: str, *, name: str | None = None, role: str = "agent",
              queues: str = "*", langs: str = "zh,en", max_chats: int = 3,
              subprocess_cli: bool = False) -> None:
    """Create an account with ``python -m handoff agents add`` (in-process unless asked)."""
    argv = ["agents", "add", "--username", username, "--name", name or username, "--role", role,
            "--queues", queues, "--langs", langs, "--max-chats", str(max_chats),
            "--password-stdin", "--data-dir", str(data_dir)]
    if subprocess_cli:
        r = subprocess.run([sys.executable, "-m", "handoff", *argv], input=PASSWORD + "\n",
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return
    stdin, sys.stdin = sys.stdin, io.StringIO(PASSWORD + "\n")
    try:
        assert cli_main(argv) == 0
    finally:
        sys.stdin = stdin


class AgentClient:
    """One agent websocket; ``expect`` skips frames until one matches (snapshots are frequent)."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.seen: list[dict] = []

    @classmethod
    async def open(cls, url: str) -> AgentClient:
        return cls(await connect(url, open_timeout=10))

    async def send(self, **frame) -> None:
        await self.ws.send(json.dumps(frame, ensure_ascii=False))

    async def expect(self, type_: str, timeout: float = 10.0, **match) -> dict:
        async def loop() -> dict:
            while True:
                frame = json.loads(await self.ws.recv())
                if frame.get("type") in ("queues", "queues_delta"):
                    frame = self.merge(frame)  # tests read a full snapshot either way
                self.seen.append(frame)
                if frame.get("type") == type_ and all(frame.get(k) == v for k, v in match.items()):
                    return frame
                if frame.get("type") == "error" and type_ != "error":
                    raise AssertionError(f"unexpected error frame {frame}")
        return await asyncio.wait_for(loop(), timeout)

    snapshot: dict | None = None

    def merge(self, frame: dict) -> dict:
        """Apply a `queues_delta` to the last full snapshot, as the console does; return the
        snapshot as a `queues` frame."""
        if frame["type"] == "queues":
            self.snapshot = frame
            return frame
        return apply_delta(self.snapshot, frame)

    async def login(self, username: str, password: str = PASSWORD) -> dict:
        await self.send(type="login", username=username, password=password)
        return await self.expect("auth_ok")

    async def queues_until(self, predicate, timeout: float = 10.0) -> dict:
        async def loop() -> dict:
            while True:
                frame = await self.expect("queues", timeout)
                if predicate(frame):
                    return frame
        return await asyncio.wait_for(loop(), timeout)

    async def close(self) -> None:
        await self.ws.close()


def waiting_ids(snapshot: dict) -> list[int]:
    return [c["id"] for q in snapshot["queues"] for c in q["waiting"]]


def apply_delta(snapshot: dict, delta: dict) -> dict:
    """docs/protocol.md, `queues_delta`: drop changed chats, put upserted ones back in place."""
    gone = set(delta["remove"]) | {c["id"] for c in delta["upsert"]}
    snapshot["mine"] = [c for c in snapshot["mine"] if c["id"] not in gone]
    for q in snapshot["queues"]:
        q["waiting"] = [c for c in q["waiting"] if c["id"] not in gone]
    queues = {q["id"]: q for q in snapshot["queues"]}
    for item in delta["upsert"]:
        if item["status"] == "queued" and item["queue"] in queues:
            queues[item["queue"]]["waiting"].append(item)
        elif item["status"] == "agent":
            snapshot["mine"].append(item)
    for q in snapshot["queues"]:
        q["waiting"].sort(key=lambda c: (c["waiting_since"], c["id"]))
        for i, c in enumerate(q["waiting"], 1):
            c["position"] = i
    for key in ("now", "accepting", "online_agents"):
        snapshot[key] = delta[key]
    return {**snapshot, "type": "queues"}


def is_state(state: str, **match):
    """A ``state`` frame in ``state`` whose other fields match ``match``."""
    return lambda f: f["type"] == "state" and f["state"] == state and all(f.get(k) == v for k, v in match.items())


def reply_kind(value: str):
    """A reply of the given ``meta.kind`` (a form's step, the consent question, ...)."""
    return lambda f: f["type"] == "reply" and f.get("meta", {}).get("kind") == value

"""Attacks for tests/bot/test_abuse.py, run in their own process so that the attacker's work
does not slow the test's bystander (the tests measure the server, not the test runner).

    python -m tests.bot.attackers KIND PORT IP SECONDS

prints ``go`` when the attack starts and, when it ends, one JSON line with what it saw. Only
127.0.0.1 is ever contacted; IP is the address claimed in X-Forwarded-For.
"""

from __future__ import annotations

import asyncio
import collections
import json
import secrets
import sys
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


async def http_status(port: int, path: str, ip: str, method: str = "GET") -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
                 f"X-Forwarded-For: {ip}\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    return int(data.split(b" ", 2)[1])


async def visitor(port: int, ip: str):
    ws = await connect(f"ws://127.0.0.1:{port}/ws", additional_headers={"X-Forwarded-For": ip},
                       open_timeout=10)
    await ws.send(json.dumps({"type": "hello", "session": None, "lang": "en", "last_seq": 0}))
    return ws


async def qr(port: int, ip: str, seconds: float) -> dict:
    """Long tokens (the issue's 2,800 characters), made-up tokens, and real ones asked for with
    transfer_request, 60 requests at a time."""
    ws = await visitor(port, ip)
    real: list[str] = []
    statuses: collections.Counter = collections.Counter()
    deadline = time.monotonic() + seconds
    print("go", flush=True)
    while time.monotonic() < deadline:
        await ws.send('{"type":"transfer_request"}')
        paths = ["/qr.svg?t=" + "A" * n for n in (2800, 3000, 7000)]
        paths += [f"/qr.svg?t={secrets.token_urlsafe(32)}" for _ in range(20)]
        paths += [f"/qr.svg?t={t}" for t in real[-10:]]
        results = await asyncio.gather(*(http_status(port, p, ip) for p in paths))
        statuses.update(str(s) for s in results)
        await asyncio.sleep(0.05)
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.01))
                if frame["type"] == "transfer":
                    real.append(frame["token"])
        except TimeoutError:
            pass
    await ws.close()
    return {"statuses": dict(statuses), "real_tokens": len(real)}


async def logins(port: int, ip: str, seconds: float) -> dict:
    """Wrong passwords for one agent, as fast as the server answers, on 5 sockets."""
    codes: collections.Counter = collections.Counter()
    deadline = time.monotonic() + seconds

    async def one(i: int) -> None:
        while time.monotonic() < deadline:
            try:
                async with connect(f"ws://127.0.0.1:{port}/agent/ws",
                                   additional_headers={"X-Forwarded-For": ip}) as ws:
                    while time.monotonic() < deadline:
                        await ws.send(json.dumps({"type": "login", "username": sys.argv[5],
                                                  "password": f"guess {i} {time.monotonic()}"}))
                        codes[json.loads(await ws.recv()).get("code", "ok")] += 1
            except (ConnectionClosed, InvalidStatus) as exc:  # closed, or over the allowance
                codes[type(exc).__name__] += 1
                await asyncio.sleep(0.05)

    print("go", flush=True)
    await asyncio.gather(*(one(i) for i in range(5)))
    return {"codes": dict(codes)}


async def reconnect_flood(port: int, ip: str, seconds: float) -> dict:
    """One socket at a time, reconnecting, each sending 20 pings before the next opens: the
    issue's bypass of the per-IP bucket."""
    pongs = refused = conns = welcomes = handshakes_refused = 0
    start = time.monotonic()
    deadline = start + seconds
    print("go", flush=True)
    while time.monotonic() < deadline:
        try:
            ws = await visitor(port, ip)
        except InvalidStatus:
            handshakes_refused += 1
            await asyncio.sleep(0.01)
            continue
        conns += 1
        for _ in range(20):
            await ws.send('{"type":"ping"}')
        await ws.send('{"type":"ping","last":1}')
        try:
            answers = 0
            while answers < 22:  # hello + 21 pings answered one way or the other
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if frame["type"] == "pong":
                    pongs += 1
                    answers += 1
                elif frame["type"] == "error":
                    refused += frame["code"] == "rate_limited"
                    answers += 1
                elif frame["type"] == "welcome":
                    welcomes += 1
                    answers += 1
        except (ConnectionClosed, TimeoutError):
            pass
        await ws.close()
    return {"pongs": pongs, "welcomes": welcomes, "refused": refused, "connections": conns,
            "handshakes_refused": handshakes_refused, "seconds": time.monotonic() - start}


async def ghosts(port: int, ip: str, seconds: float) -> dict:
    """Ask for a person, then vanish, over and over."""
    made = refused = 0
    deadline = time.monotonic() + seconds
    print("go", flush=True)
    i = 0
    while time.monotonic() < deadline:
        i += 1
        try:
            ws = await visitor(port, ip)
        except InvalidStatus:
            await asyncio.sleep(0.05)
            continue
        for n in range(3):
            await ws.send(json.dumps({"type": "message", "id": f"g{i}-{n}",
                                      "text": "I want to talk to a human agent"}))
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame["type"] == "state" and frame.get("state") == "queued":
                    made += 1
                    break
                if frame["type"] == "reply" and frame.get("from") == "system" \
                        and "too many requests" in frame["text"]:
                    refused += 1
                    break
        except (TimeoutError, ConnectionClosed):
            refused += 1
        await ws.close()
    return {"queued": made, "not_queued": refused}


KINDS = {"qr": qr, "logins": logins, "reconnect_flood": reconnect_flood, "ghosts": ghosts}

if __name__ == "__main__":
    kind, port, ip, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    print(json.dumps(asyncio.run(KINDS[kind](port, ip, seconds))), flush=True)

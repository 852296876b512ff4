"""Issue 13: the abuse cases, each performed against a real server on loopback.

Every attack asserts the refusal and that a bystander is unaffected: the bystander's median
ping round trip while the attack runs, divided by its median without the attack in the same test
run, stays under ``MAX_SLOWDOWN``. The server trusts 127.0.0.1 as a reverse proxy, so each client
names its own address in X-Forwarded-For (documentation ranges, all on the loopback socket) and
per-IP limits of one test do not touch the bystander or the next test.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import sys
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import ROOT, ServerProcess
from tests.handoff.helpers import PASSWORD, add_agent

# The bystander's median ping may grow at most this much while an attack runs (loopback pings
# take well under a millisecond, so the floor keeps scheduler noise on a shared 2-core machine
# from failing the ratio; before the fixes the same attacks slowed pings 90x to 400x).
MAX_SLOWDOWN = 5.0
NOISE_FLOOR_S = 0.002
_addresses = (f"198.51.100.{i}" for i in itertools.count(1))


def fresh_ip() -> str:
    return next(_addresses)


@pytest.fixture(scope="module")
def srv(start_module_server):
    # Frame limits raised (the bystander pings 40 times a second); the limits themselves are
    # tested on a server with the defaults, below.
    return start_module_server(
        CHAT_TRUSTED_PROXIES='["127.0.0.1"]', CHAT_HELLO_TIMEOUT_S="2",
        CHAT_AGENT_MAX_FAILURES="3", CHAT_CONN_RATE="50", CHAT_CONN_BURST="100",
        CHAT_IP_RATE="100", CHAT_IP_BURST="200", CHAT_VISITOR_GONE_GRACE_S="1",
        CHAT_AGENT_LOGIN_TIMEOUT_S="6", CHAT_ESCALATIONS_PER_IP="4")


def via(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


async def http(srv: ServerProcess, path: str, method: str = "GET", ip: str | None = None,
               headers: tuple[tuple[str, str], ...] = (), raw: bytes | None = None,
               ) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP/1.1 request (the test controls every byte), answered and closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    if raw is None:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{srv.port}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers]
        if ip:
            lines.append(f"X-Forwarded-For: {ip}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in header_lines:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(status_line.split()[1]), hdrs, body


class Bystander:
    """A visitor minding their own business, measuring ping round trips."""

    def __init__(self, ws) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, srv: ServerProcess) -> Bystander:
        ws = await connect(srv.ws_url, additional_headers=via(fresh_ip()), open_timeout=10)
        await ws.send(json.dumps({"type": "hello", "session": None, "lang": "en", "last_seq": 0}))
        while json.loads(await ws.recv())["type"] != "welcome":
            pass
        return cls(ws)

    async def median_rtt(self, n: int = 25, gap: float = 0.02) -> float:
        rtts = []
        for _ in range(n):
            start = time.perf_counter()
            await self.ws.send('{"type":"ping"}')
            while True:
                frame = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
                assert frame.get("code") != "rate_limited", frame
                if frame["type"] == "pong":
                    break
            rtts.append(time.perf_counter() - start)
            await asyncio.sleep(gap)
        return statistics.median(rtts)

    async def slowdown_during(self, kind: str, srv: ServerProcess, ip: str, seconds: float,
                              *args: str) -> tuple[float, float, float, dict]:
        """Run an attack from tests/bot/attackers.py in its own process; return (baseline s,
        under attack s, ratio, what the attacker saw)."""
        baseline = await self.median_rtt()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.bot.attackers", kind, str(srv.port), ip, str(seconds),
            *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
        assert (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() == b"go"
        await asyncio.sleep(0.2)
        under = await self.median_rtt()
        out, _ = await asyncio.wait_for(proc.communicate(), seconds + 60)
        assert proc.returncode == 0
        result = json.loads(out.decode().strip().splitlines()[-1])
        print(kind, result)
        ratio = max(under, NOISE_FLOOR_S) / max(baseline, NOISE_FLOOR_S)
        print(f"bystander ping: {baseline * 1000:.2f} ms -> {under * 1000:.2f} ms "
              f"(x{under / baseline:.1f})")
        return baseline, under, ratio, result

    async def close(self) -> None:
        await self.ws.close()


# 1. Expensive work off the event loop ------------------------------------------------------------

async def test_qr_tokens_are_bounded_and_drawn_off_the_loop(srv):
    bystander = await Bystander.open(srv)
    _, _, ratio, seen = await bystander.slowdown_during("qr", srv, fresh_ip(), 3)
    statuses = seen["statuses"]
    assert "500" not in statuses
    assert statuses["414"] >= 3 and statuses["404"] >= 40  # too long; made-up tokens
    assert statuses.get("200", 0) >= 1  # real codes are drawn (and over the allowance: 429)
    assert ratio < MAX_SLOWDOWN
    token = None
    async with connect(srv.ws_url, additional_headers=via(fresh_ip())) as ws:
        await ws.send(json.dumps({"type": "hello", "session": None, "last_seq": 0}))
        await ws.send('{"type":"transfer_request"}')
        while token is None:
            frame = json.loads(await ws.recv())
            token = frame.get("token") if frame["type"] == "transfer" else None
    status, headers, body = await http(srv, f"/qr.svg?t={token}", ip=fresh_ip())
    assert status == 200 and headers["content-type"] == "image/svg+xml" and b"<svg" in body
    assert (await http(srv, "/qr.svg", ip=fresh_ip()))[0] == 200  # the portal's own code
    assert (await http(srv, "/qr.svg?t=%3Cscript%3E", ip=fresh_ip()))[0] == 400
    assert (await http(srv, "/qr.svg?t=" + "a" * 65, ip=fresh_ip()))[0] == 414
    await bystander.close()


# 5. Pages -------------------------------------------------------------------------------------

async def test_pages_have_a_csp_without_inline_script_and_only_get_head(srv):
    status, headers, body = await http(srv, "/")
    csp = headers["content-security-policy"]
    assert status == 200 and "script-src 'self'" in csp and "frame-ancestors 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    for page in ("/", "/m", "/console"):
        html = (await http(srv, page))[2].decode()
        assert "<script>" not in html, f"inline script in {page}"
    for method in ("PUT", "DELETE", "TRACE", "POST", "OPTIONS"):
        status, headers, body = await http(srv, "/", method=method)
        assert status == 405 and headers["allow"] == "GET, HEAD", method
    status, headers, body = await http(srv, "/console", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


async def test_metrics_only_from_allowed_addresses(srv):
    assert (await http(srv, "/metrics"))[0] == 200  # loopback itself
    assert (await http(srv, "/metrics", ip="203.0.113.5"))[0] == 403  # a client behind the proxy
    two = (("X-Forwarded-For", "127.0.0.1"), ("X-Forwarded-For", "203.0.113.6"))
    assert (await http(srv, "/metrics", headers=two))[0] == 403  # one list: the last hop counts


async def test_origin_is_checked_against_configured_origins_not_host(srv):
    # DNS rebinding: evil.example resolves to us; the browser sends a matching Host and Origin.
    host = f"evil.example:{srv.port}"
    raw = (f"GET /ws HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n")
    assert (await http(srv, "", raw=raw.encode()))[0] == 403
    async with connect(srv.ws_url, origin=f"http://127.0.0.1:{srv.port}"):
        pass


async def test_malformed_requests_get_clear_refusals(srv):
    raw = f"GET /static/a\x00b HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n\r\n".encode()
    assert (await http(srv, "", raw=raw))[0] == 400
    dup = ("GET /ws HTTP/1.1\r\nHost: a\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    assert (await http(srv, "", raw=dup.encode()))[0] == 400
    two_origins = (("Origin", "http://a"), ("Origin", "http://b"))
    assert (await http(srv, "/", headers=two_origins))[0] == 400
    assert "Traceback" not in srv.log.read_text()


# 2. Logins ------------------------------------------------------------------------------------

async def agent_login(srv: ServerProcess, username: str, password: str, ip: str) -> dict:
    async with connect(srv.agent_ws_url, additional_headers=via(ip)) as ws:
        await ws.send(json.dumps({"type": "login", "username": username, "password": password}))
        return json.loads(await ws.recv())


async def test_login_guessing_backs_off_without_locking_the_real_agent_out(srv):
    add_agent(srv.data_dir, "target")
    bystander = await Bystander.open(srv)
    attacker = fresh_ip()
    _, _, ratio, seen = await bystander.slowdown_during("logins", srv, attacker, 3, "target")
    codes = seen["codes"]
    # 3 free failures, then waits of 1, 2 s: at most a handful of guesses were even checked
    # (the rest: `locked`, `busy` while one check is in flight, or over the socket's allowance).
    refused = sum(n for code, n in codes.items() if code != "bad_credentials")
    assert codes.get("bad_credentials", 0) <= 5 and refused > 100 and "ok" not in codes
    assert ratio < MAX_SLOWDOWN
    # The attacker, even with the right password, waits (on a slow machine the attack may not
    # have used up its free failures yet: fail until the waits start); the real agent gets in.
    for _ in range(10):
        reply = await agent_login(srv, "target", "still guessing", attacker)
        if reply.get("code") == "locked":
            break
        await asyncio.sleep(0.3)
    assert (await agent_login(srv, "target", PASSWORD, attacker))["code"] == "locked"
    assert (await agent_login(srv, "target", PASSWORD, fresh_ip()))["type"] == "auth_ok"


async def test_a_distributed_guesser_slows_the_account_and_the_cli_unlocks_it(srv):
    import subprocess
    add_agent(srv.data_dir, "shared")
    office = fresh_ip()  # the real agent's address, where they once mistyped
    assert (await agent_login(srv, "shared", "typo typo", office))["code"] == "bad_credentials"
    for _ in range(4):  # one guess each from four more addresses: the account backs off
        assert (await agent_login(srv, "shared", "guess guess", fresh_ip()))["code"] == \
            "bad_credentials"
    assert (await agent_login(srv, "shared", PASSWORD, office))["code"] == "locked"
    assert (await agent_login(srv, "shared", PASSWORD, fresh_ip()))["type"] == "auth_ok"
    for _ in range(6):  # (the success cleared the account) again: now an 8 s wait
        await agent_login(srv, "shared", "guess guess", fresh_ip())
    assert (await agent_login(srv, "shared", PASSWORD, office))["code"] == "locked"
    done = subprocess.run([sys.executable, "-m", "handoff", "agents", "unlock", "shared",
                           "--data-dir", str(srv.data_dir)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (await agent_login(srv, "shared", PASSWORD, office))["type"] == "auth_ok"


async def test_login_fields_are_bounded_and_unknown_usernames_not_stored(srv):
    ip = fresh_ip()
    reply = await agent_login(srv, "u" * 60000, "x", ip)
    assert reply["code"] == "too_long" and reply["field"] == "username"
    reply = await agent_login(srv, "no-such-agent-" + "v" * 40, "wrong password", ip)
    assert reply["code"] == "bad_credentials"
    import sqlite3
    db = sqlite3.connect(srv.data_dir / "chat.sqlite3")
    keys = [k for (k,) in db.execute("SELECT username FROM handoff_login_failures")]
    actors = [a for (a,) in db.execute("SELECT actor FROM handoff_audit")]
    assert not any("no-such-agent" in k for k in keys + actors)
    assert any(k.startswith("?") and len(k) == 17 for k in keys)
    db.close()


# 3. Rate limits that hold ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_srv(start_module_server):
    """The documented default limits (20 frames/s per IP, burst 60; 5/s, burst 20 per socket)."""
    return start_module_server(CHAT_TRUSTED_PROXIES='["127.0.0.1"]')


async def test_reconnecting_does_not_reset_the_ip_allowance(default_srv):
    srv = default_srv
    bystander = await Bystander.open(srv)
    bystander_slow = bystander.median_rtt

    async def gentle(n: int = 12, gap: float = 0.25) -> float:  # within 5 frames/s
        return await bystander_slow(n, gap)

    bystander.median_rtt = gentle
    seconds = 4.0
    _, _, ratio, seen = await bystander.slowdown_during("reconnect_flood", srv, fresh_ip(), seconds)
    # Each handshake and each hello takes a token too.
    accepted = seen["pongs"] + seen["welcomes"] + seen["connections"]
    limit = 60 + 20 * seen["seconds"]
    print(f"accepted {accepted} frames in {seen['seconds']:.1f} s; documented limit {limit:.0f}")
    # Before: 7,619 messages in 5 s. Now what the documentation says, and all of it usable.
    assert accepted <= limit + 5
    assert accepted >= 0.7 * limit
    assert ratio < MAX_SLOWDOWN
    await bystander.close()


async def test_a_noisy_socket_does_not_starve_its_neighbour_on_the_same_ip(default_srv):
    srv = default_srv
    ip = fresh_ip()
    async with connect(srv.ws_url, additional_headers=via(ip)) as noisy, \
            connect(srv.ws_url, additional_headers=via(ip)) as neighbour:
        await neighbour.send(json.dumps({"type": "hello", "session": None, "last_seq": 0}))
        for i in range(150):  # valid frames far over its own limit, and junk
            await noisy.send('{"type":"ping"}' if i % 2 else "not json {")
        codes = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                frame = json.loads(await asyncio.wait_for(noisy.recv(), 10))
                codes.append(frame.get("code", frame["type"]))
        assert codes.count("pong") + codes.count("bad_json") == 20  # its own burst, no more
        assert codes.count("rate_limited") >= 100
        assert closed.value.rcvd.code == 1008  # still flooding after 100 refusals in a row
        answers = []
        for _ in range(10):
            await neighbour.send('{"type":"ping"}')
            await asyncio.sleep(0.22)
        while len(answers) < 10:
            frame = json.loads(await asyncio.wait_for(neighbour.recv(), 10))
            if frame["type"] in ("pong", "error"):
                answers.append(frame["type"])
        assert answers == ["pong"] * 10


async def test_a_socket_that_never_says_hello_is_closed(srv):
    async with connect(srv.ws_url, additional_headers=via(fresh_ip())) as ws:
        await ws.send('{"type":"ping"}')  # pings are answered, but hello never comes
        assert json.loads(await ws.recv())["type"] == "pong"
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd.code == 1008 and closed.value.rcvd.reason == "hello timeout"
    async with connect(srv.agent_ws_url, additional_headers=via(fresh_ip())) as ws:
        await ws.send('{"type":"ping"}')  # an agent socket that never logs in, likewise
        assert json.loads(await ws.recv())["type"] == "pong"
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd.code == 1008 and closed.value.rcvd.reason == "login timeout"


# 4. The queue, bounded and honest ---------------------------------------------------------------

def queued_total(srv: ServerProcess) -> int:
    import urllib.request
    with urllib.request.urlopen(f"{srv.url}/metrics", timeout=10) as r:
        text = r.read().decode()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
               if line.startswith("chat_queue_length{"))


async def ask_for_a_person(srv: ServerProcess, ip: str):
    ws = await connect(srv.ws_url, additional_headers=via(ip))
    await ws.send(json.dumps({"type": "hello", "session": None, "lang": "en", "last_seq": 0}))
    await ws.send(json.dumps({"type": "message", "id": "p1", "text": "I want to talk to a human agent"}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if frame["type"] == "state" and frame["state"] == "queued":
            return ws, frame


async def test_ghost_chats_leave_the_queue_and_escalations_are_limited_per_ip(srv):
    bystander = await Bystander.open(srv)
    ghost_ip = fresh_ip()
    _, _, ratio, seen = await bystander.slowdown_during("ghosts", srv, ghost_ip, 4)
    assert seen["queued"] == 4 and seen["not_queued"] >= 1  # 4 per IP per hour, here
    assert ratio < MAX_SLOWDOWN
    # The ghosts are gone after the grace period (1 s here); a real visitor is first in line.
    for _ in range(50):
        if queued_total(srv) == 0:
            break
        await asyncio.sleep(0.1)
    assert queued_total(srv) == 0
    ws, state = await ask_for_a_person(srv, fresh_ip())
    assert state["position"] == 1
    # What a visitor writes while waiting is not lost when they leave: it becomes a ticket.
    await ws.send(json.dumps({"type": "message", "id": "p2", "text": "Please call me back"}))
    await asyncio.sleep(0.3)
    await ws.close()
    await asyncio.sleep(2.0)
    import sqlite3
    db = sqlite3.connect(srv.data_dir / "chat.sqlite3")
    assert db.execute("SELECT count(*) FROM handoff_tickets WHERE text LIKE '%call me back%'"
                      ).fetchone()[0] == 1
    outcomes = [o for (o,) in db.execute("SELECT outcome FROM handoff_chats")]
    assert outcomes.count("visitor_gone") == 4 and "ticket" in outcomes
    db.close()
    assert queued_total(srv) == 0
    await bystander.close()


# 6. Smaller findings, end to end --------------------------------------------------------------

async def test_the_old_tab_loses_the_conversation_after_continue_on_phone(srv):
    ip = fresh_ip()
    async with connect(srv.ws_url, additional_headers=via(ip)) as tab, \
            connect(srv.ws_url, additional_headers=via(ip)) as phone:
        await tab.send(json.dumps({"type": "hello", "session": None, "lang": "en", "last_seq": 0}))
        await tab.send('{"type":"transfer_request"}')
        token = None
        while token is None:
            frame = json.loads(await tab.recv())
            token = frame.get("token") if frame["type"] == "transfer" else None
        await phone.send(json.dumps({"type": "hello", "transfer": token, "last_seq": 0,
                                     "channel": "mobile"}))
        while json.loads(await tab.recv())["type"] != "moved":
            pass
        await tab.send(json.dumps({"type": "message", "id": "after-move", "text": "still here?"}))
        refusal = json.loads(await asyncio.wait_for(tab.recv(), 10))
        assert refusal["type"] == "error" and refusal["code"] == "hello_required"
        # The phone says something; the old tab must not see it.
        await phone.send(json.dumps({"type": "message", "id": "on-phone", "text": "secret"}))
        await asyncio.sleep(0.5)
        await tab.send('{"type":"ping"}')
        while True:
            frame = json.loads(await asyncio.wait_for(tab.recv(), 10))
            assert frame.get("text") != "secret" and frame["type"] not in ("visitor", "reply")
            if frame["type"] == "pong":
                break


async def test_a_disabled_agents_idle_console_gets_no_more_pushes(srv):
    add_agent(srv.data_dir, "leaver")
    async with connect(srv.agent_ws_url, additional_headers=via(fresh_ip())) as console:
        await console.send(json.dumps({"type": "login", "username": "leaver", "password": PASSWORD}))
        while json.loads(await console.recv())["type"] != "queues":
            pass
        from handoff.store import HandoffStore
        store = HandoffStore(srv.data_dir / "chat.sqlite3")
        store.set_disabled("leaver", True)
        store.close()
        ws, _ = await ask_for_a_person(srv, fresh_ip())  # a change every console would be told
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                frame = json.loads(await asyncio.wait_for(console.recv(), 10))
                assert frame["type"] not in ("queues", "queues_delta", "overview"), frame
        assert closed.value.rcvd.code == 4401
        await ws.close()


# Malformed frames and the error code each gets (also sent through nginx to two nodes).
NASTY_VISITOR_FRAMES = {
    '{"type":"hello","last_seq":9223372036854775808}': "bad_field",
    '{"type":"hello","session":"\\ud800"}': "bad_field",
    '{"type":"feedback","seq":99999999999999999999,"value":"up"}': "bad_field",
    '{"type":"message","id":"a","text":"x\\udfff"}': "bad_field",
    '{"type":' + "[" * 5000 + "]" * 5000 + "}": "bad_json",
}
NASTY_AGENT_FRAMES = {
    '{"type":' + "[" * 5000 + "]" * 5000 + "}": "bad_json",
    '{"type":["login"]}': "unknown_type",
    '{"type":"claim","chat":9223372036854775808}': "bad_field",
    '{"type":"auth","token":"\\ud800"}': "bad_field",
}


async def test_malformed_frames_get_clear_refusals_and_the_socket_stays_usable(srv):
    async with connect(srv.ws_url, additional_headers=via(fresh_ip())) as ws:
        await ws.send(json.dumps({"type": "hello", "session": None, "last_seq": 0}))
        for raw, code in NASTY_VISITOR_FRAMES.items():
            await ws.send(raw)
            while (frame := json.loads(await ws.recv()))["type"] != "error":
                pass
            assert frame["code"] == code, (raw[:60], frame)
        await ws.send(json.dumps({"type": "message", "id": "ok", "text": "\ufeffhello\u00ad\u061c"}))
        while (frame := json.loads(await ws.recv()))["type"] != "visitor":
            pass
        assert frame["text"] == "hello"
    async with connect(srv.agent_ws_url, additional_headers=via(fresh_ip())) as ws:
        for raw, code in NASTY_AGENT_FRAMES.items():
            await ws.send(raw)
            frame = json.loads(await ws.recv())
            assert frame["type"] == "error" and frame["code"] == code, (raw[:60], frame)
        await ws.send('{"type":"ping"}')
        assert json.loads(await ws.recv())["type"] == "pong"
    assert "Traceback" not in srv.log.read_text()

"""/api/records/lookup and /api/documents/verify on a real server: a holder's record, the same
"not matched" for a wrong passport and a number that does not exist, 429 with Retry-After once
an address is locked (behind a trusted proxy, per forwarded address), the HTTP adapter against
it, an e-document checked as genuine, tampered and (after the operator's CLI) revoked, and no
passport number in the server's log."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
from datetime import date

import httpx
import pytest

from bot.settings import Settings
from services.documents import Documents
from services.http_adapter import HttpRecords
from services.record_store import EmbeddedRecords
from services.records import Identity, Locked, NotMatched, Record, Requester
from services.signing import signing_key
from storage.backends import open_database

PROGRESS = {"kind": "application", "number": "A202603020017", "passport": "XA1234567",
            "birth": "1988-04-12"}
PASSPORT = Identity(number="900000198501010017", passport="XB2468013",
                    birth=date(1985, 1, 1))


@pytest.fixture(scope="module")
def records_server(start_module_server):
    # The test client is the trusted proxy: each test names its own visitor's address.
    return start_module_server(in_process=True, CHAT_TRUSTED_PROXIES='["127.0.0.1/32"]',
                               CHAT_LOOKUP_FAILURES_PER_SESSION="3",
                               CHAT_LOOKUP_FAILURES_PER_IP="4")


def look_up(server, body: dict, ip: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/records/lookup", content=json.dumps(body), timeout=10,
                      headers={"Content-Type": "application/json", "X-Forwarded-For": ip})


def test_a_holder_sees_the_record_and_a_stranger_learns_nothing(records_server, caplog):
    caplog.set_level(logging.DEBUG)
    found = look_up(records_server, PROGRESS, "198.51.100.10")
    assert found.status_code == 200, found.text
    record = found.json()
    assert record["status"] == "material_needed" and record["holder"] == "Jonas DEMOSSON"
    assert [s["status"] for s in record["history"]][-1] == "material_needed"
    # Lower case and spaces are what people type: the same record.
    again = look_up(records_server, {**PROGRESS, "passport": " xa1234567 "}, "198.51.100.10")
    assert again.status_code == 200
    wrong = look_up(records_server, {**PROGRESS, "passport": "XA7654321"}, "198.51.100.11")
    unknown = look_up(records_server, {**PROGRESS, "number": "A209912319999"}, "198.51.100.12")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json() == {"error": "not_matched",
                                              "detail": {"attempts_left": 2}}
    # Everything logged, at DEBUG (websockets logs each request's head then): no identity data.
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "/api/records/lookup" in logged
    assert "XA1234567" not in logged.upper() and "1988-04-12" not in logged


def test_bad_input_is_a_clear_400(records_server):
    bad = look_up(records_server, {**PROGRESS, "number": "12", "birth": "1988-13-01"},
                  "198.51.100.20")
    assert bad.status_code == 400
    assert {d["field"] for d in bad.json()["detail"]} == {"number", "birth"}
    as_query = httpx.get(f"{records_server.url}/api/records/lookup?passport=XA1234567")
    assert as_query.status_code == 405 and as_query.headers["Allow"] == "POST"


def test_an_address_is_locked_with_retry_after(records_server):
    ip = "198.51.100.30"
    answers = [look_up(records_server, {**PROGRESS, "passport": "XA0000000",
                                        "conversation": f"c-{n}"}, ip) for n in range(4)]
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    locked = answers[-1]
    assert locked.json()["error"] == "locked" and 800 < int(locked.headers["Retry-After"]) <= 900
    # Even the right details wait now; another visitor behind the same proxy does not.
    assert look_up(records_server, PROGRESS, ip).status_code == 429
    assert look_up(records_server, PROGRESS, "198.51.100.31").status_code == 200


def test_the_http_adapter_against_our_server(records_server):
    remote = HttpRecords(records_server.url)
    me = Requester(session="chat-session-1", ip="198.51.100.40")
    identity = Identity(number="A202603020017", passport="XA1234567",
                        birth=date(1988, 4, 12))
    found = remote.look_up("application", identity, me, time.time())
    assert isinstance(found, Record) and found.status == "material_needed"
    wrong = identity.model_copy(update={"passport": "XA7654320"})
    assert remote.look_up("application", wrong, me, time.time()) == NotMatched(attempts_left=2)
    remote.look_up("application", wrong, me, time.time())
    # The third failure in this conversation locks it; the visitor's address is the forwarded one.
    assert isinstance(remote.look_up("application", wrong, me, time.time()), Locked)
    other = Requester(session="chat-session-2", ip="198.51.100.40")
    assert isinstance(remote.look_up("application", identity, other, time.time()), Record)
    remote.close()


def issued_document(server) -> tuple[str, bytes]:
    """A passport e-document issued on the server's database, downloaded over HTTP."""
    settings = Settings(data_dir=server.data_dir)
    db = open_database(settings.database)
    try:
        record = EmbeddedRecords(db, settings).look_up(
            "passport", PASSPORT, Requester(session="doc", ip="198.51.100.50"), time.time())
        assert isinstance(record, Record)
        issued = Documents(db, signing_key(server.data_dir)).issue(
            record, "doc", server.url, time.time(), 600)
    finally:
        db.close()
    pdf = httpx.get(f"{server.url}/documents/{issued.token}")
    assert pdf.status_code == 200
    return issued.code, pdf.content


def verify(server, pdf: bytes, content_type: str = "application/pdf") -> httpx.Response:
    return httpx.post(f"{server.url}/api/documents/verify", content=pdf, timeout=10,
                      headers={"Content-Type": content_type})


def too_large(server, length: int) -> str:
    """The answer to a PDF declared longer than the route reads: refused on its head, before
    the body is sent (a client that sends it anyway finds the connection closed)."""
    head = (f"POST /api/documents/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf"
            f"\r\nContent-Length: {length}\r\n\r\n%PDF").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        return sock.makefile("rb").read().decode()


def test_an_e_document_is_genuine_tampered_then_revoked(records_server):
    code, pdf = issued_document(records_server)
    assert len(pdf) > 16 * 1024  # why the route reads more than the API's 16 KiB
    genuine = verify(records_server, pdf)
    assert genuine.status_code == 200, genuine.text
    assert genuine.json()["status"] == "genuine" and genuine.json()["code"] == code
    assert genuine.json()["summary"]["passport"] == "XB*****13"
    changed = bytearray(pdf)
    changed[len(pdf) // 2] ^= 0x01  # one bit of the signed bytes
    tampered = verify(records_server, bytes(changed))
    assert tampered.json()["status"] == "tampered"
    assert verify(records_server, b"%PDF-1.4 not ours").json()["status"] == "unknown"
    assert verify(records_server, pdf, "application/json").status_code == 415
    assert too_large(records_server, 1024 * 1024 + 1).startswith("HTTP/1.1 413")
    cli = [sys.executable, "-m", "bot", "documents", "revoke", code.lower(),
           "--data-dir", str(records_server.data_dir)]
    done = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and f"{code} revoked" in done.stdout
    revoked = verify(records_server, pdf).json()
    assert revoked["status"] == "revoked" and revoked["revoked_at"] is not None
    unknown = subprocess.run(cli[:5] + ["AAAAAAAAAAAAAAAA"] + cli[6:], capture_output=True,
                             text=True, timeout=60)
    assert unknown.returncode == 1 and "no e-document" in unknown.stderr


def test_the_openapi_document_lists_the_look_ups(records_server):
    spec = httpx.get(f"{records_server.url}/api/openapi.json").json()
    lookup = spec["paths"]["/api/records/lookup"]["post"]
    assert set(lookup["responses"]) >= {"200", "404", "429"}
    assert {"LookupRequest", "Record", "Verdict"} <= set(spec["components"]["schemas"])
    assert "application/pdf" in spec["paths"]["/api/documents/verify"]["post"]["requestBody"][
        "content"]


async def test_the_chat_asks_a_remote_records_server(records_server, start_server, ws_client):
    """CHAT_RECORDS_URL: a chat server without records of its own answers a visitor's look-up
    from the remote one (our in-process server here), in the same words."""
    chat = start_server(CHAT_RECORDS_URL=records_server.url, CHAT_DEMO_RECORDS="false")
    async with ws_client(chat.ws_url) as c:
        await c.hello(lang="en")
        await c.ask("Can you check the progress of my application A202603020017?", "r1")
        result = await c.ask("XA1234567 12 April 1988", "r2")
        assert result["meta"]["kind"] == "lookup_result", result
        assert "Status: Additional material needed" in result["text"]
        failed = await c.ask("Can you check the progress of my application A202602110042?", "r3")
        failed = await c.ask("XT7654320 1975-11-30", "r4")
        assert failed["meta"]["kind"] == "lookup_failed"


def test_the_look_up_api_on_postgresql(postgres_url, start_server):
    # postgres_url first: its database is dropped after the server stopped.
    server = start_server(in_process=True, CHAT_DATABASE_URL=postgres_url,
                          CHAT_LOOKUP_FAILURES_PER_IP="2")
    assert look_up(server, PROGRESS, "198.51.100.60").status_code == 200
    wrong = {**PROGRESS, "birth": "1988-04-13"}
    assert look_up(server, wrong, "198.51.100.61").json()["detail"] == {"attempts_left": 1}
    locked = look_up(server, wrong, "198.51.100.61")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    # Without CHAT_TRUSTED_PROXIES a client's own X-Forwarded-For changes nothing: still locked.
    assert look_up(server, PROGRESS, "198.51.100.62").status_code == 429


def test_an_assisted_look_up_over_the_api_is_recorded_with_its_helper(records_server):
    from services.inquiries import Inquiries

    body = {**PROGRESS, "conversation": "bridge-chat-7",
            "assisted": {"relationship": "mother", "helper_name": "Wang Xiaoming"}}
    assert look_up(records_server, body, "198.51.100.70").status_code == 200
    bad = look_up(records_server, {**body, "assisted": {"relationship": ""}}, "198.51.100.70")
    assert bad.status_code == 400
    db = open_database(records_server.data_dir / "chat.sqlite3")
    try:
        recorded = Inquiries(db).of_session("bridge-chat-7")
    finally:
        db.close()
    assert [(i.outcome, i.number_masked) for i in recorded] == [("matched", "A20*******017")]
    assert recorded[0].assisted is not None and recorded[0].assisted.helper_name == "Wang Xiaoming"


def test_the_http_adapter_forwards_an_assisted_look_up(records_server):
    """HttpRecords (CHAT_RECORDS_URL) sends the relationship and the helper with the look-up: the
    remote server records them with its inquiry, as the local backend records its own."""
    from services.appointments import Assisted
    from services.inquiries import Inquiries

    remote = HttpRecords(records_server.url)
    identity = Identity(number=PROGRESS["number"], passport=PROGRESS["passport"],
                        birth=date(1988, 4, 12))
    helped = Assisted(relationship="father", helper_name="Li Na")
    try:
        found = remote.look_up("application", identity, Requester(session="bridge-chat-8",
                               ip="198.51.100.80"), time.time(), helped)
        alone = remote.look_up("application", identity, Requester(session="bridge-chat-9",
                               ip="198.51.100.81"), time.time())
    finally:
        remote.close()
    assert isinstance(found, Record) and isinstance(alone, Record)
    db = open_database(records_server.data_dir / "chat.sqlite3")
    try:
        inquiries = Inquiries(db)
        assert [i.assisted for i in inquiries.of_session("bridge-chat-8")] == [helped]
        assert [i.assisted for i in inquiries.of_session("bridge-chat-9")] == [None]
    finally:
        db.close()


async def test_a_chat_on_a_remote_records_server_forwards_the_helper(records_server, start_server,
                                                                     ws_client):
    """A visitor's assisted look-up in a chat whose records are remote (CHAT_RECORDS_URL): the
    remote server's inquiries hold the relationship and the helper, as the chat's own do."""
    from services.inquiries import Inquiries

    chat = start_server(CHAT_RECORDS_URL=records_server.url, CHAT_DEMO_RECORDS="false")
    async with ws_client(chat.ws_url) as c:
        await c.hello(lang="zh")
        await c.ask("查询我母亲的签证进度", "m1")
        await c.ask("A202603020017 XA1234567 1988-04-12", "m2")
        result = await c.ask("王小明", "m3")
        assert result["meta"]["kind"] == "lookup_result", result
        assert "王小明为母亲代为查询" in result["text"]
    for target in (records_server.data_dir, chat.data_dir):
        db = open_database(target / "chat.sqlite3")
        try:
            sessions = [r["session_id"] for r in db.rows(
                "SELECT DISTINCT session_id FROM service_inquiries WHERE helper_name = ?",
                ("王小明",))]
            helped = [i.assisted for s in sessions for i in Inquiries(db).of_session(s)]
        finally:
            db.close()
        assert [(a.relationship, a.helper_name) for a in helped if a] == [("mother", "王小明")]

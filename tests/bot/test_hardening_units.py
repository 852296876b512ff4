"""Issue 13, item 5's smaller findings, at the unit level: strict parsing, invisible
characters, log redaction (the end-to-end attacks are in test_abuse.py)."""

import json

import pytest

from bot import protocol as p
from bot.logs import redact
from handoff.agent_protocol import AgentProtocolError, parse
from runtime.ratelimit import IpLimits


@pytest.mark.parametrize("frame, field", [
    ({"type": "hello", "last_seq": 2**63}, "last_seq"),
    ({"type": "feedback", "seq": 2**63, "value": "up"}, "seq"),
    ({"type": "feedback", "seq": -(2**64), "value": "up"}, "seq"),
    ({"type": "hello", "session": "\ud800abc"}, "session"),
    ({"type": "message", "id": "a", "text": "hi \udc00"}, "text"),
    ({"type": "hello", "session": "x" * 300}, "session"),
])
def test_visitor_frames_out_of_range_or_invalid_text_are_bad_fields(frame, field):
    with pytest.raises(p.ProtocolError) as err:
        p.parse_frame(json.dumps(frame))
    assert err.value.code == "bad_field" and err.value.extra["field"] == field


def test_invisible_characters_are_stripped():
    message = p.parse_frame(json.dumps({"type": "message", "id": "a",
                                        "text": "\ufeff签\u00ad证\u061c延期\u2060"}))
    assert message.text == "签证延期"


@pytest.mark.parametrize("raw, code", [
    ("[" * 5000 + "]" * 5000, "bad_json"),
    ('{"type": ' + "[" * 5000 + "]" * 5000 + "}", "bad_json"),
    (json.dumps({"type": ["login"]}), "unknown_type"),
    (json.dumps({"type": {"a": 1}}), "unknown_type"),
    (json.dumps({"type": "claim", "chat": 2**63}), "bad_field"),
    (json.dumps({"type": "auth", "token": "\ud800" * 3}), "bad_field"),
    (json.dumps({"type": "login", "username": "u" * 65, "password": "x"}), "too_long"),
    (json.dumps({"type": "login", "username": "u", "password": "p" * 1025}), "too_long"),
])
def test_agent_frames_deep_nested_non_string_type_huge_ints_are_refused(raw, code):
    with pytest.raises(AgentProtocolError) as err:
        parse(raw)
    assert err.value.code == code


@pytest.mark.parametrize("text", [
    "my ID is 11010519491231002X", "id 11010519491231002x.", "write to li.ming+visa@example.com.cn",
    "call 138 1234 5678", "call +86-139-1234-5678", "call 13912345678", "passport E12345678",
])
def test_log_redaction_covers_ids_ending_in_x_emails_and_spaced_phones(text):
    out = redact(text)
    assert "[REDACTED]" in out and not any(ch.isdigit() for ch in out.split("[REDACTED]")[-1][:1])
    assert "@" not in out and "1234" not in out and "002X" not in out.upper()


def test_log_redaction_keeps_times_and_small_numbers():
    assert redact("2026-12-06 02:40:00,123 seq 42") == "2026-12-06 02:40:00,123 seq 42"


def test_ip_bucket_outlives_reconnects_until_refilled():
    limits = IpLimits(rate=10, burst=20, max_connections=5)
    limits.connect("a")
    for _ in range(20):
        assert limits.take("a", 100.0) == 0
    limits.disconnect("a", 100.0)
    limits.connect("a")  # reconnecting: the same, empty bucket
    assert limits.take("a", 100.0) > 0
    limits.disconnect("a", 100.0)
    limits.purge(100.5)
    assert "a" in limits.buckets  # half refilled: kept
    limits.purge(102.1)
    assert "a" not in limits.buckets  # refilled: forgotten


def test_readyz_says_disk_full_when_free_space_is_below_the_minimum(tmp_path):
    from bot.server import ChatServer
    from bot.settings import Settings

    server = ChatServer(Settings(data_dir=tmp_path, min_free_disk_mb=10**9))
    server.ready.set()
    assert server.readiness() == (False, "disk full")
    server.settings = Settings(data_dir=tmp_path)
    assert server.readiness() == (True, "ready")
    server.qr_offload.shutdown()
    server.store.close()


def test_a_server_uses_the_parts_it_is_given(tmp_path):
    from http import HTTPStatus

    from websockets.datastructures import Headers
    from websockets.http11 import Request

    from bot.server import ChatServer
    from bot.settings import Settings
    from bot.store import Store

    settings = Settings(data_dir=tmp_path)
    store = Store(settings.store_path, session_ttl_s=settings.session_ttl_s)
    limits = IpLimits(1.0, 1, 10)
    assert limits.take("203.0.113.7", 0.0) == 0  # the given limits' only token is spent
    server = ChatServer(settings, store=store, ip_limits=limits)
    assert server.hub.store is store
    refusal = server.admission.admit("203.0.113.7", Request("/ws", Headers()), 0.0)
    assert refusal is not None and refusal.status == HTTPStatus.TOO_MANY_REQUESTS
    server.qr_offload.shutdown()
    store.close()


def test_csp_has_no_inline_script_and_configurable_frame_ancestors():
    from bot.http_edge import content_security_policy

    csp = content_security_policy(["'self'"], None)
    assert "script-src 'self';" in csp and "frame-ancestors 'self'" in csp
    assert "frame-ancestors https://portal.example.gov.cn" in content_security_policy(
        ["https://portal.example.gov.cn"], None)
    assert content_security_policy([], None).endswith("frame-ancestors 'none'")
    assert "connect-src 'self' wss://chat.example.cn" in content_security_policy(
        ["'self'"], "https://chat.example.cn/")

"""Agent frame validation: clear errors for bad input."""

import json

import pytest

from handoff.agent_protocol import AgentProtocolError, Claim, Send, Transfer, parse


def err(raw):
    with pytest.raises(AgentProtocolError) as e:
        parse(raw)
    return e.value


def test_valid_frames():
    assert parse('{"type":"claim","chat":3}') == Claim(chat=3)
    assert parse(json.dumps({"type": "send", "chat": 1, "text": " 你好\x00 ", "id": "a"})) == Send(
        chat=1, text="你好", id="a")
    assert parse('{"type":"send","chat":1,"text":"hi"}') == Send(chat=1, text="hi", id=None)


def test_blank_note_and_query_are_left_out():
    assert parse('{"type":"transfer","chat":1,"queue":"q","note":"  "}') == Transfer(chat=1, queue="q")
    assert parse('{"type":"assist","chat":1,"query":" "}').query is None


@pytest.mark.parametrize("text", ["a\u200bb", "\u202eab", "\ufeffab", "a\u00adb", "\u061cab"])
def test_invisible_characters_are_removed_as_for_visitors(text):
    # The same cleaner as the visitor protocol: what an agent sends cannot hide or reorder text.
    assert parse(json.dumps({"type": "send", "chat": 1, "text": text})).text == "ab"
    assert parse(json.dumps({"type": "note", "chat": 1, "text": text})).text == "ab"


@pytest.mark.parametrize("raw,code,field", [
    ("nope", "bad_json", None),
    ("[1]", "bad_json", None),
    ('{"type":"steal"}', "unknown_type", "type"),
    ('{"type":"claim"}', "bad_field", "chat"),
    ('{"type":"claim","chat":"3"}', "bad_field", "chat"),
    ('{"type":"claim","chat":true}', "bad_field", "chat"),
    ('{"type":"send","chat":1,"text":"   "}', "empty", "text"),
    ('{"type":"send","chat":1,"text":"' + "x" * 2001 + '"}', "too_long", "text"),
    ('{"type":"transfer","chat":1}', "bad_field", "queue"),
    ('{"type":"transfer","chat":1,"queue":"a","agent":"b"}', "bad_field", "queue"),
])
def test_bad_frames(raw, code, field):
    e = err(raw)
    assert (e.code, e.field) == (code, field)
    assert e.frame().to_wire() == {"type": "error", "code": code, "message": e.message,
                                   **({"field": field} if field else {})}


def test_binary_refused():
    assert err(b"\x00").code == "binary_frame"

"""Agent frame validation: clear errors for bad input."""

import json

import pytest

from handoff.agent_protocol import AgentProtocolError, parse


def err(raw):
    with pytest.raises(AgentProtocolError) as e:
        parse(raw)
    return e.value


def test_valid_frames():
    assert parse('{"type":"claim","chat":3}') == {"type": "claim", "chat": 3}
    f = parse(json.dumps({"type": "send", "chat": 1, "text": " 你好\x00 ", "id": "a"}))
    assert f["text"] == "你好"


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
    assert e.frame()["type"] == "error"


def test_binary_refused():
    assert err(b"\x00").code == "binary_frame"

"""The sans-I/O protocol core: every bad frame becomes a clear, typed error."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import protocol as p


def frame(**fields) -> str:
    return json.dumps(fields)


def code_of(data) -> str:
    with pytest.raises(p.ProtocolError) as err:
        p.parse_frame(data)
    return err.value.code


def test_hello_defaults():
    hello = p.parse_frame(frame(type="hello"))
    assert hello == p.Hello(session=None, lang=None, page_lang=None, last_seq=0, channel="web",
                            transfer=None)


def test_message_text_is_cleaned_of_control_characters():
    msg = p.parse_frame(frame(type="message", id="a1", text="\u202e签证\x00延期\x07\n"))
    assert msg == p.Message(id="a1", text="签证延期")


@pytest.mark.parametrize("data, code", [
    ("not json", "bad_json"),
    ("[1, 2]", "bad_json"),
    (b"\x00\x01", "binary_frame"),
    (frame(type="dance"), "unknown_type"),
    (frame(text="no type"), "unknown_type"),
    (frame(type="message", id="a", text=5), "bad_field"),
    (frame(type="message", id="a b", text="hi"), "bad_field"),
    (frame(type="message", id="a", text="x" * 2001), "too_long"),
    (frame(type="message", id="a", text=" \x00 "), "empty"),
    (frame(type="hello", last_seq=-1), "bad_field"),
    (frame(type="hello", last_seq=True), "bad_field"),
    (frame(type="hello", lang="fr"), "bad_field"),
    (frame(type="rating", score=6), "bad_field"),
    (frame(type="feedback", seq=3, value="meh"), "bad_field"),
])
def test_bad_frames(data, code):
    assert code_of(data) == code


def test_too_long_error_names_the_message_and_limit():
    with pytest.raises(p.ProtocolError) as err:
        p.parse_frame(frame(type="message", id="m-9", text="长" * 2001))
    assert err.value.frame().to_wire() == {
        "type": "error", "code": "too_long", "message": "Text is longer than 2000 characters.",
        "id": "m-9", "limit": 2000}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["type", "id", "text", "session", "lang", "last_seq",
                                        "score", "seq", "value", "on", "channel", "comment"]),
                       json_values, max_size=6))
def test_any_json_object_parses_or_fails_cleanly(fields):
    try:
        p.parse_frame(json.dumps(fields))
    except p.ProtocolError as err:
        assert err.code in {"bad_json", "unknown_type", "bad_field", "too_long", "empty"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_or_text_parse_or_fail_cleanly(data):
    try:
        p.parse_frame(data)
    except p.ProtocolError:
        pass

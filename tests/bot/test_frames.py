"""The wire form of every frame the server sends to visitors (docs/protocol.md): the keys, their
order, their values, and which optional fields are left out."""

import json

import pytest

from bot import frames as f
from bot.protocol import ProtocolError, dumps
from runtime.frames import Error, Pong

SOURCE = {"title": "出境入境管理法", "url": None, "type": "law", "ref": "第二十九条"}
QUICK = [{"label": "办理地点", "value": "在哪里办理签证延期"}]

CASES = [
    (f.Welcome(session="tok", lang="zh", locked=False, state="bot", last_seq=7,
               expires_at="2026-11-22T10:00:00Z"),
     '{"type":"welcome","session":"tok","lang":"zh","locked":false,"state":"bot","last_seq":7,'
     '"expires_at":"2026-11-22T10:00:00Z"}'),
    (f.Welcome(session="tok", lang="en", locked=True, state="queued", last_seq=0,
               expires_at="2026-11-22T10:00:00Z", starting=True),
     '{"type":"welcome","session":"tok","lang":"en","locked":true,"state":"queued","last_seq":0,'
     '"expires_at":"2026-11-22T10:00:00Z","starting":true}'),
    (f.Ready(), '{"type":"ready"}'),
    (f.Ack(id="c-1", seq=8), '{"type":"ack","id":"c-1","seq":8}'),
    (f.Visitor(id="c-1", text="签证过期了怎么办"),
     '{"type":"visitor","id":"c-1","text":"签证过期了怎么办"}'),
    (f.Visitor(id="c-1", text="hi", meta={"intent": "greet"}),
     '{"type":"visitor","id":"c-1","text":"hi","meta":{"intent":"greet"}}'),
    (f.Reply(sender="system", text="已转人工", lang="zh", script="zh-Hans", sources=[],
             quick_replies=[], meta={"kind": "handoff"}),
     '{"type":"reply","from":"system","text":"已转人工","lang":"zh","script":"zh-Hans","sources":[],'
     '"quick_replies":[],"meta":{"kind":"handoff"}}'),
    (f.Reply(sender="bot", text="全文", lang="zh", script="zh-Hans", title="签证延期", short="短",
             details="", sources=[SOURCE], quick_replies=QUICK,
             meta={"kind": "answer", "entry": "visa-extension", "as_of": None}),
     '{"type":"reply","from":"bot","text":"全文","lang":"zh","script":"zh-Hans","title":"签证延期",'
     '"short":"短","details":"","sources":[{"title":"出境入境管理法","url":null,"type":"law",'
     '"ref":"第二十九条"}],"quick_replies":[{"label":"办理地点","value":"在哪里办理签证延期"}],'
     '"meta":{"kind":"answer","entry":"visa-extension","as_of":null}}'),
    (f.State(state="bot"), '{"type":"state","state":"bot"}'),
    (f.State(state="agent", agent="李明"), '{"type":"state","state":"agent","agent":"李明"}'),
    (f.State(state="closed", rating=True), '{"type":"state","state":"closed","rating":true}'),
    (f.Queued(queue="exit-entry:shanghai", position=2, eta_s=240),
     '{"type":"state","state":"queued","queue":"exit-entry:shanghai","position":2,"eta_s":240}'),
    (f.Queued(queue="nia-service-center", position=1, eta_s=None),
     '{"type":"state","state":"queued","queue":"nia-service-center","position":1,"eta_s":null}'),
    (f.Typing(sender="bot", on=True), '{"type":"typing","from":"bot","on":true}'),
    (f.Typing(sender="agent", on=False), '{"type":"typing","from":"agent","on":false}'),
    (f.Lang(lang="en", locked=True), '{"type":"lang","lang":"en","locked":true}'),
    (f.Lang(lang=None, locked=False), '{"type":"lang","lang":null,"locked":false}'),
    (f.Rated(score=5), '{"type":"rated","score":5}'),
    (f.Transfer(token="T", url="http://h/m?t=T", qr="/qr.svg?t=T", expires_in=120),
     '{"type":"transfer","token":"T","url":"http://h/m?t=T","qr":"/qr.svg?t=T","expires_in":120}'),
    (f.Moved(channel="mobile"), '{"type":"moved","channel":"mobile"}'),
    (Pong(), '{"type":"pong"}'),
    (Error(code="hello_required", message="Send a hello frame first."),
     '{"type":"error","code":"hello_required","message":"Send a hello frame first."}'),
    (Error(code="bad_field", message="Field 'lang' has the wrong type.", field="lang"),
     '{"type":"error","code":"bad_field","message":"Field \'lang\' has the wrong type.","field":"lang"}'),
    (Error(code="too_long", message="Too long.", id="c-1", limit=2000),
     '{"type":"error","code":"too_long","message":"Too long.","id":"c-1","limit":2000}'),
    (Error(code="rate_limited", message="Slow down.", retry_after=0.4, id="c-1"),
     '{"type":"error","code":"rate_limited","message":"Slow down.","retry_after":0.4,"id":"c-1"}'),
]


@pytest.mark.parametrize("frame,wire", CASES, ids=lambda c: getattr(c, "type", None))
def test_wire_form(frame, wire):
    assert dumps(frame.to_wire()) == wire


def test_every_visitor_frame_is_in_the_table():
    tested = {type(frame) for frame, _ in CASES}
    defined = {cls for cls in vars(f).values()
               if isinstance(cls, type) and issubclass(cls, f.Frame) and cls is not f.Frame}
    assert defined <= tested


@pytest.mark.parametrize("error,wire", [
    (ProtocolError("unknown_session", "Expired."),
     {"type": "error", "code": "unknown_session", "message": "Expired."}),
    (ProtocolError("rate_limited", "Slow down.", retry_after=1.5, id="m-1"),
     {"type": "error", "code": "rate_limited", "message": "Slow down.", "retry_after": 1.5, "id": "m-1"}),
])
def test_protocol_errors_become_error_frames(error, wire):
    assert json.loads(dumps(error.frame().to_wire())) == wire
    assert list(error.frame().to_wire()) == list(wire)  # the same key order

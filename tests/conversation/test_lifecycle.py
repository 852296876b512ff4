"""Every event against every reachable conversation state: the pure core needs no server."""

from __future__ import annotations

import itertools

import pytest

from conversation.lifecycle import (
    Claim,
    Close,
    Conversation,
    EndChat,
    Escalate,
    HandBack,
    Holder,
    LeaveMessage,
    LeaveQueue,
    QueuesChanged,
    Reassign,
    Refused,
    Reopen,
    Requeue,
    Resolve,
    TakeTicket,
    TellVisitor,
    Transition,
    apply,
)

STATES = [
    Conversation(),
    Conversation(Holder.QUEUED, queue="en"),
    Conversation(Holder.QUEUED, queue="en", leaving_message=True),
    Conversation(Holder.AGENT, queue="en", agent="li"),
    Conversation(Holder.CLOSED),
]
EVENTS = [Escalate("en"), Escalate("zh"), Claim("li"), Claim("wang"), Requeue("zh"),
          Reassign("wang"), Reassign("li"), LeaveMessage(), TakeTicket(), TakeTicket(True),
          LeaveQueue(), HandBack(), Resolve(), Close(), Reopen()]

# (holder before, event type) -> holder after; every pair not listed is refused.
ALLOWED = {
    (Holder.BOT, Escalate): Holder.QUEUED,
    (Holder.BOT, Close): Holder.CLOSED,
    (Holder.QUEUED, Claim): Holder.AGENT,
    (Holder.QUEUED, LeaveMessage): Holder.QUEUED,
    (Holder.QUEUED, TakeTicket): Holder.BOT,
    (Holder.QUEUED, LeaveQueue): Holder.BOT,
    (Holder.QUEUED, Close): Holder.CLOSED,
    (Holder.AGENT, Requeue): Holder.QUEUED,
    (Holder.AGENT, Reassign): Holder.AGENT,
    (Holder.AGENT, HandBack): Holder.BOT,
    (Holder.AGENT, Resolve): Holder.CLOSED,
    (Holder.AGENT, Close): Holder.CLOSED,
    (Holder.CLOSED, Reopen): Holder.BOT,
}


@pytest.mark.parametrize(("conv", "event"), list(itertools.product(STATES, EVENTS)))
def test_every_event_in_every_state(conv, event):
    result = apply(conv, event)
    expected = ALLOWED.get((conv.holder, type(event)))
    same_agent = isinstance(event, Reassign) and event.agent == conv.agent
    again = isinstance(event, LeaveMessage) and conv.leaving_message
    if expected is None or same_agent or again:
        assert isinstance(result, Refused)
        assert result.conversation == conv and result.event == event
        if expected is None:  # the reason names the event and the holder that refuses it
            assert type(event).__name__ in result.reason and conv.holder in result.reason
        return
    assert isinstance(result, Transition)
    assert result.before == conv and result.after.holder == expected
    # The state frame goes out exactly when the visitor's holder (or agent/queue) changed.
    told = [e for e in result.effects if isinstance(e, TellVisitor)]
    moved = (conv.holder, conv.queue, conv.agent) != (
        result.after.holder, result.after.queue, result.after.agent)
    assert bool(told) == moved
    # Agents hear about every change that involves a queue, and only those.
    queues = [e for e in result.effects if isinstance(e, QueuesChanged)]
    involved = tuple(dict.fromkeys(q for q in (conv.queue, result.after.queue) if q))
    assert [q.queues for q in queues] == ([involved] if involved else [])
    # An episode with people ends when, and only when, the conversation leaves the human side.
    ended = [e for e in result.effects if isinstance(e, EndChat)]
    left_people = conv.holder in (Holder.QUEUED, Holder.AGENT) and result.after.holder in (Holder.BOT, Holder.CLOSED)
    assert bool(ended) == left_people


def test_a_visitor_who_waits_then_talks_then_rates():
    conv = Conversation()
    path = [Escalate("en"), Claim("li"), Reassign("wang"), Requeue("zh"), Claim("zhao"), Resolve()]
    for event in path:
        result = apply(conv, event)
        assert isinstance(result, Transition), result
        conv = result.after
    assert conv == Conversation(Holder.CLOSED)
    assert TellVisitor(Holder.CLOSED, rating=True) in result.effects
    assert EndChat("resolved") in result.effects
    assert QueuesChanged(("zh",)) in result.effects


def test_two_agents_claiming_the_same_chat_one_wins():
    queued = Conversation(Holder.QUEUED, queue="en")
    first = apply(queued, Claim("li"))
    assert isinstance(first, Transition)
    second = apply(first.after, Claim("wang"))
    assert isinstance(second, Refused)
    assert first.after.agent == "li"


@pytest.mark.parametrize(("event", "outcome"), [
    (TakeTicket(), "ticket"), (LeaveQueue(), "visitor_gone"), (Close(), "visitor_closed")])
def test_outcomes_of_a_waiting_visitor(event, outcome):
    result = apply(Conversation(Holder.QUEUED, queue="zh"), event)
    assert isinstance(result, Transition)
    assert EndChat(outcome) in result.effects


def test_leaving_a_message_keeps_the_place_and_tells_only_agents():
    result = apply(Conversation(Holder.QUEUED, queue="zh"), LeaveMessage())
    assert isinstance(result, Transition)
    assert result.after.leaving_message and result.after.queue == "zh"
    assert result.effects == (QueuesChanged(("zh",)),)


@pytest.mark.parametrize("bad", [
    dict(holder=Holder.BOT, queue="en"), dict(holder=Holder.QUEUED),
    dict(holder=Holder.QUEUED, queue="en", agent="li"), dict(holder=Holder.AGENT, queue="en"),
    dict(holder=Holder.CLOSED, agent="li"), dict(holder=Holder.BOT, leaving_message=True)])
def test_impossible_states_cannot_be_built(bad):
    with pytest.raises(ValueError):
        Conversation(**bad)

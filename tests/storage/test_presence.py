"""Which node holds a conversation's sockets (storage/presence.py), on both backends: a visitor
on node A is online for node B while A beats, and not once A stopped beating, left, or the
visitor's last socket there closed."""

from __future__ import annotations

from storage.client_limits import ClientLimits
from storage.presence import Presence

NOW = 1_780_000_000.0
LIVE_S = 10.0


def test_a_visitor_on_one_node_is_online_for_the_others_while_it_beats(db):
    presence, nodes = Presence(db), ClientLimits(db)
    nodes.heartbeat("a", NOW)
    presence.arrive("a", "s1")
    presence.arrive("a", "s1")  # a second tab on the same node: one row
    assert presence.elsewhere("b", "s1", NOW - LIVE_S)
    assert not presence.elsewhere("a", "s1", NOW - LIVE_S)  # node A asks its own sockets
    assert not presence.elsewhere("b", "s2", NOW - LIVE_S)
    # Node A went silent (killed): its visitors stop counting.
    assert not presence.elsewhere("b", "s1", NOW + 1)


def test_leaving_and_dead_nodes_clear_the_rows(db):
    presence, nodes = Presence(db), ClientLimits(db)
    for node in ("a", "b"):
        nodes.heartbeat(node, NOW)
    presence.arrive("a", "s1")
    presence.arrive("b", "s2")
    presence.leave("a", "s1")
    assert not presence.elsewhere("c", "s1", NOW - LIVE_S)
    presence.arrive("a", "s1")
    nodes.leave("a")  # node A stops
    assert not presence.elsewhere("c", "s1", NOW - LIVE_S)
    nodes.heartbeat("a", NOW)
    presence.arrive("a", "s1")
    nodes.heartbeat("b", NOW + 100)
    nodes.expire(dead_before=NOW + 50, idle_before=NOW)  # A is long dead, B is not
    assert db.value("SELECT count(*) FROM visitor_sockets") == 1
    assert presence.elsewhere("c", "s2", NOW + 100 - LIVE_S)

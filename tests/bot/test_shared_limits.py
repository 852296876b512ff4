"""Two nodes' `SharedIpLimits` on one database (both backends): an address's frames are metered
in memory while all its sockets are on one node, and by the shared bucket once it has sockets
on both, so spreading them buys nothing; a node that stops beating stops counting."""

from __future__ import annotations

import pytest

from bot.shared_limits import LIVE_S, SharedIpLimits
from storage.backends import open_database
from storage.client_limits import ClientLimits

NOW = 1_780_000_000.0
IP = "198.51.100.30"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def nodes(database_target):
    clock = Clock()
    pair = [SharedIpLimits(rate=1.0, burst=10, max_connections=4,
                           shared=ClientLimits(open_database(database_target)), clock=clock)
            for _ in range(2)]
    yield pair, clock
    for node in pair:
        node.close()


def beat(a: SharedIpLimits, b: SharedIpLimits) -> None:
    """A round of heartbeats: each node then knows the other is live."""
    for node in (a, b, a):
        node.beat()


def allowed(node: SharedIpLimits, frames: int) -> int:
    return sum(1 for _ in range(frames) if node.take(IP, NOW) == 0)


def test_sockets_on_one_node_are_metered_there(nodes):
    (a, b), _ = nodes
    a.connect(IP)
    beat(a, b)
    assert a.spread == set()
    assert allowed(a, 15) == 10  # the node's own bucket: no database write per frame
    assert a.shared.db.value("SELECT count(*) FROM client_buckets") == 0


def test_an_address_on_both_nodes_gets_one_allowance(nodes):
    (a, b), _ = nodes
    a.connect(IP)
    b.connect(IP)
    beat(a, b)
    assert a.spread == b.spread == {IP}
    assert allowed(a, 8) + allowed(b, 8) == 10
    assert a.connections_of(IP) == b.connections_of(IP) == 2


def test_a_node_that_stops_beating_stops_counting(nodes):
    (a, b), clock = nodes
    a.connect(IP)
    b.connect(IP)
    beat(a, b)
    clock.now += LIVE_S + 1  # b was killed: only a beats
    a.beat()
    assert a.connections_of(IP) == 1
    assert a.spread == set()
    b.disconnect(IP)
    a.disconnect(IP)
    assert a.connections_of(IP) == 0

"""The per-client limits the nodes share (storage/client_limits.py), on both backends: a bucket
gives its burst then one token per 1/rate seconds, also to takers racing on several
connections; sockets count only while their node beats; dead nodes and full buckets are
forgotten."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from storage.backends import open_database
from storage.client_limits import ClientLimits

NOW = 1_780_000_000.0


@pytest.fixture
def limits(database_target):
    db = open_database(database_target)
    yield ClientLimits(db)
    db.close()


def test_a_bucket_gives_its_burst_then_refills_at_its_rate(limits):
    waits = [limits.take("198.51.100.7", rate=2.0, burst=3, now=NOW) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.5)
    assert limits.take("198.51.100.7", rate=2.0, burst=3, now=NOW + 0.5) == 0.0
    # Another address has a bucket of its own.
    assert limits.take("198.51.100.8", rate=2.0, burst=3, now=NOW) == 0.0


def test_takers_on_several_connections_share_one_burst(database_target):
    connections = [ClientLimits(open_database(database_target)) for _ in range(4)]
    try:
        with ThreadPoolExecutor(4) as pool:  # one connection per thread, ten takes each
            runs = pool.map(lambda c: [c.take("203.0.113.9", rate=0.001, burst=10, now=NOW)
                                       for _ in range(10)], connections)
            waits = [w for run in runs for w in run]
    finally:
        for c in connections:
            c.db.close()
    assert sum(1 for w in waits if w == 0) == 10


def test_sockets_count_on_live_nodes_only(limits):
    limits.heartbeat("a", NOW)
    limits.heartbeat("b", NOW - 60)  # stopped beating a minute ago: killed
    limits.add_socket("a", "192.0.2.1", 1)
    limits.add_socket("a", "192.0.2.1", 1)
    limits.add_socket("b", "192.0.2.1", 1)
    assert limits.sockets("192.0.2.1", live_since=NOW - 10) == 2
    limits.add_socket("a", "192.0.2.1", -1)
    assert limits.sockets("192.0.2.1", live_since=NOW - 10) == 1
    limits.heartbeat("b", NOW)  # a node is live again once it beats
    assert limits.sockets("192.0.2.1", live_since=NOW - 10) == 2
    assert limits.spread(live_since=NOW - 10) == {"192.0.2.1"}
    limits.add_socket("a", "192.0.2.1", -1)
    assert limits.spread(live_since=NOW - 10) == set()


def test_leaving_and_expiry_forget_sockets_nodes_and_full_buckets(limits):
    limits.heartbeat("a", NOW)
    limits.heartbeat("dead", NOW - 600)
    limits.add_socket("a", "192.0.2.1", 1)
    limits.add_socket("dead", "192.0.2.2", 1)
    limits.take("192.0.2.3", rate=1.0, burst=5, now=NOW - 100)
    limits.take("192.0.2.4", rate=1.0, burst=5, now=NOW)
    limits.expire(dead_before=NOW - 60, idle_before=NOW - 5)
    assert limits.db.value("SELECT count(*) FROM client_sockets WHERE node = 'dead'") == 0
    assert limits.db.value("SELECT count(*) FROM nodes") == 1
    assert [r["ip"] for r in limits.db.rows("SELECT ip FROM client_buckets")] == ["192.0.2.4"]
    limits.leave("a")
    assert limits.sockets("192.0.2.1", live_since=0) == 0

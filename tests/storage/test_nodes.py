"""Which nodes are alive (storage/nodes.py), on both backends: a node process killed with
SIGKILL stops counting the moment its database session ends on PostgreSQL (its agents, its
visitors, its sockets), though its heartbeat is still fresh; one process on SQLite is the only
node, alive while it beats."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from storage.backends import is_postgres
from storage.client_limits import ClientLimits
from storage.consoles import AgentConsoles, ConsoleState
from storage.presence import Presence

ROOT = Path(__file__).resolve().parents[2]
LIVE_S = 10.0
ENDED_WITHIN_S = 2.0  # PostgreSQL ends a killed client's backend in milliseconds; slack for CI
# A node: it beats, holds an agent's console, a visitor's socket and an address's socket, then
# waits to be killed.
NODE = """
import sys, time
from storage.backends import open_database
from storage.client_limits import ClientLimits
from storage.consoles import AgentConsoles
from storage.presence import Presence
db = open_database(sys.argv[1])
ClientLimits(db).heartbeat("b", time.time())
AgentConsoles(db).arrive("b", "li", accepting=True)
Presence(db).arrive("b", "s1")
ClientLimits(db).add_socket("b", "198.51.100.7", 1)
print("ready", flush=True)
time.sleep(60)
"""


def counted(db) -> tuple[dict[str, ConsoleState], bool, int]:
    """What node A sees of node B: B's agents, B's visitor, B's sockets of the address."""
    live_since = time.time() - LIVE_S
    return (AgentConsoles(db).elsewhere("a", live_since),
            Presence(db).elsewhere("a", "s1", live_since),
            ClientLimits(db).sockets("198.51.100.7", live_since))


def test_a_killed_node_stops_counting_as_soon_as_its_session_ends(db, database_target):
    node = subprocess.Popen([sys.executable, "-c", NODE, str(database_target)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert node.stdout is not None and node.stdout.readline().strip() == "ready"
        assert counted(db) == ({"li": ConsoleState(True, 0.0)}, True, 1)
        node.send_signal(signal.SIGKILL)
        node.wait(10)
        deadline = time.monotonic() + ENDED_WITHIN_S
        while is_postgres(database_target) and counted(db)[0] and time.monotonic() < deadline:
            time.sleep(0.05)
        if is_postgres(database_target):  # its heartbeat is seconds old, but its session gone
            assert counted(db) == ({}, False, 0)
        else:  # one process on SQLite: a node is what beats, nothing else to ask
            assert counted(db) == ({"li": ConsoleState(True, 0.0)}, True, 1)
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()


def test_a_node_counts_again_from_its_first_beat_on_a_new_session(db, database_target):
    """After a PostgreSQL restart a node's connection is new: its next beat names it."""
    nodes, consoles = ClientLimits(db), AgentConsoles(db)
    nodes.heartbeat("b", time.time())
    consoles.arrive("b", "li", accepting=False)
    db.execute("UPDATE nodes SET session = 'a session long gone'")
    expected = {} if is_postgres(database_target) else {"li": ConsoleState(False, 0.0)}
    assert consoles.elsewhere("a", time.time() - LIVE_S) == expected
    nodes.heartbeat("b", time.time())
    assert consoles.elsewhere("a", time.time() - LIVE_S) == {"li": ConsoleState(False, 0.0)}

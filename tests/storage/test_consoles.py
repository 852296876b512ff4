"""Which node holds which agent's consoles (storage/consoles.py), on both backends: an agent
on node A is online, and takes chats or not, for node B while A beats; and an agent's capacity
counted in the claim's transaction (storage/agents.py)."""

from __future__ import annotations

from storage.agents import Agent, Agents
from storage.chats import Chats, NewChat
from storage.client_limits import ClientLimits
from storage.consoles import AgentConsoles, ConsoleState
from storage.conversations import Conversations

NOW = 1_780_000_000.0
LIVE_S = 10.0


def test_an_agent_on_one_node_is_seen_by_the_others_while_it_beats(db):
    consoles, nodes = AgentConsoles(db), ClientLimits(db)
    nodes.heartbeat("a", NOW)
    consoles.arrive("a", "li", accepting=False)
    assert consoles.elsewhere("b", NOW - LIVE_S) == {"li": ConsoleState(False, 0.0)}
    assert consoles.elsewhere("a", NOW - LIVE_S) == {}  # node A knows its own in memory
    consoles.set_accepting("a", "li", True)
    consoles.assigned("li", NOW)
    assert consoles.elsewhere("b", NOW - LIVE_S) == {"li": ConsoleState(True, NOW)}
    # Node A went silent (killed): its agents stop counting.
    assert consoles.elsewhere("b", NOW + 1) == {}


def test_an_agent_on_two_nodes_takes_chats_if_either_console_does(db):
    consoles, nodes = AgentConsoles(db), ClientLimits(db)
    for node in ("a", "b"):
        nodes.heartbeat(node, NOW)
    consoles.arrive("a", "li", accepting=True)
    consoles.arrive("b", "li", accepting=False)
    assert consoles.elsewhere("c", NOW - LIVE_S) == {"li": ConsoleState(True, 0.0)}
    consoles.leave("a", "li")
    assert consoles.elsewhere("c", NOW - LIVE_S) == {"li": ConsoleState(False, 0.0)}
    nodes.leave("b")  # node B stops: its rows go
    assert db.value("SELECT count(*) FROM agent_consoles") == 0


def test_dead_nodes_consoles_are_forgotten(db):
    consoles, nodes = AgentConsoles(db), ClientLimits(db)
    nodes.heartbeat("a", NOW)
    nodes.heartbeat("b", NOW + 100)
    consoles.arrive("a", "li", accepting=True)
    consoles.arrive("b", "wang", accepting=True)
    nodes.expire(dead_before=NOW + 50, idle_before=NOW)  # A is long dead, B is not
    assert consoles.elsewhere("c", NOW + 100 - LIVE_S) == {"wang": ConsoleState(True, 0.0)}
    assert db.value("SELECT count(*) FROM agent_consoles") == 1


def test_capacity_counts_the_agents_chats(db):
    agents, chats = Agents(db), Chats(db)
    agents.add(Agent("li", "Li", "agent", ["*"], ["zh"], 1, "x"), NOW)
    ids = []
    for n in (1, 2):
        Conversations(db).create(f"s{n}", f"t{n}", lang="zh", locked=False, channel="web", now=NOW)
        ids.append(chats.open(f"s{n}", NewChat("q", "zh", None, None, None, False, "", "", ""),
                              NOW))
    assert chats.claim(ids[0], "li", NOW)
    assert agents.within_capacity("li")  # one chat of one
    assert chats.claim(ids[1], "li", NOW)  # a claim made elsewhere without the check
    assert not agents.within_capacity("li")
    assert not agents.within_capacity("nobody")

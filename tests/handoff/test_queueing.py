"""Queue order, positions, estimated waits and auto-assignment (pure)."""

from handoff.queueing import (
    AgentState,
    Waiting,
    average_handle_s,
    eligible,
    eta_s,
    plan_assignments,
    positions,
)


def agent(name, queues=("q1",), langs=("zh",), max_chats=2, load=0, online=True, accepting=True,
          last=0.0, role="agent"):
    return AgentState(name, role, tuple(queues), tuple(langs), max_chats, load, online, accepting, last)


def chat(cid, since, queue="q1", lang="zh"):
    return Waiting(cid, queue, lang, None, since)


def test_positions_are_per_queue_oldest_first():
    chats = [chat(1, 30), chat(2, 10), chat(3, 20, queue="q2"), chat(4, 40)]
    assert positions(chats) == {2: 1, 1: 2, 4: 3, 3: 1}


def test_oldest_waiting_goes_to_least_loaded_agent():
    plan = plan_assignments([chat(1, 20), chat(2, 10)],
                            [agent("busy", load=1), agent("free", load=0)])
    assert plan == [(2, "free"), (1, "busy")]


def test_only_eligible_online_accepting_agents_with_room():
    agents = [agent("en_only", langs=("en",)), agent("offline", online=False),
              agent("away", accepting=False), agent("full", max_chats=1, load=1),
              agent("other_queue", queues=("q9",))]
    assert plan_assignments([chat(1, 0)], agents) == []
    assert plan_assignments([chat(1, 0)], agents + [agent("ok")]) == [(1, "ok")]


def test_english_chat_needs_english_skill_and_wildcard_queue_serves_all():
    a = agent("sup", queues=("*",), langs=("zh", "en"))
    assert eligible(a, chat(1, 0, queue="anything", lang="en"))
    assert not eligible(agent("zh", langs=("zh", "yue")), chat(1, 0, lang="en"))


def test_capacity_is_respected_across_a_burst():
    plan = plan_assignments([chat(i, i) for i in range(5)], [agent("a", max_chats=2), agent("b", max_chats=1)])
    assert len(plan) == 3
    assert sorted(u for _, u in plan) == ["a", "a", "b"]


def test_equal_load_prefers_the_agent_idle_longest():
    plan = plan_assignments([chat(1, 0)], [agent("recent", last=100.0), agent("idle", last=5.0)])
    assert plan == [(1, "idle")]


def test_eta():
    assert eta_s(1, 0, 300) is None          # nobody online: unknown, not a made-up number
    assert eta_s(1, 2, 300) == 300
    assert eta_s(3, 2, 300) == 600
    assert eta_s(1, 1, 100) == 120           # rounded up to 30 s steps
    assert average_handle_s([100, 200], 300) == 300   # too little history: the table default
    assert average_handle_s([100, 200, 900], 300) == 200

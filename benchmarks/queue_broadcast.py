"""What one change to the agents' queue costs, as the queue grows (issue 13, item 4).

In one process, with the real HandoffService, Hub and SQLite store in a temporary folder: N
chats wait in the queue (each visitor has written a few messages), one agent and one supervisor
are connected (fake sockets that count bytes). Then one visitor writes while waiting, and one new
chat is queued. For each change it reports the bytes pushed to the agent's console and the time
of the push, against what the old full snapshot (every waiting chat, with every chat's history
read for its last message) cost for the same queue.

    .venv/bin/python -m benchmarks.queue_broadcast [--sizes 10,100,1000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from bot.hub import Hub
from bot.settings import Settings
from bot.store import Store
from conversation.events import Reply, Visitor
from handoff.auth import hash_password, token_hash
from handoff.context import AgentConn
from handoff.service import HandoffService
from handoff.store import Agent


class CountingSocket:
    def __init__(self) -> None:
        self.bytes = 0
        self.frames = 0

    async def send(self, data: str) -> None:
        self.bytes += len(data.encode())
        self.frames += 1

    async def close(self, *args) -> None:
        pass


async def build(data_dir: Path, n: int) -> tuple[HandoffService, Store, Hub, dict[str, AgentConn]]:
    settings = Settings(data_dir=data_dir, escalations_per_session=10**6,
                        escalations_per_ip=10**6, visitor_gone_grace_s=10**6)
    store = Store(settings.database)
    hub = Hub(store)
    service = HandoffService(settings, hub, None, database=hub.database)
    await service.start()
    db = service.context.db()
    pw = hash_password("benchmark password")
    conns = {}
    for username, role in (("agent", "agent"), ("boss", "supervisor")):
        db.add_agent(Agent(username, username, role, ["*"], ["zh", "en"], 3, pw))
        token = f"token-{username}"
        db.add_token(token_hash(token), username, time.time() + 3600)
        conn = AgentConn(CountingSocket(), "127.0.0.1", username, token_hash(token))
        service.context.conns[username] = {conn}
        conns[username] = conn
    for _ in range(n):
        info, _ = store.create_session(lang="zh", locked=False, channel="web")
        for k in range(6):  # a little history per visitor
            await hub.emit(info.id, Visitor(id=f"v{k}", text=f"第{k}个问题：签证延期怎么办"))
            await hub.emit(info.id, Reply(sender="bot", text="回答" * 40, lang="zh", script="zh-Hans",
                                          sources=[], quick_replies=[], meta={}))
        await service.escalate(info.id, lang="zh", business_option=None, region=None,
                               overseas=False, summary="签证延期", reason="explicit_request")
    await service.notifier.broadcast()  # both consoles have had their one full snapshot
    return service, store, hub, conns


async def measure(n: int, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        service, store, hub, conns = await build(Path(tmp), n)
        sock = conns["agent"].ws
        agent = service.context.db().agent("agent")
        waiting = [c for c in service.context.db().active_chats() if c.status == "queued"]

        push_s, push_bytes, msg_s = [], [], []
        for r in range(repeat):  # a visitor writes while waiting: on_visitor_event + its push
            chat = waiting[(r * 7919) % len(waiting)]
            event = await hub.emit(chat.session_id, Visitor(id=f"x{r}", text="还在吗"))
            before = sock.bytes
            t0 = time.perf_counter()
            await service.on_visitor_event(chat.session_id, event)
            msg_s.append(time.perf_counter() - t0)
            push_bytes.append(sock.bytes - before)
            service.notifier.changed(chat.id)
            t0 = time.perf_counter()
            await service.notifier.broadcast()
            push_s.append(time.perf_counter() - t0)

        esc_s, esc_bytes = [], []
        for _ in range(repeat):  # a new chat joins the queue
            info, _ = store.create_session(lang="zh", locked=False, channel="web")
            before = sock.bytes
            t0 = time.perf_counter()
            await service.escalate(info.id, lang="zh", business_option=None, region=None,
                                   overseas=False, summary="新的问题", reason="explicit_request")
            esc_s.append(time.perf_counter() - t0)
            esc_bytes.append(sock.bytes - before)

        # The old way, for the same queue: every push was the full snapshot, built by reading
        # every waiting chat's whole history for its last message.
        full_s, full_bytes = [], 0
        for _ in range(min(repeat, 5)):
            service.views.items.clear()
            service.views.last_texts.clear()
            t0 = time.perf_counter()
            frame = service.views.snapshot(agent)
            full_s.append(time.perf_counter() - t0)
            full_bytes = len(json.dumps(frame.to_wire(), ensure_ascii=False, default=str).encode())
        await service.stop()
        store.close()
    ms = lambda xs: round(statistics.median(xs) * 1000, 2)  # noqa: E731
    return {"queue": n, "message_ms": ms(msg_s), "message_push_bytes": int(statistics.median(push_bytes)),
            "delta_push_ms": ms(push_s), "escalate_ms": ms(esc_s),
            "escalate_push_bytes": int(statistics.median(esc_bytes)),
            "full_snapshot_ms": ms(full_s), "full_snapshot_bytes": full_bytes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    rows = [asyncio.run(measure(int(n), args.repeat)) for n in args.sizes.split(",")]
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in cols) + " |")


if __name__ == "__main__":
    main()

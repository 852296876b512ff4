"""What every part of the handoff service shares: the settings, the visitor channel, the routing
table, the store, and in memory only who is connected and what visitors were last told.

One ``HandoffContext`` per service, built by ``HandoffService`` and handed to each of its parts;
the lookups here raise the protocol errors the agent console shows.
"""

from __future__ import annotations

import asyncio
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed

from conversation.channel import VisitorChannel, VisitorLanguage
from conversation.owner import ConversationOwner
from handoff.agent_protocol import AgentProtocolError
from handoff.auth import Authenticator
from handoff.consoles import SharedConsoles
from handoff.routing import RoutingTable
from handoff.settings import HandoffSettings
from handoff.store import Agent, Chat, HandoffStore
from runtime.frames import Frame
from storage.database import Database
from storage.live import EventBus

CANNED_FILE = Path(__file__).resolve().parent / "canned.toml"
UNAUTHORIZED_CLOSE = 4401


@dataclass(eq=False)
class AgentConn:
    ws: Any
    ip: str | None = None
    username: str | None = None
    token_hash: str | None = None
    viewing: set[int] = field(default_factory=set)
    synced: bool = False  # has had a full `queues` snapshot; from then on `queues_delta` frames

    async def send(self, frame: Frame) -> None:
        try:
            # default=str: dates (an answer's "as of") travel as ISO strings.
            await self.ws.send(json.dumps(frame.to_wire(), ensure_ascii=False, default=str))
        except ConnectionClosed:
            pass


def load_canned(path: Path = CANNED_FILE) -> list[dict[str, str]]:
    with open(path, "rb") as fh:
        return list(tomllib.load(fh).get("reply", []))


@dataclass(eq=False)
class HandoffContext:
    settings: HandoffSettings
    # The one way to the visitor (conversation/channel.py): notices, typing, their language and
    # transcript.
    visitors: VisitorChannel
    table: RoutingTable
    canned: list[dict[str, str]]
    # The conversation store's database, so that a handoff and the conversation's state change
    # in one transaction; None (a test's): the service opens the file itself.
    database: Database | None
    retriever: Any | None = None
    store: HandoffStore | None = None
    auth: Authenticator | None = None
    # The one writer of who holds a conversation (built with the store).
    owner: ConversationOwner | None = None
    # How other processes on the same database hear of chat changes (the server's).
    bus: EventBus = field(default_factory=EventBus)
    # Several nodes on one database: every node's agents, for the auto-assignment (the server's).
    consoles: SharedConsoles | None = None
    conns: dict[str, set[AgentConn]] = field(default_factory=dict)
    accepting: dict[str, bool] = field(default_factory=dict)
    last_assigned: dict[str, float] = field(default_factory=dict)
    announced: dict[int, tuple[int, int | None]] = field(default_factory=dict)  # chat -> (pos, eta)
    # Held by whatever moves chats between queues and agents, so that two claims, a transfer and
    # the auto-assignment never interleave.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def db(self) -> HandoffStore:
        if self.store is None:
            raise RuntimeError("HandoffService.start() has not been awaited")
        return self.store

    def conversations(self) -> ConversationOwner:
        if self.owner is None:
            raise RuntimeError("HandoffService.start() has not been awaited")
        return self.owner

    def authenticator(self) -> Authenticator:
        if self.auth is None:
            raise RuntimeError("HandoffService.start() has not been awaited")
        return self.auth

    def stored_chat(self, chat_id: int) -> Chat:
        """A chat this service has just written or read: it is in the store."""
        chat = self.db().chat(chat_id)
        if chat is None:
            raise LookupError(f"handoff chat {chat_id} vanished from the store")
        return chat

    def stored_agent(self, username: str) -> Agent:
        """An agent this service has just read (chats keep their owner's account: never deleted)."""
        agent = self.db().agent(username)
        if agent is None:
            raise LookupError(f"agent {username!r} vanished from the store")
        return agent

    def chat_or_error(self, chat_id: int) -> Chat:
        chat = self.db().chat(chat_id)
        if chat is None:
            raise AgentProtocolError("unknown_chat", "No such chat.", "chat")
        return chat

    def owned(self, agent: Agent, chat_id: int) -> Chat:
        """The chat, if this agent owns it (supervisors may act on any active chat)."""
        chat = self.chat_or_error(chat_id)
        if chat.status != "agent":
            raise AgentProtocolError("not_active", "This chat is not with an agent.", "chat")
        if chat.owner != agent.username and agent.role != "supervisor":
            raise AgentProtocolError("not_owner", "This chat belongs to another agent.", "chat")
        return chat

    def language(self, chat: Chat) -> VisitorLanguage:
        """What the chat's visitor is answered in (the chat's language until they have one)."""
        return self.visitors.language(chat.session_id, chat.lang)


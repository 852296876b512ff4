"""What the agent commands have in common: the handler every command module lists per frame
type, which the agent connection looks up to run a parsed frame."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from handoff.context import AgentConn
from handoff.store import Agent

# (the console that sent it, its agent as the token says, the parsed frame)
Handler = Callable[[AgentConn, Agent, Any], Awaitable[None]]

"""Settings of the human handoff: routing, agent accounts, queues (``CHAT_*``, see runtime/settings.py)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from runtime.settings import ChatSettings


class HandoffSettings(ChatSettings):
    routing_file: Path = Path(__file__).resolve().parent / "routing.toml"
    agent_token_ttl_s: int = 12 * 3600
    agent_max_failures: int = 5
    agent_lockout_s: int = 900
    # An agent whose console stays disconnected this long loses their chats to the queue
    # (front of the line); a reload or a server restart within it keeps them.
    agent_reconnect_grace_s: float = 120.0
    # An agent socket not logged in after this long is closed (1008); the console reconnects.
    agent_login_timeout_s: float = 600.0
    # A queued chat whose visitor has no connection left this long leaves the queue (what they
    # wrote while waiting becomes a ticket).
    visitor_gone_grace_s: float = 120.0
    # New chats in the agents' queues per conversation and per client IP, in a sliding window.
    escalations_per_session: int = 3
    escalations_per_ip: int = 20
    escalation_window_s: float = 3600.0

    # Limits the agent socket shares with the visitor sockets (bot/visitor_connection.py) and
    # the QR code (bot/http_edge.py): the longest message, the per-connection frame bucket
    # (doubled for agents), and the calls allowed to wait for the QR and password-hashing
    # workers (more get 503 / "busy").
    max_text_chars: int = 2000
    conn_rate: float = 5.0
    conn_burst: int = 20
    offload_queue: int = Field(8, ge=0)

"""The agent socket runs each frame through its command module's handler: every frame type a
logged-in console may send has exactly one (login, auth and ping are the handshake's own)."""

from __future__ import annotations

from bot.settings import Settings
from handoff.agent_protocol import CLIENT_FRAMES
from handoff.service import HandoffService


def test_every_agent_frame_after_login_has_one_handler(tmp_path):
    service = HandoffService(Settings(data_dir=tmp_path), object(), None)

    assert set(service.connections.handlers) == set(CLIENT_FRAMES) - {"login", "auth", "ping"}

"""Settings of the online services' personal look-ups (``CHAT_*``, see runtime/settings.py)."""

from __future__ import annotations

from pydantic import Field

from runtime.settings import ChatSettings


class ServiceSettings(ChatSettings):
    # Failed identity checks allowed per conversation, and per client address, within the window;
    # the next attempt then waits ``lookup_lockout_s`` whatever it holds.
    lookup_failures_per_session: int = Field(3, ge=1)
    lookup_failures_per_ip: int = Field(10, ge=1)
    lookup_window_s: float = Field(3600.0, gt=0)
    lookup_lockout_s: float = Field(900.0, gt=0)
    # How long a passport e-document's download link works after the check.
    document_link_s: float = Field(1800.0, gt=0)
    # The base URL of a server implementing POST /api/records/lookup: the chat's look-ups ask it
    # instead of our database (docs/services.md). Our own API keeps serving the embedded records.
    records_url: str | None = None
    # Load services/demo_records.yaml (fictional people) into the embedded backend at start.
    demo_records: bool = True

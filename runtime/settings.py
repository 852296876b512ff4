"""Where the settings of every part of 12367 ONLINE come from, and where the process keeps its data.

Precedence: explicit arguments > environment (``CHAT_*``) > TOML file named by ``CHAT_CONFIG``
(or ``12367.toml`` in the working directory) > defaults. Each area declares its own fields on a
subclass of ``ChatSettings`` (retrieval/settings.py, handoff/settings.py); bot/settings.py
composes them into the server's ``Settings``, so a variable has one name whichever part reads it.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class ChatSettings(BaseSettings):
    # extra="ignore": one environment and one TOML file serve every area's settings class.
    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")

    data_dir: Path = Path("data")
    # postgresql://user@host/db to keep the data in PostgreSQL; unset, the SQLite file below.
    database_url: str | None = None

    @property
    def store_path(self) -> Path:
        """The SQLite file used when no ``database_url`` is set."""
        return self.data_dir / "chat.sqlite3"

    @property
    def database(self) -> str | Path:
        """The one database, shared by bot/ (sessions, events) and handoff/ (queues, agents): a
        PostgreSQL URL or the SQLite file (storage/backends.py opens either)."""
        return self.database_url or self.store_path

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

"""A throwaway PostgreSQL server for the tests: Debian's binaries (scripts/postgres.sh installs
them), a cluster made by ``initdb`` in a temporary directory, listening on a free loopback port
and on a unix socket in that directory, stopped and deleted at the end of the run.

PostgreSQL refuses to run as root; as root (CI containers) the server runs as the ``postgres``
user the Debian package creates. Authentication is ``trust``: only this machine's loopback and a
socket in a private directory reach it, and the data is test data.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

SUPERUSER = "chat"


def bin_dir() -> Path:
    """The newest installed server's binaries (Debian keeps them off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path is None:
        raise RuntimeError("PostgreSQL server binaries not found: run `bash scripts/postgres.sh`")
    return Path(on_path).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class PostgresServer:
    root: Path
    port: int

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(host=str(self.socket_dir), port=self.port, user=SUPERUSER,
                               dbname="postgres", autocommit=True)

    def create_database(self, name: str) -> str:
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def shut_down(self) -> None:
        """A fast shutdown, as an administrator restarting the server does: sessions are ended,
        open transactions rolled back; the data stays."""
        subprocess.run(_as_server_user([str(bin_dir() / "pg_ctl"), "stop", "-D", str(self.root / "data"),
                                        "-m", "fast", "-w", "-s"]), check=True)

    def start_again(self) -> None:
        """Start the server on its data directory and port again, after ``shut_down``."""
        _pg_start(self)

    def stop(self) -> None:
        subprocess.run(_as_server_user([str(bin_dir() / "pg_ctl"), "stop", "-D", str(self.root / "data"),
                                        "-m", "immediate", "-s"]), check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> PostgresServer:
    """initdb and start; fsync off, as the data is thrown away (durability is not under test)."""
    binaries = bin_dir()
    root = Path(tempfile.mkdtemp(prefix="chat-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data = root / "data"
    subprocess.run(_as_server_user([str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER,
                                    "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]),
                   check=True, stdout=subprocess.DEVNULL)
    server = PostgresServer(root, free_port())
    _pg_start(server)
    return server


def _pg_start(server: PostgresServer) -> None:
    root = server.root
    options = (f"-c listen_addresses=127.0.0.1 -c port={server.port} -c unix_socket_directories={root}"
               " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
    subprocess.run(_as_server_user([str(bin_dir() / "pg_ctl"), "start", "-D", str(root / "data"), "-w",
                                    "-s", "-l", str(root / "server.log"), "-o", options]), check=True)

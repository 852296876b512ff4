"""A real nginx in front of test nodes, running the sample config of docs/deployment.md.

The config is taken from the doc's ``nginx`` block (one source: what the doc shows is what the
tests run), with the sample node addresses, the listening ports and the certificate paths
replaced. nginx runs as the current user with every path (pid, logs, temp files) in a temporary
directory. scripts/nginx.sh installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deployment.md"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT_S = 10


def sample_config() -> str:
    """The ```nginx block of docs/deployment.md."""
    match = re.search(r"```nginx\n(.*?)```", DOC.read_text(), re.S)
    assert match, "docs/deployment.md has no nginx block"
    return match.group(1)


def render(nodes: list[int], port: int, http_port: int, cert: Path, key: Path) -> str:
    """The sample config for nodes on 127.0.0.1:``nodes``, and nginx on 127.0.0.1:``port``
    (TLS) and 127.0.0.1:``http_port`` (plain HTTP)."""
    config = sample_config()
    samples = re.findall(r"^(\s*server )(\S+:\d+)( .*;)$", config, re.M)
    assert len(samples) == len(nodes), "one sample node per test node"
    for (indent, address, params), node in zip(samples, nodes, strict=True):
        config = config.replace(f"{indent}{address}{params}", f"{indent}127.0.0.1:{node}{params}")
    config = config.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    config = config.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    config = re.sub(r"ssl_certificate (\s*)\S+;", f"ssl_certificate {cert};", config)
    return re.sub(r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};", config)


def main_config(tmp: Path, site: Path) -> str:
    """nginx.conf around the site: logs and temp files in ``tmp``."""
    temps = "\n".join(f"    {kind}_temp_path {tmp / kind};"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root the workers would switch to "nobody", who cannot read the test's private tmp dir.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (f"{user}worker_processes 1;\nerror_log {tmp / 'error.log'} info;\n"
            f"events {{ worker_connections 256; }}\n"
            f"http {{\n    access_log {tmp / 'access.log'};\n{temps}\n    include {site};\n}}\n")


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, which the test clients trust."""
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class Nginx:
    def __init__(self, tmp: Path, nodes: list[int], port: int, http_port: int) -> None:
        self.tmp, self.port, self.http_port = tmp, port, http_port
        self.cert, key = self_signed(tmp)
        site = tmp / "chat.conf"
        site.write_text(render(nodes, port, http_port, self.cert, key))
        self.conf = tmp / "nginx.conf"
        self.conf.write_text(main_config(tmp, site))
        self.proc: subprocess.Popen | None = None

    @property
    def ws_url(self) -> str:
        return f"wss://127.0.0.1:{self.port}/ws"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def start(self) -> Nginx:
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.tmp), "-c", str(self.conf),
             "-g", f"daemon off; pid {self.tmp / 'nginx.pid'};"],
            stdout=subprocess.DEVNULL, stderr=open(self.tmp / "stderr.log", "wb"))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._listening():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {self.log()}")
            time.sleep(0.05)
        return self

    def _listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def log(self) -> str:
        return "".join(p.read_text()[-3000:] for p in (self.tmp / "stderr.log",
                                                        self.tmp / "error.log") if p.exists())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: nginx's fast shutdown
            self.proc.wait(10)

"""A node's footprint: time until /readyz says ready, and the memory of each process.

    .venv/bin/python -m benchmarks.node_footprint --data-dir DIR [--root CHECKOUT] [--runs 3] [--json]

Starts ``python -m bot serve`` (from ``--root``, default this checkout, so an older commit can
be measured the same way) on a free port with the data dir ``DIR`` (built beforehand: ``make
build``, or a copy), polls ``/readyz`` every 50 ms, then reads the resident memory (VmRSS, and
the peak VmHWM) of the server process and of each model worker from /proc, and stops the node
with SIGTERM. The memory is read at readiness, before any visitor: what an idle node holds.
``--fresh`` starts each run on an empty data dir instead (the encoder export, index build and NLU
training happen first, under the build locks) and counts, in the server's log, the exports, index
builds and waits for a lock, and the 503 answers of ``/readyz`` before it said ready.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLL_S = 0.05


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    role: str  # server | model-worker | other
    rss_mib: float
    peak_mib: float
    pss_mib: float  # shared pages (libraries, page cache) split among the processes mapping them
    torch_loaded: bool  # a torch shared library is mapped into the process


@dataclass(frozen=True)
class Run:
    ready_s: float
    processes: list[ProcessMemory]
    not_ready_answers: int  # /readyz 503s before the 200
    log_counts: dict[str, int]  # LOGGED lines in the server's log


# What the build steps log (retrieval/encoder_export.py, retrieval/build.py, runtime/build_lock.py).
LOGGED = ("exported encoder", "built index", "waiting for another process building")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found + [g for c in found for g in _children(c)]


def _role(pid: int, server: int) -> str:
    if pid == server:
        return "server"
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return "model-worker" if "spawn_main" in cmdline else "other"


def _pss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory(pid: int, server: int) -> ProcessMemory:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return ProcessMemory(pid, _role(pid, server), round(_status_mib(pid, "VmRSS"), 1),
                         round(_status_mib(pid, "VmHWM"), 1), round(_pss_mib(pid), 1), "libtorch" in maps)


def wait_ready(port: int, proc: subprocess.Popen, timeout_s: float) -> int:
    """Poll until /readyz says 200; the number of 503 answers before it."""
    deadline = time.monotonic() + timeout_s
    not_ready = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
                if response.status == 200:
                    return not_ready
        except urllib.error.HTTPError as refused:
            not_ready += refused.code == 503
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(POLL_S)
    raise TimeoutError(f"not ready after {timeout_s} s")


def one_run(root: Path, data_dir: Path, workers: int, timeout_s: float) -> Run:
    port = free_port()
    env = {**os.environ, "CHAT_MODEL_WORKERS": str(workers), "CHAT_PURGE_INTERVAL_S": "0",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "bot", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            not_ready = wait_ready(port, proc, timeout_s)
            ready_s = time.perf_counter() - started
            pids = [proc.pid, *_children(proc.pid)]
            processes = [memory(pid, proc.pid) for pid in pids]
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.seek(0)
        text = log.read()
    return Run(round(ready_s, 2), processes, not_ready, {line: text.count(line) for line in LOGGED})


def summary(runs: list[Run]) -> dict:
    workers = [p for run in runs for p in run.processes if p.role == "model-worker"]
    servers = [p for run in runs for p in run.processes if p.role == "server"]
    return {
        "ready_s": {"median": statistics.median(r.ready_s for r in runs), "all": [r.ready_s for r in runs]},
        "worker_rss_mib": {"max": max(p.rss_mib for p in workers),
                           "median": statistics.median(p.rss_mib for p in workers)},
        "worker_peak_mib": max(p.peak_mib for p in workers),
        "worker_pss_mib": max(p.pss_mib for p in workers),
        "worker_has_torch": any(p.torch_loaded for p in workers),
        "server_rss_mib": max(p.rss_mib for p in servers),
        "node_rss_mib": max(sum(p.rss_mib for p in r.processes) for r in runs),
        "node_pss_mib": max(sum(p.pss_mib for p in r.processes) for r in runs),
        "runs": [asdict(r) for r in runs],
    }


def _run(args: argparse.Namespace) -> Run:
    if not args.fresh:
        return one_run(args.root.resolve(), args.data_dir.resolve(), args.workers, args.timeout)
    with tempfile.TemporaryDirectory(prefix="node-fresh-") as empty:
        return one_run(args.root.resolve(), Path(empty), args.workers, args.timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="a built data dir (not changed but its store)")
    parser.add_argument("--fresh", action="store_true", help="each run on an empty data dir instead")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose server is measured")
    parser.add_argument("--workers", type=int, default=2, help="CHAT_MODEL_WORKERS (the default node has 2)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for /readyz")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.fresh and args.data_dir is None:
        parser.error("give --data-dir (a built data dir) or --fresh")
    runs = [_run(args) for _ in range(args.runs)]
    report = summary(runs)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    data = "an empty data dir each" if args.fresh else args.data_dir
    print(f"{args.runs} starts of a {args.workers}-worker node from {args.root}, data {data}")
    print(f"  ready after {report['ready_s']['median']:.2f} s (median; all {report['ready_s']['all']})")
    print(f"  model worker RSS {report['worker_rss_mib']['median']:.0f} MiB median, "
          f"{report['worker_rss_mib']['max']:.0f} max, peak {report['worker_peak_mib']:.0f}, "
          f"PSS {report['worker_pss_mib']:.0f} max; "
          f"torch loaded: {report['worker_has_torch']}")
    print(f"  server process {report['server_rss_mib']:.0f} MiB; whole node RSS {report['node_rss_mib']:.0f} MiB, "
          f"PSS {report['node_pss_mib']:.0f} MiB")
    for run in runs:
        print(f"  /readyz 503 x{run.not_ready_answers} before ready; server log: {run.log_counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Two builds of one corpus give the same files, whatever the process's string hashing.

An index built again (a changed line of the index code, a new machine) must answer as the old
one did: when the bm25 vocabulary followed Python's per-process hashing, a rebuild of the same
corpus moved the bot's false declines.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.retrieval.conftest import FIXTURE_KNOWLEDGE, ROOT, SHARED_MODELS

# The build's report of itself (its timings), not part of what it built.
REPORTS = {"ready"}


def _build(data_dir: Path, hash_seed: str) -> dict[str, str]:
    data_dir.mkdir()
    (data_dir / "models").symlink_to(SHARED_MODELS.resolve())
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-m", "retrieval", "build", "--knowledge-dir", str(FIXTURE_KNOWLEDGE),
         "--data-dir", str(data_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    index = data_dir / "index"
    return {str(path.relative_to(index)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(index.rglob("*")) if path.is_file() and path.name not in REPORTS}


def test_two_builds_in_differently_hashed_processes_write_the_same_bytes(tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda seed: _build(tmp_path / f"seed-{seed}", seed), ["1", "2"])
    assert any(name.endswith("bm25.json") for name in first)
    assert first == second

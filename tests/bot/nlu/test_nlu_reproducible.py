"""Two trainings on one data set give the same model file, whatever the process's string hashing."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TRAIN = """
import sys
from pathlib import Path
from bot.nlu.builtin import train_or_load
from bot.nlu.dataset import load_training_data
train_or_load(load_training_data(Path("nlu_data")), Path(sys.argv[1]), None)
"""


def _train(cache: Path, hash_seed: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run([sys.executable, "-c", TRAIN, str(cache)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return {str(path.relative_to(cache)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(cache.rglob("model.joblib"))}


def test_two_trainings_in_differently_hashed_processes_write_the_same_model(tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda seed: _train(tmp_path / f"seed-{seed}", seed), ["1", "2"])
    assert len(first) == 1
    assert first == second

"""A model worker serves from the built artefacts alone: no PyTorch, transformers or
sentence-transformers in its process (they cost ~700 MiB and seconds of start-up)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, link_caches

INIT = """
import json, sys
from pathlib import Path
from bot.settings import Settings
from bot import worker
worker._init(Settings(data_dir=Path(sys.argv[1])), ["广东"])
heavy = ("torch", "transformers", "sentence_transformers")
print(json.dumps({"loaded": [m for m in heavy if m in sys.modules],
                  "answer": worker._search("How do I extend my visa?", 1).hits[0].entry_id}))
"""


def test_worker_loads_models_without_torch(tmp_path: Path) -> None:
    link_caches(tmp_path)  # the built index and models: what a node serves from
    done = subprocess.run([sys.executable, "-c", INIT, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == [] and result["answer"]

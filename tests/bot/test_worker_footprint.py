"""A model worker serves from the built artefacts alone: no PyTorch, transformers or
sentence-transformers in its process (they cost ~700 MiB and seconds of start-up), no
scikit-learn, SciPy, FAISS or bm25s (the index and the NLU model are plain arrays; ~90 MiB), no
PDF library before it draws a PDF (~28 MiB), and jieba's dictionary read from the built trie
(not a 63 MiB dict)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SHARED_DATA, link_caches

FIXTURE_KNOWLEDGE = ROOT / "tests" / "retrieval" / "fixtures" / "knowledge"

INIT = """
import json, sys
from pathlib import Path
import jieba
from bot.settings import Settings
from bot import worker
worker._init(Settings(data_dir=Path(sys.argv[1])), ["广东"])
heavy = ("torch", "transformers", "sentence_transformers", "sklearn", "scipy", "faiss", "bm25s", "fpdf")
print(json.dumps({"loaded": [m for m in heavy if m in sys.modules],
                  "jieba": type(jieba.dt.FREQ).__name__,
                  "answer": worker._search("签证过期了怎么办", 1).hits[0].entry_id}))
"""


def test_worker_loads_models_without_torch_or_training_libraries(tmp_path: Path) -> None:
    link_caches(tmp_path)  # the built index and models: what a node serves from
    done = subprocess.run([sys.executable, "-c", INIT, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == [] and result["jieba"] == "TrieFreq" and result["answer"]


FRESH = """
import json, sys
from pathlib import Path
from bot.settings import Settings
from bot.worker import load_pipeline
settings = Settings(data_dir=Path(sys.argv[1]), knowledge_dir=Path(sys.argv[2]))
pipeline = load_pipeline(settings, ["广东"])
print(json.dumps({"torch": "torch" in sys.modules, "backend": pipeline.retriever.embedder.backend,
                  "index": str(pipeline.retriever.index_dir)}))
"""


def test_two_workers_on_a_fresh_data_dir_build_once_in_a_child(tmp_path: Path) -> None:
    """Two workers start on a data dir without an index or NLU model: the builds run in child
    processes under the build locks, once, and the workers themselves never import torch."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to((SHARED_DATA / "models").resolve())  # the export is tested in tests/retrieval
    command = [sys.executable, "-c", FRESH, str(data), str(FIXTURE_KNOWLEDGE)]
    procs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert [r["torch"] for r in results] == [False, False]
    assert {r["backend"] for r in results} == {"onnxruntime-int8"} and len({r["index"] for r in results}) == 1
    assert "".join(err for _, err in outputs).count("built index") == 1
    assert len([p for p in (data / "nlu").iterdir() if p.is_dir()]) == 1

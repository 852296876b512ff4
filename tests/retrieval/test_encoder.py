"""The served encoder (onnxruntime + tokenizers) against the build-time one, and the export lock."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from retrieval import Retriever
from retrieval.encoder import SentenceEncoder
from retrieval.encoder_files import onnx_session

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["How do I extend my visa?", "Can I bring my dog on the plane?", "ok", "签证快到期了怎么延期",
         "What documents do I need for a work permit in Shanghai, and how long does it take?",
         "passport lost!!! help", "visa " * 200]  # the last one is cut at the model's 128 tokens


def test_served_vectors_are_the_build_time_vectors(retriever: Retriever) -> None:
    """The same ONNX file through transformers' tokenizer (how it was run before serving dropped
    transformers) and through the served encoder: the same vectors, one text or a batch. (int8
    activations are quantised over the whole batch, so a text alone is compared with itself alone.)"""
    from retrieval.encoder_export import sentence_transformer, transformers_vectors

    encoder = retriever.embedder
    manifest = encoder.manifest
    tokenizer = sentence_transformer(encoder.model_name).tokenizer
    session = onnx_session(encoder.folder / manifest.onnx_file)
    expected = transformers_vectors(session, tokenizer, TEXTS, manifest.max_tokens)
    assert np.abs(encoder.encode(TEXTS) - expected).max() <= 1e-5
    for text in TEXTS:
        alone = transformers_vectors(session, tokenizer, [text], manifest.max_tokens)
        assert np.abs(encoder.encode([text]) - alone).max() <= 1e-5
    assert manifest.int8 and manifest.checks["torch_cosine_min"] >= 0.999


def test_encoder_folder_is_checked_against_its_manifest(retriever: Retriever, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "encoder"
    shutil.copytree(retriever.embedder.folder, copy)
    onnx = copy / retriever.embedder.manifest.onnx_file
    onnx.write_bytes(onnx.read_bytes()[:-1])
    try:
        SentenceEncoder(copy)
    except ValueError as exc:
        assert "does not match its manifest" in str(exc)
    else:
        raise AssertionError("a damaged ONNX file was loaded")


LOAD = """
import json, logging, sys
from pathlib import Path
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from retrieval import Retriever
from retrieval.settings import RetrievalSettings
r = Retriever.load(RetrievalSettings(knowledge_dir=Path(sys.argv[1]), data_dir=Path(sys.argv[2])))
print(json.dumps({"backend": r.embedder.backend, "index": str(r.index_dir), "built_now": r.built_now}))
"""


def test_two_processes_on_a_fresh_data_dir_build_once(settings, tmp_path: Path) -> None:  # noqa: ANN001
    """Started together, one process exports the encoder and builds the index while the other
    waits for the build lock and loads what it made: int8 in both, nothing built twice."""
    command = [sys.executable, "-c", LOAD, str(settings.knowledge_dir), str(tmp_path)]
    procs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    results = [json.loads(out) for out, _ in outputs]
    logs = "".join(err for _, err in outputs)
    assert logs.count("exported encoder") == 1 and logs.count("built index") == 1
    assert {r["backend"] for r in results} == {"onnxruntime-int8"}
    assert len({r["index"] for r in results}) == 1 and sorted(r["built_now"] for r in results) == [False, True]
    assert logs.count("built jieba's dictionary") == 1
    made = sorted(p.name for p in (tmp_path / "models").iterdir() if p.name != ".build.lock")
    # the encoder and jieba's dictionary (runtime/jieba_dict.py), no half-made folder left
    assert len(made) == 2 and made[1].startswith("jieba-") and not made[0].startswith(".")

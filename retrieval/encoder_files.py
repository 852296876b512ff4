"""The exported encoder's folder as files: its manifest, and the ONNX session, tokenizer and
pooling that read it.

Shared by the export (retrieval/encoder_export.py, build time), which writes the folder and checks
the vectors these functions compute, and by serving (retrieval/encoder.py), which loads it; so
neither imports the other's module for them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MANIFEST = "manifest.json"
TOKENIZER = "tokenizer.json"


@dataclass(frozen=True)
class EncoderManifest:
    """What the export made and checked; serving trusts it instead of re-checking."""

    model_name: str
    model_id: str  # what the vectors depend on: stored vectors and trained models are keyed by it
    onnx_file: str
    onnx_sha256: str
    int8: bool
    dim: int
    max_tokens: int
    pad_id: int
    pad_token: str
    pad_type_id: int
    checks: dict[str, float]  # agreement measured at export (cosines, largest difference)

    def save(self, folder: Path) -> None:
        (folder / MANIFEST).write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> EncoderManifest:
        return cls(**json.loads((folder / MANIFEST).read_text(encoding="utf-8")))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def onnx_session(path: Path) -> Any:  # noqa: ANN401 - onnxruntime is untyped
    import onnxruntime as ort

    # One intra-op thread: a single short query is fastest that way, and on a busy machine
    # several threads spin against each other (measured: 13 ms vs 35-500 ms per query).
    # Concurrency comes from the server's worker processes instead.
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def fast_tokenizer(path: Path, manifest: EncoderManifest) -> Tokenizer:
    """Set as transformers sets it for ``padding=True, truncation=True, max_length=...``."""
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(manifest.max_tokens)
    tokenizer.enable_padding(pad_id=manifest.pad_id, pad_type_id=manifest.pad_type_id, pad_token=manifest.pad_token)
    return tokenizer


def mean_pooled(session: Any, tokenizer: Tokenizer, texts: list[str], dim: int,  # noqa: ANN401
                batch_size: int) -> np.ndarray:
    """Unit vectors of the mean of the last hidden states over real tokens, as sentence-transformers
    computes them; texts of similar length are batched together (less padding)."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    order = np.argsort([len(t) for t in texts])
    for start in range(0, len(texts), batch_size):
        idx = order[start : start + batch_size]
        encodings = tokenizer.encode_batch([texts[i] for i in idx])
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        hidden = session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return out


def served_vectors(folder: Path, manifest: EncoderManifest, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """The vectors a worker computes from ``folder`` described by ``manifest`` (sha not checked)."""
    session = onnx_session(folder / manifest.onnx_file)
    tokenizer = fast_tokenizer(folder / TOKENIZER, manifest)
    return np.ascontiguousarray(mean_pooled(session, tokenizer, texts, manifest.dim, batch_size), dtype=np.float32)

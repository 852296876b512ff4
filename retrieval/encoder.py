"""The sentence encoder as served: an ONNX transformer, its fast tokenizer, mean pooling, numpy.

The export (sentence-transformers and PyTorch: ONNX, int8 quantisation, the checks against
PyTorch) happens once at build time, in retrieval/encoder_export.py, and leaves a folder
``<models_dir>/<key>/`` with the ONNX file, the tokenizer and ``manifest.json``; ``key`` is a
hash of the model's files, the precision and the export code. Serving loads that folder with
onnxruntime and ``tokenizers`` alone: no torch, transformers or sentence-transformers in a
model worker (about 700 MiB and several seconds of start-up less per worker).

One loaded encoder serves both readers of a message in a worker: the NLU classifier (English
intent features) and retrieval's dense signal; the last few texts are remembered, so the second
encoding of the same message is free.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from runtime.build_lock import NotBuilt, build_lock

RECENT_TEXTS = 4  # single texts remembered (see SentenceEncoder._encode_one)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MANIFEST = "manifest.json"
TOKENIZER = "tokenizer.json"
PACKAGE = Path(__file__).resolve().parent


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


def export_key(model_name: str, int8: bool) -> str:
    """A model folder's files (a hub name stands for itself), the precision and the export code."""
    digest = hashlib.sha256(f"{int8}|".encode())
    digest.update((PACKAGE / "encoder_export.py").read_bytes())
    folder = Path(model_name)
    if not folder.is_dir():
        digest.update(model_name.encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []:
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()[:16]


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


class SentenceEncoder:
    """An exported encoder folder; encoding is serialised (one session, many threads)."""

    def __init__(self, folder: Path) -> None:
        manifest = EncoderManifest.read(folder)
        onnx = folder / manifest.onnx_file
        if file_sha256(onnx) != manifest.onnx_sha256:  # a damaged file would change every answer
            raise ValueError(f"{onnx} does not match its manifest: delete {folder} to export again")
        self.folder = folder
        self.manifest = manifest
        self.model_name = manifest.model_name
        self.model_id = manifest.model_id
        self.dim = manifest.dim
        self.backend = "onnxruntime-int8" if manifest.int8 else "onnxruntime"
        self._session = onnx_session(onnx)
        self._tokenizer = fast_tokenizer(folder / TOKENIZER, manifest)
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

    @classmethod
    def load(cls, model_name: str, models_dir: Path, *, int8: bool, build: bool = True) -> SentenceEncoder:
        """The exported encoder of ``model_name``; exported first (once, under the build lock) if
        ``build``, else ``NotBuilt`` when it is missing."""
        folder = Path(models_dir) / export_key(model_name, int8)
        if not (folder / MANIFEST).exists():
            if not build:
                raise NotBuilt(f"no exported encoder in {folder}")
            with build_lock(Path(models_dir)):
                if not (folder / MANIFEST).exists():  # not made while this process waited
                    from retrieval.encoder_export import export_encoder  # torch: build time only

                    export_encoder(model_name, folder, int8)
        return cls(folder)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if len(texts) == 1:
            return self._encode_one(texts[0])[None, :]
        return self._encode(texts, batch_size)

    def _encode_one(self, text: str) -> np.ndarray:
        """One message is embedded by the NLU and then by the retriever: the second is free.
        Only the last few texts are kept, so this is no cache of popular questions."""
        with self._lock:
            found = self._recent.get(text)
        if found is None:
            found = self._encode([text], 1)[0]
            with self._lock:
                self._recent[text] = found
                while len(self._recent) > RECENT_TEXTS:
                    self._recent.popitem(last=False)
        return found

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        with self._lock:
            vecs = mean_pooled(self._session, self._tokenizer, texts, self.dim, batch_size)
        return np.ascontiguousarray(vecs, dtype=np.float32)

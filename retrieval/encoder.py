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
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from retrieval.encoder_files import (
    MANIFEST,
    TOKENIZER,
    EncoderManifest,
    fast_tokenizer,
    file_sha256,
    mean_pooled,
    onnx_session,
)
from runtime.build_lock import NotBuilt, build_lock

RECENT_TEXTS = 4  # single texts remembered (see SentenceEncoder._encode_one)
PACKAGE = Path(__file__).resolve().parent
# The code that makes and reads an exported folder: a change exports again.
EXPORT_CODE = ("encoder_export.py", "encoder_files.py")


def export_key(model_name: str, int8: bool) -> str:
    """A model folder's files (a hub name stands for itself), the precision and the export code."""
    digest = hashlib.sha256(f"{int8}|".encode())
    for name in EXPORT_CODE:
        digest.update((PACKAGE / name).read_bytes())
    folder = Path(model_name)
    if not folder.is_dir():
        digest.update(model_name.encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []:
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()[:16]


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

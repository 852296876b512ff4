"""The sentence encoder: sentence-transformers vectors, through ONNX Runtime where the model allows.

One loaded model serves both readers of a message in a worker: the NLU classifier (English
intent features) and retrieval's dense signal; the last few texts are remembered, so the second
encoding of the same message is free.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

MAX_TOKENS = 128
RECENT_TEXTS = 4  # single texts remembered (see SentenceEncoder._encode_one)


class SentenceEncoder:
    """The sentence-transformers model; encoding is serialised (one model, many threads).

    For the common shape (transformer + mean pooling + normalisation, e.g. MiniLM) the transformer
    is exported once to ONNX under ``cache_dir`` and run with onnxruntime on one thread: the same
    vectors (checked at export) at about half the CPU time of PyTorch for a single query. With
    ``int8`` the export is also quantised (dynamic, per-channel int8 weights), which halves the
    time again; its vectors are checked against the full-precision ones before use. Any other
    model, or a failed export, runs on PyTorch.
    """

    def __init__(self, model_name: str, cache_dir: Path | None = None, *, int8: bool = False) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        # One intra-op thread: a single short query is fastest that way, and on a busy machine
        # several threads spin against each other (measured: 13 ms vs 35-500 ms per query).
        # Concurrency comes from the server's worker threads instead.
        torch.set_num_threads(1)

        self.model_name = model_name
        self._model = SentenceTransformer(model_name, device="cpu")
        self._model.eval()
        # Answers are long; their opening carries the topic, and the cap keeps a full build fast.
        self._model.max_seq_length = min(self._model.max_seq_length or MAX_TOKENS, MAX_TOKENS)
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._onnx = _OnnxEncoder.create(self._model, model_name, cache_dir, int8) if cache_dir else None
        quantised = self._onnx is not None and self._onnx.int8
        self.backend = ("onnxruntime-int8" if quantised else "onnxruntime") if self._onnx else "torch"
        # What the vectors depend on: stored vectors and models trained on them are keyed by it.
        self.model_id = f"{model_name}#int8" if quantised else model_name
        dimension = getattr(self._model, "get_embedding_dimension", None)  # sentence-transformers >= 5.x name
        self.dim: int = (dimension or self._model.get_sentence_embedding_dimension)()

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
            if self._onnx is not None:
                vecs = self._onnx.encode(texts, batch_size)
            else:
                vecs = self._model.encode(
                    texts,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        return np.ascontiguousarray(vecs, dtype=np.float32)


class _QuietQuantiser(logging.Filter):
    """onnxruntime's quantiser logs a line per tensor and general advice on the root logger; while
    it runs, the root logger keeps only warnings that are not that advice."""

    ADVICE = "pre-processing before quantization"  # its advice; our settings were measured without

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING and self.ADVICE not in record.getMessage()


class _OnnxEncoder:
    INPUTS = ("input_ids", "attention_mask", "token_type_ids")
    PROBE = ["How do I extend my visa?", "签证快到期了怎么延期", "ok", "Can I bring my dog on the plane?"]
    # Measured for MiniLM on 310 CLINC150 questions: int8 vectors have cosine 0.993 mean / 0.976 min
    # with fp32 ones; a model that quantises much worse than that keeps full precision.
    INT8_MIN_COSINE = 0.95

    def __init__(self, session, tokenizer, max_tokens: int, int8: bool = False) -> None:  # noqa: ANN001
        self.session = session
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.int8 = int8

    @staticmethod
    def _session(path: Path):  # noqa: ANN205
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    @classmethod
    def create(cls, model, model_name: str, cache_dir: Path, int8: bool = False) -> _OnnxEncoder | None:  # noqa: ANN001
        try:
            import onnxruntime  # noqa: F401 - only whether it is installed
            import torch
        except ImportError:
            return None
        modules = [type(m).__name__ for m in model]
        pooling = model[1] if len(model) > 1 else None
        if modules[:2] != ["Transformer", "Pooling"] or getattr(pooling, "pooling_mode", None) != "mean":
            return None
        if set(modules[2:]) - {"Normalize"}:
            return None
        transformer = model[0]
        hf_model = getattr(transformer, "auto_model", None) or getattr(transformer, "model", None)
        tokenizer = model.tokenizer
        if hf_model is None or tokenizer is None:
            return None
        key = hashlib.sha256(f"{model_name}|{torch.__version__}".encode()).hexdigest()[:16]
        path = cache_dir / f"{key}.onnx"
        try:
            if not path.exists():
                cls._export(hf_model, tokenizer, path)
            encoder = cls(cls._session(path), tokenizer, model.max_seq_length)
            reference = model.encode(cls.PROBE, normalize_embeddings=True, show_progress_bar=False)
            if encoder.agreement(reference) < 0.999:
                return None
        except Exception as exc:  # noqa: BLE001 - any exporter/runtime problem: stay on PyTorch
            logging.getLogger(__name__).warning("ONNX export of %s failed, using PyTorch: %s", model_name, exc)
            return None
        return cls._quantised(encoder, path, reference, model_name) if int8 else encoder

    def agreement(self, reference: np.ndarray) -> float:
        """Lowest cosine between this encoder's vectors of the probe texts and ``reference``."""
        return float((self.encode(self.PROBE, 8) * reference).sum(axis=1).min())

    @classmethod
    def _quantised(cls, full: _OnnxEncoder, path: Path, reference: np.ndarray, model_name: str) -> _OnnxEncoder:
        """The int8 twin of ``full`` (made once next to it), or ``full`` if it strays too far."""
        log = logging.getLogger(__name__)
        target = path.with_name(f"{path.stem}-int8.onnx")
        try:
            if not target.exists():
                from onnxruntime.quantization import QuantType, quantize_dynamic

                tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.onnx")
                quiet = _QuietQuantiser()
                logging.getLogger().addFilter(quiet)
                try:
                    quantize_dynamic(path, tmp, weight_type=QuantType.QInt8, per_channel=True)
                finally:
                    logging.getLogger().removeFilter(quiet)
                os.replace(tmp, target)
            encoder = cls(cls._session(target), full.tokenizer, full.max_tokens, int8=True)
            cosine = encoder.agreement(reference)
        except Exception as exc:  # noqa: BLE001 - a model the quantiser cannot handle: full precision
            log.warning("int8 quantisation of %s failed, using full precision: %s", model_name, exc)
            return full
        if cosine < cls.INT8_MIN_COSINE:
            log.warning("int8 %s strays from full precision (cosine %.3f): using full precision", model_name, cosine)
            return full
        return encoder

    @classmethod
    def _export(cls, hf_model, tokenizer, path: Path) -> None:  # noqa: ANN001
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self, inner: torch.nn.Module) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
                return self.inner(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state

        sample = tokenizer(["hello world"], return_tensors="pt", return_token_type_ids=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.onnx")
        dynamic = {name: {0: "batch", 1: "tokens"} for name in (*cls.INPUTS, "last_hidden_state")}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about Python control flow in HF code
            torch.onnx.export(
                Wrapped(hf_model.eval()),
                tuple(sample[name] for name in cls.INPUTS),
                str(tmp),
                input_names=list(cls.INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=dynamic,
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, path)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        dim = self.session.get_outputs()[0].shape[-1]
        out = np.zeros((len(texts), dim if isinstance(dim, int) else 0), dtype=np.float32)
        order = np.argsort([len(t) for t in texts])  # similar lengths together: less padding
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            enc = self.tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_tokens,
                return_tensors="np", return_token_type_ids=True,
            )
            hidden = self.session.run(None, {name: enc[name].astype(np.int64) for name in self.INPUTS})[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            if out.shape[1] != pooled.shape[1]:
                out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out

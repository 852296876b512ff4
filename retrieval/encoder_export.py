"""Build time: the sentence-transformers model exported to ONNX, quantised, checked, with a manifest.

Run once per data dir (under the build lock, by ``SentenceEncoder.load``), never in a model
worker: this is the only module that imports torch and sentence-transformers. Supported models
are the common shape, transformer + mean pooling (+ normalisation), e.g. MiniLM; the checks:

- the ONNX transformer with the serving tokenizer (``tokenizers`` alone) against PyTorch through
  sentence-transformers: cosine >= 0.999 on the probe texts, else the export is refused;
- the serving tokenizer against transformers' tokenizer on the same ONNX file: the same vectors
  (largest difference <= 1e-5), else refused;
- with int8, the quantised vectors against PyTorch's: cosine >= 0.95, else full precision with a
  warning (a model that quantises badly; MiniLM measures 0.993 mean / 0.976 min on CLINC150).
A failed export or quantisation raises: nothing falls back silently.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.encoder_files import INPUTS, TOKENIZER, EncoderManifest, file_sha256, onnx_session, served_vectors

log = logging.getLogger(__name__)

MAX_TOKENS = 128  # answers are long; their opening carries the topic, and the cap keeps builds fast
PROBE = ["How do I extend my visa?", "签证快到期了怎么延期", "ok", "Can I bring my dog on the plane?",
         "My passport was stolen in Guangzhou, what should I do?"]
FP32_MIN_COSINE = 0.999
INT8_MIN_COSINE = 0.95
TOKENIZER_MAX_DIFF = 1e-5


class _QuietQuantiser(logging.Filter):
    """onnxruntime's quantiser logs a line per tensor and general advice on the root logger; while
    it runs, the root logger keeps only warnings that are not that advice."""

    ADVICE = "pre-processing before quantization"  # its advice; our settings were measured without

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING and self.ADVICE not in record.getMessage()


def export_encoder(model_name: str, folder: Path, int8: bool) -> EncoderManifest:
    """Make ``folder`` (the caller holds the build lock): built aside, then renamed into place."""
    model = sentence_transformer(model_name)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        manifest = _export_checked(model, model_name, tmp, int8)
        if folder.exists():  # a damaged folder without a manifest
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("exported encoder %s to %s (%s)", model_name, folder, manifest.checks)
    return manifest


def sentence_transformer(model_name: str) -> Any:  # noqa: ANN401 - sentence-transformers is not followed by mypy
    """The model on PyTorch, capped at MAX_TOKENS; ValueError for a shape the export cannot serve."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is always on disk
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_name, device="cpu")
    model.eval()
    model.max_seq_length = min(model.max_seq_length or MAX_TOKENS, MAX_TOKENS)
    modules = [type(m).__name__ for m in model]
    pooling = model[1] if len(model) > 1 else None
    if (modules[:2] != ["Transformer", "Pooling"] or getattr(pooling, "pooling_mode", None) != "mean"
            or set(modules[2:]) - {"Normalize"}):
        raise ValueError(f"{model_name}: only transformer + mean pooling models can be served ({modules})")
    return model


def _export_checked(model: Any, model_name: str, tmp: Path, int8: bool) -> EncoderManifest:  # noqa: ANN401
    reference = model.encode(PROBE, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    _export_onnx(_hf_model(model), model.tokenizer, tmp / "model.onnx")
    model.tokenizer.backend_tokenizer.save(str(tmp / TOKENIZER))
    full = _manifest(model, model_name, tmp / "model.onnx", int8=False, checks={})
    vectors = _served(tmp, full)
    expected = transformers_vectors(onnx_session(tmp / "model.onnx"), model.tokenizer, PROBE, full.max_tokens)
    checks = {"torch_cosine_min": _min_cosine(vectors, reference),
              "tokenizer_max_abs_diff": float(np.abs(vectors - expected).max())}
    if checks["torch_cosine_min"] < FP32_MIN_COSINE or checks["tokenizer_max_abs_diff"] > TOKENIZER_MAX_DIFF:
        raise ValueError(f"the ONNX export of {model_name} does not reproduce PyTorch: {checks}")
    full = _manifest(model, model_name, tmp / "model.onnx", int8=False, checks=checks)
    full.save(tmp)
    return _quantised(model, model_name, tmp, full, reference) if int8 else full


def _quantised(model: Any, model_name: str, tmp: Path, full: EncoderManifest,  # noqa: ANN401
               reference: np.ndarray) -> EncoderManifest:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = tmp / "model-int8.onnx"
    quiet = _QuietQuantiser()
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(tmp / "model.onnx", target, weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.getLogger().removeFilter(quiet)
    checks = {**full.checks, "int8_cosine_min": 0.0}
    manifest = _manifest(model, model_name, target, int8=True, checks=checks)
    checks["int8_cosine_min"] = _min_cosine(_served(tmp, manifest), reference)
    if checks["int8_cosine_min"] < INT8_MIN_COSINE:
        log.warning("int8 %s strays from PyTorch (cosine %.3f): serving full precision", model_name,
                    checks["int8_cosine_min"])
        full.save(tmp)
        return full
    manifest = _manifest(model, model_name, target, int8=True, checks=checks)
    manifest.save(tmp)
    (tmp / "model.onnx").unlink()  # served from the int8 file alone
    return manifest


def _manifest(model: Any, model_name: str, onnx: Path, *, int8: bool,  # noqa: ANN401
              checks: dict[str, float]) -> EncoderManifest:
    tokenizer = model.tokenizer
    dimension = getattr(model, "get_embedding_dimension", None)  # sentence-transformers >= 5.x name
    return EncoderManifest(
        model_name=model_name, model_id=f"{model_name}#int8" if int8 else model_name,
        onnx_file=onnx.name, onnx_sha256=file_sha256(onnx), int8=int8,
        dim=int((dimension or model.get_sentence_embedding_dimension)()), max_tokens=model.max_seq_length,
        pad_id=int(tokenizer.pad_token_id), pad_token=str(tokenizer.pad_token),
        pad_type_id=int(tokenizer.pad_token_type_id), checks=checks,
    )


def _served(folder: Path, manifest: EncoderManifest) -> np.ndarray:
    """The probe vectors as a worker will compute them from ``folder`` with ``manifest``."""
    manifest.save(folder)
    return served_vectors(folder, manifest, PROBE)


def _min_cosine(vectors: np.ndarray, reference: np.ndarray) -> float:
    return float((vectors * reference).sum(axis=1).min())


def transformers_vectors(session: Any, tokenizer: Any, texts: list[str], max_tokens: int) -> np.ndarray:  # noqa: ANN401
    """Mean-pooled unit vectors with transformers' tokenizer: what the ONNX encoder computed
    before serving dropped transformers, and what the serving tokenizer must reproduce."""
    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="np",
                    return_token_type_ids=True)
    hidden = session.run(None, {name: enc[name].astype(np.int64) for name in INPUTS})[0]
    mask = enc["attention_mask"][..., None].astype(np.float32)
    pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _hf_model(model: Any) -> Any:  # noqa: ANN401
    transformer = model[0]
    hf_model = getattr(transformer, "auto_model", None) or getattr(transformer, "model", None)
    if hf_model is None:
        raise ValueError("the sentence-transformers model has no transformers model inside")
    return hf_model


def _export_onnx(hf_model: Any, tokenizer: Any, path: Path) -> None:  # noqa: ANN401
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
    dynamic = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about Python control flow in HF code
        torch.onnx.export(
            Wrapped(hf_model.eval()),
            tuple(sample[name] for name in INPUTS),
            str(path),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )

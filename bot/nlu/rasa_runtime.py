"""Rasa 3.6 as the peer and optional engine: train (cached by content hash), serve, and parse over HTTP.

Rasa lives in its own Python 3.10 virtualenv (``.venv-rasa``, made by ``scripts/rasa_env.sh``) and
is reached only through its CLI and its HTTP API (``POST /model/parse``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bot.nlu.dataset import TrainingData
from bot.nlu.types import OUT_OF_SCOPE, Entity, Parse
from runtime.language_id import detect_language

ROOT = Path(__file__).resolve().parents[2]
RASA_VENV = ROOT / ".venv-rasa"
DEFAULT_CONFIG = ROOT / "nlu_data" / "rasa_config.yml"
FALLBACK_INTENT = "nlu_fallback"
# Rasa reads "a/b" as the retrieval intent "a" with response key "b" and predicts only "a", so a
# slash in an intent name (xSID's "alarm/set_alarm") is written as this and mapped back on parse.
RASA_SLASH = "~"


class RasaUnavailable(RuntimeError):
    """Rasa is not installed or its server cannot be reached."""


def rasa_bin() -> Path:
    exe = RASA_VENV / "bin" / "rasa"
    if not exe.exists():
        raise RasaUnavailable(f"{exe} not found: run `make rasa` (scripts/rasa_env.sh)")
    return exe


def rasa_env() -> dict[str, str]:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONWARNINGS="ignore", SQLALCHEMY_SILENCE_UBER_WARNING="1")
    env.pop("PYTHONPATH", None)
    return env


def _block(lines: list[str]) -> str:
    return "".join(f"      - {line}\n" for line in lines)


def _annotated(example) -> str:
    text, out, pos = example.text, [], 0
    for ent in sorted(example.entities, key=lambda e: e.start):
        out.append(text[pos:ent.start])
        spec = f"({ent.type})" if ent.value == ent.text else json.dumps(
            {"entity": ent.type, "value": ent.value}, ensure_ascii=False)
        out.append(f"[{ent.text}]{spec}")
        pos = ent.end
    out.append(text[pos:])
    return "".join(out)


def to_rasa_yaml(data: TrainingData) -> str:
    """Training data as Rasa 3.x NLU YAML (the inverse of ``dataset.load_rasa_yaml``)."""
    by_intent: dict[str, list[str]] = {}
    for ex in data.examples:
        line = _annotated(ex).replace("\n", " ")
        by_intent.setdefault(ex.intent, []).append(line)
    parts = ['version: "3.1"\nnlu:\n']
    for intent, lines in by_intent.items():
        parts.append(f"  - intent: {intent.replace('/', RASA_SLASH)}\n    examples: |\n{_block(lines)}")
    synonyms: dict[str, list[str]] = {}
    for surface, value in data.synonyms.items():
        synonyms.setdefault(value, []).append(surface)
    for value, forms in synonyms.items():
        parts.append(f"  - synonym: {json.dumps(value, ensure_ascii=False)}\n    examples: |\n{_block(forms)}")
    for name, patterns in data.regexes.items():
        parts.append(f"  - regex: {name}\n    examples: |\n{_block(patterns)}")
    for name, forms in data.lookups.items():
        parts.append(f"  - lookup: {name}\n    examples: |\n{_block(forms)}")
    return "".join(parts)


def _model_key(nlu_yaml: str, config_text: str) -> str:
    return hashlib.sha256((nlu_yaml + "\n---\n" + config_text).encode()).hexdigest()[:16]


def train_rasa(data: TrainingData, cache_root: Path, config: Path = DEFAULT_CONFIG,
               *, timeout_s: float = 3600) -> tuple[Path, float | None]:
    """Train a Rasa NLU model for ``data`` unless one is cached; return (model file, seconds or None)."""
    nlu_yaml, config_text = to_rasa_yaml(data), config.read_text(encoding="utf-8")
    folder = (cache_root / _model_key(nlu_yaml, config_text)).resolve()
    model = folder / "model.tar.gz"
    if model.exists():
        return model, None
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:  # absolute: rasa runs with cwd=tmp
        (Path(tmp) / "nlu.yml").write_text(nlu_yaml, encoding="utf-8")
        started = time.perf_counter()
        with open(folder / "train.log", "w", encoding="utf-8") as log:  # streamed: training takes minutes
            proc = subprocess.run(
                [str(rasa_bin()), "train", "nlu", "--nlu", str(Path(tmp) / "nlu.yml"), "--config",
                 str(config.resolve()), "--out", tmp, "--fixed-model-name", "model"],
                cwd=tmp, env=rasa_env(), stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s,
            )
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"rasa train failed ({proc.returncode}); see {folder / 'train.log'}")
        shutil.move(str(Path(tmp) / "model.tar.gz"), model)
    (folder / "meta.json").write_text(json.dumps({"train_seconds": round(seconds, 1),
                                                  "examples": len(data.examples)}), encoding="utf-8")
    return model, seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_rasa(model: Path, *, port: int | None = None, timeout_s: float = 300) -> Iterator[tuple[str, int]]:
    """Run ``rasa run --enable-api`` on 127.0.0.1; yield (url, pid); stop it on exit."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    model = model.resolve()
    log = open(model.parent / "serve.log", "w", encoding="utf-8")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [str(rasa_bin()), "run", "--enable-api", "-m", str(model), "-i", "127.0.0.1", "-p", str(port)],
        cwd=model.parent, env=rasa_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait_ready(url, proc, timeout_s, model.parent / "serve.log")
        yield url, proc.pid
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _wait_ready(url: str, proc: subprocess.Popen, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RasaUnavailable(f"rasa run exited with {proc.returncode}; see {log}")
        try:
            r = httpx.get(f"{url}/status", timeout=2)
            if r.status_code == 200 and r.json().get("model_file"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RasaUnavailable(f"rasa server at {url} not ready after {timeout_s}s; see {log}")


class RasaEngine:
    """Same ``parse`` contract as the built-in engine, answered by a Rasa server over HTTP.

    ``nlu_fallback`` (Rasa's FallbackClassifier) and ``out_of_scope`` both mean out of scope.
    Thread-safe: one pooled httpx.Client.
    """

    name = "rasa"

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        self._client.close()

    def parse(self, text: str) -> Parse:
        try:
            r = self._client.post(f"{self.url}/model/parse", json={"text": text})
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"Rasa at {self.url}: {exc}") from exc
        return self.to_parse(text, r.json())

    def parse_batch(self, texts: list[str]) -> list[Parse]:
        return [self.parse(t) for t in texts]

    @staticmethod
    def to_parse(text: str, body: dict) -> Parse:
        ranking = [(i["name"].replace(RASA_SLASH, "/"), float(i["confidence"]))
                   for i in body.get("intent_ranking") or []]
        top = body.get("intent") or {"name": OUT_OF_SCOPE, "confidence": 0.0}
        name = (top.get("name") or OUT_OF_SCOPE).replace(RASA_SLASH, "/")
        confidence = float(top.get("confidence") or 0.0)
        is_oos = name in (FALLBACK_INTENT, OUT_OF_SCOPE)
        if name == FALLBACK_INTENT:
            real = [r for r in ranking if r[0] != FALLBACK_INTENT]
            confidence = real[0][1] if real else 0.0
        entities = [
            Entity(e["entity"], str(e.get("value", "")), text[e["start"]:e["end"]], e["start"], e["end"])
            for e in body.get("entities") or []
        ]
        ranking = [r for r in ranking if r[0] != FALLBACK_INTENT][:5]
        return Parse(text=text, lang=detect_language(text), intent=OUT_OF_SCOPE if is_oos else name,
                     confidence=confidence, ranking=ranking, entities=entities, is_oos=is_oos)

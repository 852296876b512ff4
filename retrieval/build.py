"""Build or load the content-hashed index folder ``<data_dir>/index/<hash>/``.

The hash covers the corpus files, the embedding model name and the source of the index code, so
an unchanged corpus loads in well under a second and any change rebuilds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from retrieval.corpus import Corpus, content_hash, entry_files
from retrieval.index import HybridIndex
from retrieval.ranking import Linear, Ranker, TrainingQuery, fit_ranker
from retrieval.signals import Embedder
from retrieval.text import TextAnalyzer

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent
# Files whose change must rebuild the index (the code that shapes it, and its training data).
INDEX_CODE = (
    "build.py", "corpus.py", "index.py", "lexicon.py", "ranking.py", "schema.py", "signals.py",
    "text.py", "out_of_scope_train.yaml",
)
KEEP_INDEXES = 3


def index_key(corpus: Corpus, model_name: str) -> str:
    digest = hashlib.sha256()
    digest.update(content_hash(entry_files(corpus.root), corpus.root).encode())
    digest.update(model_name.encode())
    for name in INDEX_CODE:
        digest.update((PACKAGE / name).read_bytes())
    return digest.hexdigest()[:20]


def out_of_scope_training() -> list[str]:
    data = yaml.safe_load((PACKAGE / "out_of_scope_train.yaml").read_text(encoding="utf-8"))
    return [q for lang in ("zh", "en") for q in data[lang]]


def resolve_model(name: str) -> str:
    """A folder inside a sentence-transformers model (e.g. its 1_Pooling) → the model folder."""
    path = Path(name)
    if path.is_dir() and not (path / "modules.json").exists():
        for parent in path.parents:
            if (parent / "modules.json").exists():
                return str(parent)
    return name


@dataclass
class Built:
    index: HybridIndex
    ranker: Ranker
    folder: Path
    built_now: bool
    build_seconds: float
    training: dict[str, np.ndarray]


def training_queries(
    index: HybridIndex, analyzer: TextAnalyzer, embedder: Embedder, oos: list[str]
) -> list[TrainingQuery]:
    """Every sample question scored with its own unit hidden, plus out-of-scope questions."""
    vectors = index.dense.vectors()
    queries: list[TrainingQuery] = []
    for u, unit in enumerate(index.units):
        if unit.kind != "question":
            continue
        qs = index.query_signals(unit.text, analyzer, vectors[u])
        scores = index.entry_scores(qs, held_out=u)
        queries.append(TrainingQuery(scores, qs.lang, qs.coverage, len(qs.analyzed.tokens), unit.entry))
    oos_vecs = embedder.encode(oos) if oos else np.zeros((0, vectors.shape[1]), np.float32)
    for text, vec in zip(oos, oos_vecs, strict=True):
        qs = index.query_signals(text, analyzer, vec)
        queries.append(TrainingQuery(index.entry_scores(qs), qs.lang, qs.coverage, len(qs.analyzed.tokens), None))
    return queries


def _pack(queries: list[TrainingQuery]) -> dict[str, np.ndarray]:
    return {
        "scores": np.stack([q.scores for q in queries]),
        "lang": np.array([q.lang for q in queries]),
        "coverage": np.array([q.coverage for q in queries]),
        "n_tokens": np.array([q.n_tokens for q in queries]),
        "target": np.array([-1 if q.target is None else q.target for q in queries]),
    }


def unpack(training: dict[str, np.ndarray]) -> list[TrainingQuery]:
    return [
        TrainingQuery(s, str(lang), float(c), int(n), None if t < 0 else int(t))
        for s, lang, c, n, t in zip(
            training["scores"], training["lang"], training["coverage"], training["n_tokens"],
            training["target"], strict=True,
        )
    ]


def _save_ranker(ranker: Ranker, path: Path) -> None:
    data = {name: vars(getattr(ranker, name)) for name in ("fusion", "top1", "top2")}
    data["report"] = ranker.report
    path.write_text(json.dumps(data, indent=1))


def _load_ranker(path: Path) -> Ranker:
    data = json.loads(path.read_text())
    return Ranker(Linear(**data["fusion"]), Linear(**data["top1"]), Linear(**data["top2"]), data["report"])


def build_or_load(
    corpus: Corpus, data_dir: Path, analyzer: TextAnalyzer, embedder: Embedder, force: bool = False
) -> Built:
    key = index_key(corpus, embedder.model_name)
    root = Path(data_dir) / "index"
    folder = root / key
    if (folder / "ready").exists() and not force:
        with np.load(folder / "training.npz") as npz:
            training = {k: npz[k] for k in npz.files}
        meta = json.loads((folder / "ready").read_text())
        return Built(HybridIndex.load(folder), _load_ranker(folder / "ranker.json"), folder, False,
                     meta["build_seconds"], training)
    start = time.perf_counter()
    entries = [corpus.entries[i] for i in sorted(corpus.entries)]
    index = HybridIndex.build(entries, analyzer, embedder)
    queries = training_queries(index, analyzer, embedder, out_of_scope_training())
    ranker = fit_ranker(queries)
    training = _pack(queries)
    seconds = time.perf_counter() - start
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    index.save(tmp)
    _save_ranker(ranker, tmp / "ranker.json")
    np.savez(tmp / "training.npz", **training)
    meta = {"key": key, "model": embedder.model_name, "entries": len(entries),
            "units": len(index.units), "build_seconds": seconds}
    (tmp / "ready").write_text(json.dumps(meta))
    if folder.exists():  # a forced rebuild, or a concurrent builder won the race
        shutil.rmtree(folder, ignore_errors=True)
    try:
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    _prune(root, keep=folder)
    log.info("built index %s: %d entries in %.1f s", key, len(entries), seconds)
    return Built(index, ranker, folder, True, seconds, training)


def _prune(root: Path, keep: Path) -> None:
    """Keep the newest few index folders so that switching branches stays fast."""
    folders = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in folders[KEEP_INDEXES - 1 :]:
        shutil.rmtree(old, ignore_errors=True)

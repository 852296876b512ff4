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
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import yaml

from retrieval.corpus import Corpus, content_hash, entry_files
from retrieval.encoder import SentenceEncoder
from retrieval.index import FOLDS, DocSignals, HybridIndex, entry_doc, question_folds
from retrieval.ranking import Linear, Ranker, TrainingQuery, fit_ranker
from retrieval.schema import Entry
from retrieval.signals import LANGS, EmbeddingCache, Unit
from retrieval.text import MemoAnalyzer, TextAnalyzer
from runtime.build_lock import NotBuilt, build_lock
from runtime.language import Lang

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent
# Files whose change must rebuild the index (the code that shapes it, and its training data).
INDEX_CODE = (
    "build.py", "classifier.py", "corpus.py", "encoder.py", "encoder_export.py", "encoder_files.py", "index.py",
    "lexicon.py", "ranking.py", "schema.py", "signals.py", "text.py", "out_of_scope_train.yaml",
    "../runtime/language.py",  # the Simplified folding that text.py's tokens are made from
    "../runtime/tfidf.py",  # the served TF-IDF transform and its files
)
KEEP_INDEXES = 3


def index_key(corpus: Corpus, model_id: str, dense_langs: tuple[Lang, ...]) -> str:
    digest = hashlib.sha256()
    digest.update(content_hash(entry_files(corpus.root), corpus.root).encode())
    digest.update(model_id.encode())
    digest.update(",".join(sorted(dense_langs)).encode())
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
    training: dict[str, np.ndarray] | None  # None when loaded: see load_training
    known: dict[str, int]  # see known_questions
    build_cpu_seconds: float = 0.0


def known_questions(units: list[Unit], analyzer: TextAnalyzer) -> dict[str, int]:
    """Normalised sample question or title -> entry, for texts that belong to one entry only.
    A visitor who asks a sample question verbatim, or sends an entry's title (what the clarify
    and related-topic buttons send), gets that entry, whatever the scores. Made at build time and
    kept with the index: analysing every unit took a model worker 0.7 s at each start."""
    owners: dict[str, set[int]] = {}
    for unit in units:
        if unit.kind in ("question", "title"):
            key = analyzer.analyze(unit.text).normalized
            owners.setdefault(key, set()).add(unit.entry)
    return {k: next(iter(v)) for k, v in owners.items() if len(v) == 1}


def load_training(folder: Path) -> dict[str, np.ndarray]:
    """The ranker's training queries of a built index: evaluation and checks read them, serving
    does not, so a loaded index leaves them on disk (80 MB for the shipped corpus)."""
    with np.load(folder / "training.npz") as npz:
        return {k: npz[k] for k in npz.files}


def training_queries(
    index: HybridIndex, unit_oof: np.ndarray, entries: list[Entry], analyzer: MemoAnalyzer,
    embedder: SentenceEncoder, cache: EmbeddingCache, oos: list[str],
) -> list[TrainingQuery]:
    """Every sample question scored as if unseen, plus out-of-scope questions. ``unit_oof``:
    the classifier's out-of-fold decisions per unit, from ``HybridIndex.build``.

    Per-unit views hide the question's own unit; whole-entry documents are rebuilt without a
    fold of sample questions (5 folds) to score that fold; centroids drop the question's vector.
    """
    vectors = index.dense.vectors()
    questions = [u for u, unit in enumerate(index.units) if unit.kind == "question"]
    texts = [index.units[u].text for u in questions] + oos
    analyzed = [analyzer.analyze(t) for t in texts]
    # Queries in a language the model does not understand are not embedded at search time.
    embedded = [i for i, a in enumerate(analyzed) if a.lang in index.dense_langs]
    all_vecs = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
    if embedded:
        all_vecs[embedded] = cache.encode(embedder, [texts[i] for i in embedded])
    targets = [index.units[u].entry for u in questions] + [None] * len(oos)
    hidden: list[int | None] = [*questions, *([None] * len(oos))]
    folds = question_folds(index.units)
    fold = {u: int(folds[u]) for u in questions}
    # classifier shares: out-of-fold for sample questions, the full model for the others
    clf_all = index.classifier.probabilities(
        np.concatenate([
            unit_oof[questions],
            index.classifier.decisions(analyzed[len(questions) :]),
        ])
    )
    queries: list[TrainingQuery | None] = [None] * len(texts)
    for lang in LANGS:
        rows = [i for i, a in enumerate(analyzed) if a.lang == lang]
        if not rows:
            continue
        part = index.parts[lang]
        dense = index.dense.batch_scores(all_vecs[rows])
        char = part.char.batch_scores([analyzed[i].normalized for i in rows])
        bm25 = np.empty((len(rows), len(part.unit_ids)), dtype=np.float32)
        coverage = []
        for r, i in enumerate(rows):
            bm25[r], cov = part.bm25.unit_scores(analyzed[i].tokens)
            coverage.append(cov)
        doc = np.empty((len(rows), 3, index.n_entries), dtype=np.float32)
        held = [(r, unit) for r, i in enumerate(rows) if (unit := hidden[i]) is not None]
        free = [r for r, i in enumerate(rows) if hidden[i] is None]
        if held:
            rs = [r for r, _ in held]
            doc[rs, 0] = index.held_out_centroid_scores(all_vecs[[rows[r] for r in rs]], [u for _, u in held])
        if free:
            doc[free, 0] = all_vecs[[rows[r] for r in free]] @ index.centroids.T
            b, c = part.docs.scores([analyzed[rows[r]] for r in free])
            doc[free, 1], doc[free, 2] = b, c
        for f in range(FOLDS):
            in_fold = [(r, u) for r, u in held if fold[u] == f]
            if not in_fold:
                continue
            skip = {index.units[u].text for u, k in fold.items() if k == f and index.units[u].lang == lang}
            docs = DocSignals.build([entry_doc(e, lang, frozenset(skip)) for e in entries], lang, analyzer)
            b, c = docs.scores([analyzed[rows[r]] for r, _ in in_fold])
            rs = [r for r, _ in in_fold]
            doc[rs, 1], doc[rs, 2] = b, c
        scores = index.aggregate(lang, dense, bm25, char, doc, clf_all[rows], [hidden[i] for i in rows])
        for r, i in enumerate(rows):
            queries[i] = TrainingQuery(scores[r], lang, coverage[r], len(analyzed[i].tokens), targets[i])
    return [q for q in queries if q is not None]


def _pack(queries: list[TrainingQuery]) -> dict[str, np.ndarray]:
    return {
        "scores": np.stack([q.scores for q in queries]),
        "lang": np.array([q.lang for q in queries]),
        "coverage": np.array([q.coverage for q in queries]),
        "n_tokens": np.array([q.n_tokens for q in queries]),
        "target": np.array([-1 if q.target is None else q.target for q in queries]),
    }


def _save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """What ``np.savez`` writes, with every member dated 1980-01-01 (zip's epoch): np.savez
    stamps the time of writing, and two builds of one corpus must give the same bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            with archive.open(zipfile.ZipInfo(f"{name}.npy"), "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def unpack(training: dict[str, np.ndarray]) -> list[TrainingQuery]:
    return [
        # The file holds what _pack wrote: each lang is one of LANGS.
        TrainingQuery(s, cast(Lang, str(lang)), float(c), int(n), None if t < 0 else int(t))
        for s, lang, c, n, t in zip(
            training["scores"], training["lang"], training["coverage"], training["n_tokens"],
            training["target"], strict=True,
        )
    ]


def _save_ranker(ranker: Ranker, path: Path) -> None:
    data = {name: vars(getattr(ranker, name)) for name in ("fusion", "top1", "scope")}
    data["report"] = ranker.report
    data["answer_at"] = ranker.answer_at
    path.write_text(json.dumps(data, indent=1))


def _load_ranker(path: Path) -> Ranker:
    data = json.loads(path.read_text())
    return Ranker(
        Linear(**data["fusion"]), Linear(**data["top1"]), Linear(**data["scope"]), data["report"], data["answer_at"]
    )


def build_or_load(
    corpus: Corpus, data_dir: Path, analyzer: TextAnalyzer, embedder: SentenceEncoder,
    dense_langs: tuple[Lang, ...] = ("en",), force: bool = False, *, build: bool = True,
) -> Built:
    """The index for this corpus, model and embedded languages: from the cache, or built once
    under the build lock of ``<data_dir>/index`` (``build=False``: ``NotBuilt`` instead)."""
    key = index_key(corpus, embedder.model_id, dense_langs)
    root = Path(data_dir) / "index"
    folder = root / key
    if (folder / "ready").exists() and not force:
        return _load_built(folder)
    if not build:
        raise NotBuilt(f"no retrieval index {folder}")
    with build_lock(root):
        if (folder / "ready").exists() and not force:  # built while this process waited
            return _load_built(folder)
        return _build(corpus, Path(data_dir), analyzer, embedder, dense_langs, key)


def _load_built(folder: Path) -> Built:
    meta = json.loads((folder / "ready").read_text())
    known = json.loads((folder / "known.json").read_text(encoding="utf-8"))
    return Built(HybridIndex.load(folder), _load_ranker(folder / "ranker.json"), folder, False,
                 meta["build_seconds"], None, known, meta.get("build_cpu_seconds", 0.0))


def _build(corpus: Corpus, data_dir: Path, analyzer: TextAnalyzer, embedder: SentenceEncoder,
           dense_langs: tuple[Lang, ...], key: str) -> Built:
    root = data_dir / "index"
    folder = root / key
    start, cpu_start = time.perf_counter(), time.process_time()
    entries = [corpus.entries[i] for i in sorted(corpus.entries)]
    cache = EmbeddingCache(data_dir / "embeddings", embedder.model_id)
    memo = MemoAnalyzer(analyzer)
    index, unit_oof = HybridIndex.build(entries, memo, embedder, cache, dense_langs)
    queries = training_queries(index, unit_oof, entries, memo, embedder, cache, out_of_scope_training())
    ranker = fit_ranker(queries)
    training = _pack(queries)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    index.save(tmp)
    _save_ranker(ranker, tmp / "ranker.json")
    _save_arrays(tmp / "training.npz", training)
    known = known_questions(index.units, memo)
    (tmp / "known.json").write_text(json.dumps(known, ensure_ascii=False), encoding="utf-8")
    meta = {"key": key, "model": embedder.model_id, "dense_langs": list(dense_langs), "entries": len(entries),
            "units": len(index.units), "build_seconds": seconds, "build_cpu_seconds": cpu_seconds}
    (tmp / "ready").write_text(json.dumps(meta))
    if folder.exists():  # a forced rebuild (builders take turns under the lock)
        shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    _prune(root, keep=folder)
    log.info("built index %s: %d entries in %.1f s (%.1f s CPU)", key, len(entries), seconds, cpu_seconds)
    return Built(index, ranker, folder, True, seconds, training, known, cpu_seconds)


def _prune(root: Path, keep: Path) -> None:
    """Keep the newest few index folders so that switching branches stays fast; drop the
    half-written folders of builds that were killed (older than an hour)."""
    for tmp in root.glob(".*"):
        if tmp.is_dir() and time.time() - tmp.stat().st_mtime > 3600:
            shutil.rmtree(tmp, ignore_errors=True)
    folders = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in folders[KEEP_INDEXES - 1 :]:
        shutil.rmtree(old, ignore_errors=True)

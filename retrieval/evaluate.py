"""`python -m retrieval evaluate`: the dev set, hybrid vs dense-only vs lexical-only.

The dev set (benchmarks/retrieval_dev/*.jsonl) is never used to fit anything. The single-signal
variants get their own fusion and confidence models, fitted exactly like the hybrid one (held-out
sample questions + out-of-scope training questions) with the other signals removed, so that
declines are compared fairly too.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.build import unpack
from retrieval.index import N_FEATURES, SIGNALS, signal_rows
from retrieval.ranking import Ranker, TrainingQuery, fit_ranker
from retrieval.retriever import Retriever

DEV_DIR = Path(__file__).resolve().parent.parent / "benchmarks" / "retrieval_dev"
VARIANTS: dict[str, tuple[str, ...]] = {
    "hybrid": SIGNALS,
    "dense": ("dense",),
    "lexical": ("bm25", "char", "clf"),
}


@dataclass
class DevRow:
    q: str
    expected: str | None
    lang: str
    script: str
    source: str


def load_dev(folder: Path = DEV_DIR) -> list[DevRow]:
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                rows.append(DevRow(data["q"], data.get("expected"), data["lang"], data["script"], f"{path.name}:{n}"))
            except (json.JSONDecodeError, KeyError) as exc:
                raise ValueError(f"{path}:{n}: bad dev row ({exc})") from exc
    return rows


def signal_mask(signals: tuple[str, ...]) -> np.ndarray:
    keep = np.zeros(N_FEATURES, dtype=np.float32)
    for name in signals:
        keep[signal_rows(name)] = 1.0
    return keep[:, None]


def masked(queries: list[TrainingQuery], mask: np.ndarray) -> list[TrainingQuery]:
    return [TrainingQuery(q.scores * mask, q.lang, q.coverage, q.n_tokens, q.target) for q in queries]


@dataclass
class Tally:
    n: int = 0
    r1: int = 0
    r3: int = 0
    rr: float = 0.0
    declined: int = 0  # in scope but declined (false declines)
    answered: int = 0  # in scope, decision "answer"
    answered_right: int = 0
    oos: int = 0
    oos_declined: int = 0
    misses: list[dict] = field(default_factory=list)

    def add(self, row: DevRow, ranked: list[str], decision: str) -> None:
        if row.expected is None:
            self.oos += 1
            self.oos_declined += int(decision == "decline")
            if decision != "decline":
                self.misses.append({"q": row.q, "expected": None, "got": ranked[0], "decision": decision})
            return
        self.n += 1
        rank = ranked.index(row.expected) + 1 if row.expected in ranked else 0
        self.r1 += int(rank == 1)
        self.r3 += int(1 <= rank <= 3)
        self.rr += 1.0 / rank if rank else 0.0
        self.declined += int(decision == "decline")
        self.answered += int(decision == "answer")
        self.answered_right += int(decision == "answer" and rank == 1)
        if rank != 1:
            self.misses.append({"q": row.q, "expected": row.expected, "got": ranked[0], "decision": decision})

    def summary(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {"n": self.n}
        if self.n:
            out |= {
                "recall@1": self.r1 / self.n,
                "recall@3": self.r3 / self.n,
                "mrr": self.rr / self.n,
                "false_decline": self.declined / self.n,
                "answered": self.answered / self.n,
                "answer_precision": self.answered_right / self.answered if self.answered else 0.0,
            }
        if self.oos:
            out |= {"oos_n": self.oos, "oos_rejection": self.oos_declined / self.oos}
        return out


def evaluate(retriever: Retriever, rows: list[DevRow]) -> dict:
    training = unpack(retriever.training)
    rankers: dict[str, tuple[Ranker, np.ndarray]] = {}
    for name, signals in VARIANTS.items():
        mask = signal_mask(signals)
        ranker = retriever.ranker if name == "hybrid" else fit_ranker(masked(training, mask))
        rankers[name] = (ranker, mask)
    known = set(retriever.index.entry_ids)
    unknown = sorted({r.expected for r in rows if r.expected and r.expected not in known})
    rows = [r for r in rows if r.expected is None or r.expected in known]
    vectors = retriever.query_vectors([r.q for r in rows])
    tallies: dict[str, dict[str, Tally]] = {v: defaultdict(Tally) for v in VARIANTS}
    for row, vec in zip(rows, vectors, strict=True):
        for name, (ranker, mask) in rankers.items():
            res = retriever._rank(row.q, vec, 10, ranker, feature_mask=mask)
            ranked = [h.entry_id for h in res.hits]
            for key in ("all", f"lang:{row.lang}", f"script:{row.script}"):
                tallies[name][key].add(row, ranked, res.decision)
    return {
        "rows": len(rows),
        "skipped_unknown_expected": unknown,
        "variants": {
            name: {key: t.summary() for key, t in sorted(by_key.items())} for name, by_key in tallies.items()
        },
        "hybrid_misses": tallies["hybrid"]["all"].misses,
    }

"""`python -m retrieval check`: schema and link problems, then self-retrieval of sample questions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from retrieval.build import unpack
from retrieval.corpus import Corpus, Issue
from retrieval.policy import is_due
from retrieval.retriever import Retriever

SELF_RETRIEVAL_MIN = 0.90


@dataclass
class Miss:
    entry_id: str
    question: str
    where: str  # file:line of the sample question
    got: str  # entry that came first


@dataclass
class SelfRetrieval:
    total: int = 0
    misses: list[Miss] = field(default_factory=list)
    heldout_total: int = 0
    heldout_hits: int = 0

    @property
    def rate(self) -> float:
        return 1.0 - len(self.misses) / self.total if self.total else 1.0

    @property
    def heldout_rate(self) -> float:
        return self.heldout_hits / self.heldout_total if self.heldout_total else 1.0


def self_retrieval(retriever: Retriever) -> SelfRetrieval:
    """Each sample question must bring its own entry first. Two passes:

    - as indexed (the gate): a miss means the question fits another entry better;
    - held out (information): the question hidden from the index, i.e. how well an unseen
      paraphrase would do. This is the same data the confidence model is fitted on.
    """
    index = retriever.index
    result = SelfRetrieval()
    vectors = index.dense.vectors()
    corpus = retriever.corpus
    counters: dict[tuple[int, str], int] = {}
    for u, unit in enumerate(index.units):
        if unit.kind != "question":
            continue
        entry_id = index.entry_ids[unit.entry]
        n = counters.get((unit.entry, unit.lang), 0)
        counters[(unit.entry, unit.lang)] = n + 1
        # by scores alone: the verbatim-question shortcut would make this pass trivially
        # the unit's own vector: zero for units outside the model's languages, like their queries
        res = retriever._rank(unit.text, vectors[u], 1, retriever.ranker, use_known=False)
        result.total += 1
        if res.hits[0].entry_id != entry_id:
            line = corpus.line_of(entry_id, f"questions.{unit.lang}.{n}")
            where = f"{corpus.files[entry_id]}:{line}" if line else str(corpus.files[entry_id])
            result.misses.append(Miss(entry_id, unit.text, where, res.hits[0].entry_id))
    for q in unpack(retriever.training):
        if q.target is None:
            continue
        result.heldout_total += 1
        result.heldout_hits += int(np.argmax(retriever.ranker.fuse(q.scores, q.lang)) == q.target)
    return result


def format_issues(corpus: Corpus) -> list[str]:
    return [str(i) for i in sorted(corpus.issues, key=_issue_order)]


def _issue_order(issue: Issue) -> tuple[str, int]:
    return (str(issue.path), issue.line or 0)


def due_for_review(corpus: Corpus, today: dt.date) -> list[str]:
    """``file:line: review_by <date> (verified <date>): <id>`` for each entry past its review date,
    oldest first."""
    due = sorted((e.review_by, i) for i, e in corpus.entries.items() if is_due(e, today))
    lines = []
    for review_by, entry_id in due:
        entry, path = corpus.entries[entry_id], corpus.files[entry_id]
        line = corpus.line_of(entry_id, "review_by")
        kind = ", time-limited" if entry.time_limited else ""
        lines.append(f"{path}:{line}: review_by {review_by} (verified {entry.verified}{kind}): {entry_id}")
    return lines

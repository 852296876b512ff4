"""The hybrid index: units of every entry, scored by each signal and aggregated per entry."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from retrieval.classifier import EntryClassifier
from retrieval.encoder import SentenceEncoder
from retrieval.schema import Entry
from retrieval.signals import (
    LANGS,
    Bm25Signal,
    CharSignal,
    DenseSignal,
    EmbeddingCache,
    QuerySignals,
    Unit,
)
from retrieval.text import Analyzed, MemoAnalyzer, TextAnalyzer
from runtime.language import Lang

UNIT_SIGNALS: tuple[str, ...] = ("dense", "bm25", "char")  # similarity of the query to each unit
SIGNALS: tuple[str, ...] = (*UNIT_SIGNALS, "clf")  # + the entry classifier's share
KINDS: tuple[str, ...] = ("question", "title", "answer")
# Per unit signal: best sample question, mean over sample questions, title, answer.
UNIT_VIEWS: tuple[str, ...] = ("q_max", "q_mean", "title", "answer")
VIEWS: tuple[str, ...] = (*UNIT_VIEWS, "doc")
N_FEATURES = len(UNIT_SIGNALS) * len(VIEWS) + 1  # feature rows: signal x view, then clf
FOLDS = 5  # sample questions are held out in this many folds to train the ranker


def signal_rows(name: str) -> slice:
    """The feature rows of one signal."""
    if name == "clf":
        return slice(N_FEATURES - 1, N_FEATURES)
    i = UNIT_SIGNALS.index(name)
    return slice(i * len(VIEWS), (i + 1) * len(VIEWS))


def question_folds(units: list[Unit]) -> np.ndarray:
    """Fold of each unit's held-out round: sample questions round-robin, other units -1."""
    folds = np.full(len(units), -1, dtype=np.int64)
    questions = [u for u, unit in enumerate(units) if unit.kind == "question"]
    folds[questions] = np.arange(len(questions)) % FOLDS
    return folds


def entry_units(entries: list[Entry]) -> list[Unit]:
    units: list[Unit] = []
    for i, entry in enumerate(entries):
        for lang in LANGS:
            for q in entry.questions_for(lang):
                units.append(Unit(i, lang, "question", q))
            units.append(Unit(i, lang, "title", getattr(entry.title, lang)))
            answer = getattr(entry.answer, lang)
            units.append(Unit(i, lang, "answer", f"{answer.short}\n{answer.details}".strip()))
    return units


def entry_doc(entry: Entry, lang: Lang, skip: frozenset[str] = frozenset()) -> list[str]:
    """Everything an entry says in one language, as the lines of one document (pools evidence
    that is spread over several sample questions); ``skip`` leaves out held-out sample questions."""
    answer = getattr(entry.answer, lang)
    questions = [q for q in entry.questions_for(lang) if q not in skip]
    return [getattr(entry.title, lang), *questions, answer.short, *answer.details.splitlines(), " ".join(entry.tags)]


@dataclass
class DocSignals:
    """Lexical signals over whole-entry documents of one language (position = entry)."""

    bm25: Bm25Signal
    char: CharSignal

    @classmethod
    def build(cls, docs: list[list[str]], lang: Lang, analyzer: MemoAnalyzer) -> DocSignals:
        analyzed = [analyzer.analyze_lines(d, lang) for d in docs]
        return cls(
            Bm25Signal.build([a.tokens for a in analyzed]),
            CharSignal.build(lang, [a.normalized for a in analyzed]),
        )

    def scores(self, analyzed: list[Analyzed]) -> tuple[np.ndarray, np.ndarray]:
        bm25 = np.stack([self.bm25.unit_scores(a.tokens)[0] for a in analyzed])
        if len(analyzed) == 1:  # a live query: the fast path
            return bm25, self.char.unit_scores(analyzed[0].normalized)[None, :]
        return bm25, self.char.batch_scores([a.normalized for a in analyzed])

    def save(self, folder: Path) -> None:
        folder.mkdir(exist_ok=True)
        self.bm25.save(folder)
        self.char.save(folder)

    @classmethod
    def load(cls, folder: Path) -> DocSignals:
        return cls(Bm25Signal.load(folder), CharSignal.load(folder))


class Layout:
    """Where each entry's units of each kind sit in one score vector (units are entry-ordered,
    and the schema guarantees every entry has questions, a title and an answer per language)."""

    def __init__(self, units: list[Unit], n_entries: int) -> None:
        entries = np.arange(n_entries)
        self.pos: dict[str, np.ndarray] = {}
        self.starts: dict[str, np.ndarray] = {}
        for kind in KINDS:
            pos = np.array([i for i, u in enumerate(units) if u.kind == kind], dtype=np.int64)
            owner = np.array([units[i].entry for i in pos], dtype=np.int64)
            self.pos[kind] = pos
            self.starts[kind] = np.searchsorted(owner, entries)
        owner_q = np.array([units[i].entry for i in self.pos["question"]], dtype=np.int64)
        self.q_count = np.bincount(owner_q, minlength=n_entries).astype(np.float32)
        self.q_divisor = np.maximum(self.q_count, 1.0)

    def views(self, scores: np.ndarray, hidden_entry: np.ndarray) -> np.ndarray:
        """[query, view, entry]; ``hidden_entry[r]`` is the entry whose question row r hides (-1)."""
        out = np.zeros((scores.shape[0], len(UNIT_VIEWS), len(self.q_count)), dtype=np.float32)
        if not scores.any():  # a Chinese query's dense signal, a query of unknown words: all 0
            return out
        q = scores[:, self.pos["question"]]
        out[:, 0] = np.maximum.reduceat(q, self.starts["question"], axis=1)
        sums = np.add.reduceat(np.maximum(q, 0.0), self.starts["question"], axis=1)
        out[:, 1] = sums / self._divisors(hidden_entry)
        out[:, 2] = np.maximum.reduceat(scores[:, self.pos["title"]], self.starts["title"], axis=1)
        out[:, 3] = np.maximum.reduceat(scores[:, self.pos["answer"]], self.starts["answer"], axis=1)
        return np.maximum(out, 0.0)

    def _divisors(self, hidden_entry: np.ndarray) -> np.ndarray:
        """Sample questions per entry (at least 1) that row r sees: [query, entry], or [entry]
        for all rows when none hides a question (a live query)."""
        rows = np.nonzero(hidden_entry >= 0)[0]
        if not len(rows):
            return self.q_divisor
        counts = np.broadcast_to(self.q_count, (len(hidden_entry), len(self.q_count))).copy()
        counts[rows, hidden_entry[rows]] -= 1
        return np.maximum(counts, 1.0)


@dataclass
class LangPart:
    unit_ids: np.ndarray  # global unit numbers of this language, in order
    bm25: Bm25Signal
    char: CharSignal
    layout: Layout
    docs: DocSignals


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


class HybridIndex:
    def __init__(
        self, entry_ids: list[str], units: list[Unit], dense: DenseSignal, parts: dict[Lang, LangPart],
        classifier: EntryClassifier, dense_langs: tuple[Lang, ...],
    ) -> None:
        self.entry_ids = entry_ids
        self.units = units
        self.dense = dense
        self.parts = parts
        self.classifier = classifier
        self.dense_langs = dense_langs  # query languages that get an embedding (others: zeros)
        self.layout = Layout(units, len(entry_ids))
        # Dense "document" = normalised mean of an entry's sample questions and titles.
        vectors = dense.vectors()
        pooled = np.array([u.kind != "answer" for u in units])
        self.centroid_sum = np.zeros((len(entry_ids), vectors.shape[1]), dtype=np.float32)
        np.add.at(self.centroid_sum, np.array([u.entry for u in units])[pooled], vectors[pooled])
        self.centroids = _normalize(self.centroid_sum)
        # position of a global unit inside its language part, for masking held-out questions
        self.local_pos = np.empty(len(units), dtype=np.int64)
        for part in parts.values():
            self.local_pos[part.unit_ids] = np.arange(len(part.unit_ids))

    @property
    def n_entries(self) -> int:
        return len(self.entry_ids)

    @classmethod
    def build(
        cls, entries: list[Entry], analyzer: MemoAnalyzer, embedder: SentenceEncoder, cache: EmbeddingCache,
        dense_langs: tuple[Lang, ...],
    ) -> tuple[HybridIndex, np.ndarray]:
        """The index, and the classifier's out-of-fold decisions per unit [unit, entry] for
        training the ranker (not saved: a loaded index comes with its ranker)."""
        units = entry_units(entries)
        # Only units in the model's languages are embedded (an English-only model's vectors of
        # Chinese text are noise, and half the build's encoding time); the others stay zero.
        embedded = [i for i, u in enumerate(units) if u.lang in dense_langs]
        vectors = np.zeros((len(units), embedder.dim), dtype=np.float32)
        if embedded:
            vectors[embedded] = cache.encode(embedder, [units[i].text for i in embedded])
        dense = DenseSignal.build(vectors)
        parts = {}
        for lang in LANGS:
            ids = np.array([i for i, u in enumerate(units) if u.lang == lang], dtype=np.int64)
            analyzed = [analyzer.analyze(units[i].text, lang) for i in ids]
            parts[lang] = LangPart(
                unit_ids=ids,
                bm25=Bm25Signal.build([a.tokens for a in analyzed]),
                char=CharSignal.build(lang, [a.normalized for a in analyzed]),
                layout=Layout([units[i] for i in ids], len(entries)),
                docs=DocSignals.build([entry_doc(e, lang) for e in entries], lang, analyzer),
            )
        # The classifier learns from sample questions and titles (answers are long and shared
        # wording between entries would blur it).
        taught = [i for i, u in enumerate(units) if u.kind != "answer"]
        folds = question_folds(units)[taught]
        docs = [analyzer.analyze(units[i].text, units[i].lang) for i in taught]
        classifier, oof = EntryClassifier.fit(docs, [units[i].entry for i in taught], len(entries), folds)
        unit_oof = np.zeros((len(units), len(entries)), dtype=np.float32)
        unit_oof[taught] = oof
        return cls([e.id for e in entries], units, dense, parts, classifier, dense_langs), unit_oof

    # -- scoring -------------------------------------------------------------------------------
    def query_signals(
        self, text: str, analyzer: TextAnalyzer, query_vec: np.ndarray, lang: Lang | None = None
    ) -> QuerySignals:
        analyzed = analyzer.analyze(text, lang)
        part = self.parts[analyzed.lang]
        bm25, coverage = part.bm25.unit_scores(analyzed.tokens)
        doc_bm25, doc_char = part.docs.scores([analyzed])
        return QuerySignals(
            lang=analyzed.lang,
            dense=self.dense.unit_scores(query_vec),
            bm25=bm25,
            char=part.char.unit_scores(analyzed.normalized),
            doc=np.stack([self.centroids @ query_vec, doc_bm25[0], doc_char[0]]),
            clf=self.classifier.probabilities(self.classifier.decision(analyzed)),
            coverage=coverage,
            analyzed=analyzed,
        )

    def entry_scores(self, qs: QuerySignals, held_out: int | None = None) -> np.ndarray:
        """[feature, entry] for one query (see ``aggregate``). ``held_out`` hides one unit from
        the per-unit views (the whole-entry views are held out by folds at build time)."""
        dense, bm25, char = qs.dense[None, :], qs.bm25[None, :], qs.char[None, :]
        if held_out is not None:
            dense, bm25, char = dense.copy(), bm25.copy(), char.copy()
        return self.aggregate(qs.lang, dense, bm25, char, qs.doc[None], qs.clf[None], [held_out])[0]

    def aggregate(
        self, lang: Lang, dense: np.ndarray, bm25: np.ndarray, char: np.ndarray, doc: np.ndarray,
        clf: np.ndarray, hidden: list[int | None],
    ) -> np.ndarray:
        """[query, feature, entry] from per-unit scores, whole-entry scores ``doc`` [query,
        signal, entry] and classifier shares ``clf`` [query, entry]. Row r does not see unit
        ``hidden[r]`` (arrays change in place)."""
        part = self.parts[lang]
        hidden_entry = np.full(dense.shape[0], -1, dtype=np.int64)
        hidden_local = np.full(dense.shape[0], -1, dtype=np.int64)
        for row, unit in enumerate(hidden):
            if unit is None:
                continue
            dense[row, unit] = -1.0
            if self.units[unit].lang == lang:
                bm25[row, self.local_pos[unit]] = 0.0
                char[row, self.local_pos[unit]] = 0.0
                hidden_local[row] = self.units[unit].entry
            hidden_entry[row] = self.units[unit].entry
        views = [
            self.layout.views(dense, hidden_entry),
            part.layout.views(bm25, hidden_local),
            part.layout.views(char, hidden_local),
        ]
        blocks = []
        for s, view in enumerate(views):
            blocks.extend([view, np.maximum(doc[:, s : s + 1], 0.0)])
        blocks.append(clf[:, None, :])
        return np.concatenate(blocks, axis=1)

    def held_out_centroid_scores(self, query_vecs: np.ndarray, units: list[int]) -> np.ndarray:
        """[query, entry] cosine to the centroids, each row without its own unit's vector."""
        scores = query_vecs @ self.centroids.T
        vectors = self.dense.vectors()
        for row, unit in enumerate(units):
            e = self.units[unit].entry
            centroid = _normalize(self.centroid_sum[e] - vectors[unit])
            scores[row, e] = float(query_vecs[row] @ centroid)
        return scores

    @staticmethod
    def per_signal(features: np.ndarray) -> np.ndarray:
        """[signal, entry]: each signal's best view (for reports and confidence features)."""
        units = features[: N_FEATURES - 1].reshape(len(UNIT_SIGNALS), len(VIEWS), -1)[:, [0, 2, 3]].max(axis=1)
        return np.concatenate([units, features[N_FEATURES - 1 :]], axis=0)

    # -- persistence ---------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        meta = {"entry_ids": self.entry_ids, "units": [asdict(u) for u in self.units],
                "dense_langs": list(self.dense_langs)}
        (folder / "units.json").write_text(json.dumps(meta, ensure_ascii=False))
        self.dense.save(folder)
        for lang, part in self.parts.items():
            sub = folder / lang
            sub.mkdir(exist_ok=True)
            part.bm25.save(sub)
            part.char.save(sub)
            part.docs.save(sub / "doc")
        self.classifier.save(folder)

    @classmethod
    def load(cls, folder: Path) -> HybridIndex:
        meta = json.loads((folder / "units.json").read_text())
        units = [Unit(**u) for u in meta["units"]]
        dense = DenseSignal.load(folder)
        parts = {}
        for lang in LANGS:
            ids = np.array([i for i, u in enumerate(units) if u.lang == lang], dtype=np.int64)
            parts[lang] = LangPart(
                unit_ids=ids,
                bm25=Bm25Signal.load(folder / lang),
                char=CharSignal.load(folder / lang),
                layout=Layout([units[i] for i in ids], len(meta["entry_ids"])),
                docs=DocSignals.load(folder / lang / "doc"),
            )
        return cls(meta["entry_ids"], units, dense, parts, EntryClassifier.load(folder), tuple(meta["dense_langs"]))

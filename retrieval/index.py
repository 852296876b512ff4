"""The hybrid index: units of every entry, scored by each signal and aggregated per entry."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from retrieval.schema import Entry
from retrieval.signals import LANGS, Bm25Signal, CharSignal, DenseSignal, Embedder, QuerySignals, Unit
from retrieval.text import Lang, TextAnalyzer

SIGNALS: tuple[str, ...] = ("dense", "bm25", "char")


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


@dataclass
class LangPart:
    unit_ids: np.ndarray  # global unit numbers of this language, in order
    unit_entry: np.ndarray
    bm25: Bm25Signal
    char: CharSignal


class HybridIndex:
    def __init__(
        self, entry_ids: list[str], units: list[Unit], dense: DenseSignal, parts: dict[Lang, LangPart]
    ) -> None:
        self.entry_ids = entry_ids
        self.units = units
        self.dense = dense
        self.parts = parts
        self.unit_entry = np.array([u.entry for u in units], dtype=np.int64)
        # position of a global unit inside its language part, for masking held-out questions
        self.local_pos = np.empty(len(units), dtype=np.int64)
        for part in parts.values():
            self.local_pos[part.unit_ids] = np.arange(len(part.unit_ids))

    @property
    def n_entries(self) -> int:
        return len(self.entry_ids)

    @classmethod
    def build(cls, entries: list[Entry], analyzer: TextAnalyzer, embedder: Embedder) -> HybridIndex:
        units = entry_units(entries)
        vectors = embedder.encode([u.text for u in units])
        dense = DenseSignal.build(units, vectors)
        parts = {}
        for lang in LANGS:
            ids = np.array([i for i, u in enumerate(units) if u.lang == lang], dtype=np.int64)
            analyzed = [analyzer.analyze(units[i].text, lang) for i in ids]
            parts[lang] = LangPart(
                unit_ids=ids,
                unit_entry=np.array([units[i].entry for i in ids], dtype=np.int64),
                bm25=Bm25Signal.build([a.tokens for a in analyzed]),
                char=CharSignal.build(lang, [a.normalized for a in analyzed]),
            )
        return cls([e.id for e in entries], units, dense, parts)

    # -- scoring -------------------------------------------------------------------------------
    def query_signals(
        self, text: str, analyzer: TextAnalyzer, query_vec: np.ndarray, lang: Lang | None = None
    ) -> QuerySignals:
        analyzed = analyzer.analyze(text, lang)
        part = self.parts[analyzed.lang]
        bm25, coverage = part.bm25.unit_scores(analyzed.tokens)
        return QuerySignals(
            lang=analyzed.lang,
            dense=self.dense.unit_scores(query_vec),
            bm25=bm25,
            char=part.char.unit_scores(analyzed.normalized),
            coverage=coverage,
            analyzed=analyzed,
        )

    def entry_scores(self, qs: QuerySignals, held_out: int | None = None) -> np.ndarray:
        """Matrix [signal, entry]: best unit score per entry. ``held_out`` hides one unit (a
        sample question scored against the rest of the corpus, for checks and calibration)."""
        part = self.parts[qs.lang]
        dense, bm25, char = qs.dense, qs.bm25, qs.char
        if held_out is not None:
            dense, bm25, char = dense.copy(), bm25.copy(), char.copy()
            dense[held_out] = -1.0
            if self.units[held_out].lang == qs.lang:
                pos = self.local_pos[held_out]
                bm25[pos] = 0.0
                char[pos] = 0.0
        out = np.full((len(SIGNALS), self.n_entries), -1.0, dtype=np.float32)
        np.maximum.at(out[0], self.unit_entry, dense)
        out[1:] = 0.0
        np.maximum.at(out[1], part.unit_entry, bm25)
        np.maximum.at(out[2], part.unit_entry, char)
        out[0] = np.maximum(out[0], 0.0)
        return out

    # -- persistence ---------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        meta = {"entry_ids": self.entry_ids, "units": [asdict(u) for u in self.units]}
        (folder / "units.json").write_text(json.dumps(meta, ensure_ascii=False))
        self.dense.save(folder)
        for lang, part in self.parts.items():
            sub = folder / lang
            sub.mkdir(exist_ok=True)
            part.bm25.save(sub)
            part.char.save(sub)

    @classmethod
    def load(cls, folder: Path) -> HybridIndex:
        meta = json.loads((folder / "units.json").read_text())
        units = [Unit(**u) for u in meta["units"]]
        dense = DenseSignal.load(folder, units)
        parts = {}
        for lang in LANGS:
            ids = np.array([i for i, u in enumerate(units) if u.lang == lang], dtype=np.int64)
            parts[lang] = LangPart(
                unit_ids=ids,
                unit_entry=np.array([units[i].entry for i in ids], dtype=np.int64),
                bm25=Bm25Signal.load(folder / lang),
                char=CharSignal.load(folder / lang),
            )
        return cls(meta["entry_ids"], units, dense, parts)

"""The benchmark splits: nlu_data hold-out, CLINC150 (train -> val, with OOS), xSID zh+en 5-fold."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sklearn.model_selection import StratifiedGroupKFold

from bot.nlu.dataset import TrainingData, load_training_data
from bot.nlu.evaluation import holdout_split
from bot.nlu.types import OUT_OF_SCOPE, Example

ROOT = Path(__file__).resolve().parents[2]
# The team's shared folder sits next to the checkout (README); BENCHMARK_DATA points elsewhere.
SHARED = Path(os.environ.get("BENCHMARK_DATA", ROOT.parent / "shared" / "benchmarks"))


@dataclass
class Split:
    name: str
    train: TrainingData
    test: list[Example]


def nlu_data_holdout() -> Iterator[Split]:
    data = load_training_data(ROOT / "nlu_data")
    data.examples, test = holdout_split(data.examples, 0.2, seed=0)
    yield Split("nlu_data 80/20", data, test)


def clinc150(path: Path = SHARED / "clinc150" / "train_val.json") -> Iterator[Split]:
    raw = json.loads(path.read_text(encoding="utf-8"))

    def rows(*keys: str) -> list[Example]:
        return [Example(t, OUT_OF_SCOPE if i == "oos" else i) for k in keys for t, i in raw[k]]

    yield Split("CLINC150 train->val", TrainingData(examples=rows("train", "oos_train")), rows("val", "oos_val"))


def read_xsid(path: Path) -> list[tuple[str, str, str]]:
    """(position, text, intent) per utterance of an xSID .conll file. The zh and en files are
    parallel (same order; only zh carries ``# id``), so the position identifies the utterance."""
    out, meta = [], {}
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("# ") and " = " in line:
            key, _, value = line[2:].partition(" = ")
            meta.setdefault(key.strip(), value.strip())
        elif not line.strip() and meta:
            out.append((str(len(out)), meta["text"], meta["intent"]))
            meta = {}
    return out


def xsid(folds: int = 5, langs: tuple[str, ...] = ("zh", "en")) -> Iterator[Split]:
    rows = []
    for lang in langs:
        rows += [(f"{i}", Example(text, intent))
                 for i, text, intent in read_xsid(SHARED / "xsid" / f"{lang}.valid.conll")]
    # Group by utterance id so a sentence and its translation never sit on both sides of a fold.
    groups = [i for i, _ in rows]
    labels = [e.intent for _, e in rows]
    warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=0)
    for k, (tr, te) in enumerate(splitter.split(rows, labels, groups)):
        yield Split(f"xSID zh+en fold {k + 1}/{folds}", TrainingData(examples=[rows[i][1] for i in tr]),
                    [rows[i][1] for i in te])

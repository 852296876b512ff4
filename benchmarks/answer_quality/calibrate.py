"""Calibrate the answer policy's thresholds (bot/answer_policy.py) on the TUNING set.

    python -m benchmarks.answer_quality.calibrate [--data-dir data]

Runs NLU and the retriever in-process on every single tuning case the retriever decides (answer
questions and off-topic ones), labels which of the top entries carries the case's facts, and
searches a grid of thresholds for the best visitor utility:

    right answer +1, wrong answer with the right entry among the buttons under it +0.3, other
    wrong answer -0.5, clarify offering the right entry +0.3, other clarify 0,
    a vague question clarified +1 (answered +0.5), an answerable question declined -1,
    off-topic declined +1 (answered -1, clarified -0.5, "not found" +0.5).

It prints the best thresholds and their figures; the defaults in answer_policy.py are set from
it. The blind set is never read here.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass, replace

from benchmarks.answer_quality.cases import SETS_DIR, Turn, has_fact, load_cases
from bot.answer_policy import THRESHOLDS, Evidence, Thresholds, alternatives, choose
from bot.dialogue import reads_as_ours
from bot.settings import Settings

GRID = {
    "clarify_below": (0.0, 0.2),
    "tie_ratio": (0.9, 1.01),
    "rescue_at": (0.0, 0.3, 1.01),
    "oos_scope_below": (0.5, 0.7, 0.8, 0.85, 0.9, 0.95),
    "oos_answer_scope_below": (0.5, 0.7, 0.8, 0.9, 0.95),
    "oos_sure_at": (0.9, 0.95, 0.99, 1.01),
    "decline_scope_below": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    "alternative_ratio": (0.1, 0.2),
}


@dataclass(frozen=True)
class Labelled:
    turn: Turn
    evidence: Evidence
    right: tuple[bool, ...]  # does the answer of hits[i] carry the facts


def label_cases(data_dir: str) -> list[Labelled]:
    from bot.nlu import load_engine
    from retrieval.retriever import Retriever

    settings = Settings(data_dir=data_dir)
    retriever = Retriever.load(settings)
    nlu = load_engine(settings, encoder=retriever.embedder)
    singles, _ = load_cases(SETS_DIR / "tuning")
    out = []
    for case in singles:
        turn = case.turns[0]
        if turn.expect not in ("answer", "decline"):
            continue
        parse = nlu.parse(turn.text)
        result = retriever.search(turn.text, k=5)
        lang = "en" if turn.reply_lang == "en" else "zh"
        right = tuple(
            bool(turn.facts) and all(has_fact(retriever.answer(h.entry_id, lang).text, g)
                                     for g in turn.facts)
            for h in result.hits[:3])
        evidence = Evidence(
            decision=result.decision, confidence=result.confidence, in_scope=result.in_scope,
            shares=tuple(h.score for h in result.hits), text=turn.text,
            nlu_immigration=reads_as_ours(parse.intent, parse.confidence),
            nlu_oos=parse.is_oos or parse.intent == "out_of_scope",
            nlu_oos_confidence=parse.confidence if parse.intent == "out_of_scope" else 0.0)
        out.append(Labelled(turn, evidence, right))
    return out


def utility(case: Labelled, t: Thresholds) -> float:
    choice = choose(case.evidence, t)
    if case.turn.expect == "decline":
        return {"decline": 1.0, "answer": -1.0, "clarify": -0.5, "not_found": 0.5}[choice]
    if not case.turn.facts:  # a vague question
        return {"clarify": 1.0, "answer": 0.5}.get(choice, 0.0)
    if choice == "answer":
        if case.right[:1] == (True,):
            return 1.0
        offered = case.right[1:1 + alternatives(case.evidence.shares, t)]
        return 0.3 if any(offered) else -0.5  # the right entry is a button under the answer
    if choice == "clarify":
        return 0.3 if any(case.right) else 0.0
    return -1.0 if choice == "decline" else 0.0


def figures(cases: list[Labelled], t: Thresholds) -> dict:
    answerable = [c for c in cases if c.turn.expect == "answer" and c.turn.facts]
    off_topic = [c for c in cases if c.turn.expect == "decline"]
    right = sum(choose(c.evidence, t) == "answer" and c.right[0] for c in answerable if c.right)
    clarified = sum(choose(c.evidence, t) == "clarify" for c in answerable)
    declined = sum(choose(c.evidence, t) == "decline" for c in off_topic)
    return {"utility": round(sum(utility(c, t) for c in cases), 1),
            "answered_right": f"{right}/{len(answerable)}",
            "clarified": f"{clarified}/{len(answerable)}",
            "off_topic_declined": f"{declined}/{len(off_topic)}",
            "top1_has_facts": f"{sum(bool(c.right and c.right[0]) for c in answerable)}/{len(answerable)}"}


def search(cases: list[Labelled]) -> Thresholds:
    best, best_u = THRESHOLDS, float("-inf")
    for values in itertools.product(*GRID.values()):
        t = replace(THRESHOLDS, **dict(zip(GRID, values, strict=True)))
        u = sum(utility(c, t) for c in cases)
        if u > best_u + 1e-9:
            best, best_u = t, u
    return best


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.answer_quality.calibrate",
                                 description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default="data")
    args = ap.parse_args()
    cases = label_cases(args.data_dir)
    print("current:", THRESHOLDS, figures(cases, THRESHOLDS))
    best = search(cases)
    print("best:   ", best, figures(cases, best))


if __name__ == "__main__":
    main()

"""The visitor case sets (CASES.md) and how one turn of the bot is judged against a case.

Pure: frames in, a verdict out. The runner (``__main__``) gets the frames from a real server.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from runtime.language import converter

Expect = Literal["answer", "handoff", "decline", "smalltalk", "lang_switch"]
SCRIPTS = ("en", "zh-Hans", "zh-Hant", "yue", "mixed")
EXPECTS = ("answer", "handoff", "decline", "smalltalk", "lang_switch")
REPLY_LANGS = ("en", "zh-Hans", "zh-Hant")
SETS_DIR = Path(__file__).resolve().parent

# meta.kind values that put the chat on the way to a person (asking the route first counts).
HANDOFF_KINDS = {"handoff", "ask_option", "ask_region"}
SMALLTALK_KINDS = {"greeting", "smalltalk", "goodbye", "notice"}
# The office directory's replies (docs/services.md) answer the question as a corpus answer does.
OFFICE_KINDS = {"office", "office_list", "office_none"}


@dataclass(frozen=True)
class Turn:
    text: str
    script: str
    expect: Expect
    reply_lang: str
    facts: tuple[tuple[str, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class Case:
    """A single-message case or a dialogue: a conversation of one or more turns."""

    id: str
    turns: tuple[Turn, ...]
    page_lang: str | None


def _turn(raw: dict, where: str) -> Turn:
    for name, allowed in (("script", SCRIPTS), ("expect", EXPECTS), ("reply_lang", REPLY_LANGS)):
        if raw.get(name) not in allowed:
            raise ValueError(f"{where}: {name} must be one of {allowed}, not {raw.get(name)!r}")
    if not isinstance(raw.get("text"), str) or not raw["text"].strip():
        raise ValueError(f"{where}: text is required")
    facts = tuple(tuple(str(alt) for alt in group) for group in raw.get("facts") or ())
    return Turn(raw["text"], raw["script"], raw["expect"], raw["reply_lang"], facts,
                raw.get("note") or "")


def load_cases(folder: Path) -> tuple[list[Case], list[Case]]:
    """(single cases, dialogues) of one set; raises ValueError naming file and line."""
    singles, dialogues = [], []
    for path in sorted(folder.glob("single*.jsonl")):
        for n, raw in _lines(path):
            singles.append(Case(raw["id"], (_turn(raw, f"{path}:{n}"),), raw.get("page_lang")))
    for path in sorted(folder.glob("dialogues*.jsonl")):
        for n, raw in _lines(path):
            turns = tuple(_turn(t, f"{path}:{n} turn {i + 1}") for i, t in enumerate(raw["turns"]))
            dialogues.append(Case(raw["id"], turns, raw.get("page_lang")))
    ids = [c.id for c in singles + dialogues]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{folder}: duplicate case ids")
    return singles, dialogues


def _lines(path: Path):
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{n}: {err}") from None


# Judging ---------------------------------------------------------------------------------------

def normalise(text: str) -> str:
    """For fact matching: NFKC (full-width digits), Simplified, lower case, no spaces."""
    text = converter("t2s").convert(unicodedata.normalize("NFKC", text)).lower()
    return re.sub(r"(?<=\d),(?=\d{3})|\s+", "", text)


def has_fact(text: str, group: tuple[str, ...]) -> bool:
    norm = normalise(text)
    return any(normalise(alt) in norm for alt in group if alt.strip())


def text_script(text: str) -> str:
    """The script a reader sees: en, zh-Hans or zh-Hant (Traditional incl. Hong Kong forms)."""
    han = len(re.findall(r"[\u3400-\u9fff]", text))
    latin_words = len(re.findall(r"[A-Za-z]{2,}", text))
    if han < 2 * latin_words or han == 0:
        return "en"
    to_simple = sum(a != b for a, b in zip(text, converter("t2s").convert(text), strict=False))
    to_trad = sum(a != b for a, b in zip(text, converter("s2t").convert(text), strict=False))
    return "zh-Hant" if to_simple > to_trad else "zh-Hans"


@dataclass
class Verdict:
    outcome: str  # answer | clarify | handoff | decline | smalltalk | not_found | none | ...
    right: bool
    facts_ok: bool
    lang_ok: bool
    entry: str | None = None
    reply_scripts: list[str] = field(default_factory=list)


def outcome_of(replies: list[dict], states: list[str]) -> str:
    kinds = [r.get("meta", {}).get("kind", "") for r in replies]
    kinds = ["answer" if k in OFFICE_KINDS else k for k in kinds]
    if any(s in ("queued", "agent") for s in states) or any(k in HANDOFF_KINDS for k in kinds):
        return "handoff"
    for kind in ("answer", "clarify", "decline", "not_found"):
        if kind in kinds:
            return kind
    if any(k in SMALLTALK_KINDS for k in kinds):
        return "smalltalk"
    return kinds[-1] if kinds else "none"


def judge(turn: Turn, replies: list[dict], states: list[str]) -> Verdict:
    outcome = outcome_of(replies, states)
    said = "\n".join(r.get("text", "") for r in replies)
    scripts = [text_script(r.get("text", "")) for r in replies if r.get("text")]
    lang_ok = bool(scripts) and all(s == turn.reply_lang for s in scripts)
    facts_ok = all(has_fact(said, g) for g in turn.facts)
    if turn.expect == "answer":
        vague = not turn.facts
        right = (outcome in ("answer", "clarify") if vague else outcome == "answer") and facts_ok
    elif turn.expect == "smalltalk":
        right = outcome in ("smalltalk", "answer")
    elif turn.expect == "lang_switch":
        right = outcome not in ("handoff", "decline") and lang_ok
    else:
        right = outcome == turn.expect
    entry = next((r["meta"].get("entry") for r in replies if r.get("meta", {}).get("entry")), None)
    return Verdict(outcome, right, facts_ok, lang_ok, entry, scripts)


def miss_family(turn: Turn, v: Verdict) -> str | None:
    """Which family a wrong turn belongs to (the report counts them; blind texts stay unread)."""
    if v.right:
        return None
    if turn.expect == "answer":
        return {"clarify": "clarify instead of answer", "handoff": "false handoff",
                "decline": "false decline", "not_found": "not found",
                "answer": "answer without the facts"}.get(v.outcome, f"answered as {v.outcome}")
    if turn.expect == "handoff":
        return f"handoff missed ({v.outcome})"
    if turn.expect == "decline":
        return f"off-topic not declined ({v.outcome})"
    return f"{turn.expect} missed ({v.outcome})"

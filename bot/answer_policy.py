"""What to do with a question, given what NLU and the retriever said: answer, clarify or decline.

Pure. A visitor with a clear question wants the answer, with the close alternatives offered as
buttons under it; a clarifying question ("Which of these do you mean?") is for a question that is
itself too vague to answer ("visa?") or whose best entries are equally likely. The thresholds are
calibrated on the tuning set by ``python -m benchmarks.answer_quality.calibrate`` (never on the
blind set), which prints the values below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Choice = Literal["answer", "clarify", "decline", "not_found"]

_STOPWORDS = {
    "a", "an", "the", "my", "i", "me", "is", "are", "do", "does", "what", "how", "about", "for",
    "of", "to", "in", "on", "and", "or", "please", "pls", "any", "info", "information", "help",
    "question", "questions", "?", "can", "you", "tell",
}
_ZH_FILLER = re.compile(r"[请问问一下我的你好吗呢吧啊呀嘛怎么什么呢？?！!。，,\s]")


@dataclass(frozen=True)
class Thresholds:
    # Below this P(top entry is right) a clarify-zone question is asked back, not answered.
    clarify_below: float = 0.0
    # Runner-up's share of the top entry's at or above which the two are a tie: ask which
    # (above 1: never; on the tuning set a tie is better answered with the other as a button).
    tie_ratio: float = 1.01
    # A retrieval decline is overruled (answered) when NLU does not read the message as out of
    # scope and P(top entry is right) is at least this.
    rescue_at: float = 0.0
    # An answer is withheld (declined) when NLU reads the question as out of scope and the
    # corpus coverage probability is below this.
    oos_scope_below: float = 0.7
    # The same, when the retriever itself is confident of its answer.
    oos_answer_scope_below: float = 0.5
    # NLU this sure of "out of scope" declines whatever the coverage says ("how do I get a
    # Japanese visa?" shares every word with the corpus); above 1: never.
    oos_sure_at: float = 0.95
    # A question the corpus hardly covers (coverage probability below this) is declined even
    # when NLU missed it ("how do I move my hukou to Shenzhen?"), unless NLU is sure it is an
    # immigration question, or it is a follow-up or code-mixed (coverage is not fitted on those).
    decline_scope_below: float = 0.2
    # Runner-ups offered under an answer: share of the top entry's at least this.
    alternative_ratio: float = 0.1


THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Evidence:
    """The few numbers the policy reads: retrieval's decision, confidence and coverage, the
    top entries' shares, and NLU's reading."""

    decision: str  # the retriever's own: answer | clarify | decline
    confidence: float  # P(top entry is right)
    in_scope: float  # P(the corpus covers the question)
    shares: tuple[float, ...]  # the top entries' fusion shares, best first
    nlu_immigration: bool  # NLU's top intent is an immigration question, with confidence
    nlu_oos: bool  # NLU reads the message as out of scope
    nlu_oos_confidence: float  # how sure NLU is of that (0 when it is not out of scope)
    text: str
    follow_up: bool = False  # searched joined with the conversation's topic
    # It speaks of a matter of ours by name ("超咗期", "passport expired", "Hong Kong permit")
    # and names no errand: NLU's unsure out-of-scope reading and the coverage floor, both fitted
    # on a line or two of one language, do not decline it (bot/errands.speaks_of_our_matter).
    names_ours: bool = False


def code_mixed(text: str) -> bool:
    """Chinese with English words ("K visa 有没有 age limit？"): the coverage model was fitted on
    single-language questions and reads such text as uncovered, so its floor does not apply."""
    return bool(re.search(r"[\u3400-\u9fff]", text) and re.search(r"[A-Za-z]{2}", text))


# Words of English from which a message is a situation told at length, not a question.
TOLD_AT_LENGTH_WORDS = 15


def told_at_length(text: str) -> bool:
    """An English message that tells the visitor's situation before its question ("We've just
    arrived from Lisbon and my in-laws put us up in their flat in Xi'an for the holidays; my wife
    asks whether anyone has to tell the police we're here?"). The coverage model was fitted on
    questions of a line or two and reads such a message as uncovered, so its floors do not
    apply: NLU sure of "out of scope" still declines it. (The tuning set's single cases, read
    in-process: two answerable questions answered, no off-topic one less declined, from 15
    words; from 20, one.)"""
    return not re.search(r"[\u3400-\u9fff]", text) and len(text.split()) >= TOLD_AT_LENGTH_WORDS


def is_vague(text: str) -> bool:
    """One content word ("visa?", "permit", "签证", "居留"): nothing to pick an entry by."""
    if re.search(r"[\u3400-\u9fff]", text):
        return len(_ZH_FILLER.sub("", text)) <= 3 and not re.search(r"[A-Za-z0-9]{2}", text)
    words = [w for w in re.findall(r"[A-Za-z0-9'-]+", text.lower()) if w not in _STOPWORDS]
    return len(words) <= 1


def choose(e: Evidence, t: Thresholds = THRESHOLDS) -> Choice:
    if not e.shares:
        return "decline" if e.nlu_oos else "not_found"
    confident = e.decision == "answer"
    # Coverage was fitted on questions, not on situations told at length (see told_at_length).
    covered = told_at_length(e.text) or \
        e.in_scope >= (t.oos_answer_scope_below if confident else t.oos_scope_below)
    if e.nlu_oos and (not covered or e.nlu_oos_confidence >= t.oos_sure_at):
        return "decline"
    # A bare "visa?" is covered by everything and nothing: asked back, not declined.
    if (e.in_scope < t.decline_scope_below and not e.nlu_immigration and not e.follow_up
            and not e.names_ours and not code_mixed(e.text) and not told_at_length(e.text) and not is_vague(e.text)):
        return "decline"
    if e.decision == "answer":
        return "answer"
    # A follow-up's few words ("And Malaysians?", "能跨省吗") lean on the topic searched with them.
    vague = is_vague(e.text) and not e.follow_up
    if e.decision == "decline":
        # The retriever's coverage model is cautious; NLU's out-of-scope reading decides.
        if e.nlu_oos:
            return "decline"
        if not vague and e.confidence >= t.rescue_at:
            return "answer"
        return "clarify" if vague or e.nlu_immigration else "not_found"
    tie = len(e.shares) > 1 and e.shares[1] >= t.tie_ratio * e.shares[0]
    if vague or e.confidence < t.clarify_below or tie:
        return "clarify"
    return "answer"


def alternatives(shares: tuple[float, ...], t: Thresholds = THRESHOLDS) -> int:
    """How many runner-ups (after the top entry) are close enough to offer as buttons."""
    return sum(1 for s in shares[1:3] if shares and s >= t.alternative_ratio * shares[0])

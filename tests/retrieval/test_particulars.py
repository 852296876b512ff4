"""The particular a question asks for (a fee, how long a document is valid, a number of places)
and which entries state one: retrieval/particulars.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.corpus import load_corpus
from retrieval.particulars import asked, entry_particulars, stated
from retrieval.text import TextAnalyzer

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return TextAnalyzer()


@pytest.mark.parametrize(("text", "wants"), [
    ("办居住证要多少钱？", ("fee",)),
    ("被查到會罰幾多錢？", ("fee",)),  # Cantonese, read as Mandarin by the analyser
    ("how much is the fine if I'm caught?", ("fee",)),
    ("居住证的有效期是几年？", ("validity",)),
    ("how long is the card valid for?", ("validity",)),
    ("过境免签有多少个口岸？", ("count",)),
    ("how many ports take the transit?", ("count",)),
    ("how many days can I stay?", ()),  # a stay, not a count of places
    ("我的签证丢了怎么办？", ()),
])
def test_what_a_question_asks_for(analyzer: TextAnalyzer, text: str, wants: tuple[str, ...]) -> None:
    assert asked(analyzer.analyze(text).normalized) == wants


def test_what_an_answer_states() -> None:
    assert stated(["收费标准：每人每次160元。"]) == {"fee"}
    assert stated(["The fee is RMB 400 per person."]) == {"fee"}
    assert stated(["有效期为5年。"]) == {"validity"}
    assert stated(["It is valid for five years."]) == {"validity"}
    assert stated(["65 ports in 24 provinces"]) == {"count"}
    assert stated(["请向当地出入境管理机构申请。"]) == frozenset()


def test_the_corpus_states_its_fees_and_validity() -> None:
    entries = load_corpus(KNOWLEDGE).entries
    assert "fee" in entry_particulars(entries["taiwan-permit-fees"])
    assert "validity" in entry_particulars(entries["hmt-residence-permit-validity"])
    assert "count" in entry_particulars(entries["transit-240h-ports"])
    assert not entry_particulars(entries["hmt-residence-permit-eligibility"]) & {"validity"}

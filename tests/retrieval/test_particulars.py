"""The particular a question asks for (a fee, how long a document is valid, a number of places,
how long the procedure takes, since when a rule applies) and which entries state one: retrieval/particulars.py."""

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
    ("交了材料之后审批要多久？", ("processing",)),
    ("遞咗申請要等幾耐？", ("processing",)),
    ("居留许可办下来大概要几天？", ("processing",)),
    ("免签可以待多久？", ()),  # a stay, not the office's time
    ("这个政策从什么时候开始的？", ("start",)),
    ("since when is that possible?", ("start",)),
    ("how long does it take to process?", ("processing",)),
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
    assert stated(["一般在7个工作日内作出决定。"]) == {"processing"}
    assert stated(["The office decides within 15 days."]) == {"processing"}
    assert stated(["自2025年10月1日起施行。"]) == {"start"}
    assert stated(["In force from 1 October 2025."]) == {"start"}
    assert stated(["请向当地出入境管理机构申请。"]) == frozenset()


def test_the_corpus_states_its_fees_and_validity() -> None:
    entries = load_corpus(KNOWLEDGE).entries
    assert "fee" in entry_particulars(entries["taiwan-permit-fees"])
    assert "validity" in entry_particulars(entries["hmt-residence-permit-validity"])
    assert "count" in entry_particulars(entries["transit-240h-ports"])
    assert not entry_particulars(entries["lost-passport-visa-reissue"])


def test_a_close_runner_up_that_states_it_leads(retriever) -> None:  # noqa: ANN001
    """The rule itself on the fixture index: asked how long something is valid, a leader that
    states no validity gives way to the runner-up that does when it is close enough, and the
    two swap their shares so the shares keep the order."""
    import numpy as np

    ids = [e.id for e in retriever._entries]
    lead, states = ids.index("visa-extension"), ids.index("pr-card-validity")
    others = [i for i in range(len(ids)) if i not in (lead, states)]
    order = np.array([lead, states, *others])
    share = np.zeros(len(ids))
    share[lead], share[states] = 0.6, 0.3
    moved = retriever._particular_first(order, share.copy(), ("validity",))
    assert [int(i) for i in moved[:2]] == [states, lead]
    assert (retriever._particular_first(order, share.copy(), ("fee",)) == order).all()  # nobody states it
    share[states] = 0.05  # too far behind
    assert (retriever._particular_first(order, share.copy(), ("validity",)) == order).all()

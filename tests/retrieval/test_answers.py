"""Answers that fit a phone: the short answer a client shows first is at most two sentences (the rest
moves to the top of the details, cut in one place: retrieval/answers.py `lead_sentences`), and the
plain `text` other clients show is the whole answer, as it was before the cut."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.answers import as_of_note, lead_sentences, render_answer
from retrieval.corpus import load_corpus
from runtime.language import to_script

CORPUS = Path(__file__).resolve().parents[2] / "knowledge"


class _Analyzer:  # render_answer only converts scripts; no tokenisers needed
    def to_script(self, text: str, script: str) -> str:
        return to_script(text, script)


@pytest.fixture(scope="module")
def entries():
    return load_corpus(CORPUS).entries


def test_lead_sentences_splits_after_the_second_sentence() -> None:
    assert lead_sentences("One. Two. Three. Four.", "en") == ("One. Two.", "Three. Four.")
    assert lead_sentences("只有一句。", "zh") == ("只有一句。", "")
    assert lead_sentences("第一句。第二句！第三句？", "zh") == ("第一句。第二句！", "第三句？")
    assert lead_sentences("第一句（见下文。）第二句“好。”第三句。", "zh") == ("第一句（见下文。）第二句“好。”", "第三句。")
    # Abbreviations, initials, decimals and article numbers do not end a sentence.
    text = ("Fees are e.g. RMB 160. See Art. 29 of the Law, No. 5 and the Q. Visa 1.5 rules. "
            "Ask 12367. Then go.")
    assert lead_sentences(text, "en") == (
        "Fees are e.g. RMB 160. See Art. 29 of the Law, No. 5 and the Q. Visa 1.5 rules.", "Ask 12367. Then go.")
    assert lead_sentences("Two sentences. Exactly two.", "en") == ("Two sentences. Exactly two.", "")
    assert lead_sentences('He said "go." Then "stop." Done.', "en") == ('He said "go." Then "stop."', "Done.")


def test_every_short_answer_is_at_most_two_sentences_and_text_is_the_whole_answer(entries) -> None:
    cut = []
    for entry in entries.values():
        for lang, scripts in (("zh", ("zh-Hans", "zh-Hant", "yue")), ("en", ("en",))):
            body = getattr(entry.answer, lang)
            for script in scripts:
                ans = render_answer(entry, entries, _Analyzer(), lang, script)
                date = as_of_note(entry.as_of, lang) if entry.as_of else ""
                short = ans.short[: len(ans.short) - len(date)] if date else ans.short
                assert ans.short.endswith(date)
                assert lead_sentences(short, lang)[1] == "", (entry.id, lang, ans.short)
                caveats = getattr(entry.caveats, lang) if entry.caveats else ""
                details = "\n\n".join(p for p in (body.details, caveats) if p)
                whole = "\n\n".join(p for p in (entry_title(entry, lang), body.short + date, details) if p)
                assert ans.text == to_script(whole, script)  # unchanged by the cut
                rest = lead_sentences(body.short, lang)[1]
                if rest:
                    cut.append((entry.id, lang))
                    assert ans.details.startswith(to_script(rest, script))
                else:
                    assert ans.details == to_script(details, script)
    # Five English short answers of the corpus have three or more sentences (and no Chinese one).
    assert len({c for c in cut}) == 5 and all(lang == "en" for _, lang in cut), cut


def entry_title(entry, lang: str) -> str:
    return getattr(entry.title, lang)


def test_a_long_short_answer_moves_its_third_sentence_to_the_details(entries) -> None:
    ans = render_answer(entries["visa-q-vs-s-family-visas"], entries, _Analyzer(), "en", "en")
    assert ans.short == ("It depends on who you are visiting. If your relative is a Chinese citizen or a "
                         "foreign permanent resident in China, use a Q visa (Q1 long-term reunion, Q2 short visit).")
    assert ans.details.startswith("If your relative is a foreigner in China for work or study, use an S visa")
    assert ans.short in ans.text.replace("\n\n", " ") and ans.details.split("\n\n")[0] in ans.text

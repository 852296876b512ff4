"""Traditional output is correct Traditional: every entry's text and the bot's own texts, as
Traditional (zh-Hant) and Hong Kong (yue) readers get them, contain none of the mistakes that
plain OpenCC makes on this corpus (found by converting it all; see runtime/language.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.corpus import load_corpus
from runtime.language import to_script

CORPUS = Path(__file__).resolve().parents[2] / "knowledge"

# What OpenCC (s2t, s2tw, s2twp, s2hk alike) wrote for this corpus before the phrase fixes:
# 换发 "renew" as "change hair", 免签 / 签证 / 落地签 / 面签 with the lottery-slip 籤, and 只 "only"
# as the measure word 隻.
WRONG = ("換髮", "免籤", "籤證", "落地籤", "面籤", "籤注", "隻適用")


def _texts() -> list[tuple[str, str]]:
    corpus = load_corpus(CORPUS)
    out = []
    for entry_id, e in corpus.entries.items():
        parts = [e.title.zh, e.answer.zh.short, e.answer.zh.details]
        if e.caveats is not None:
            parts.append(e.caveats.zh)
        parts.extend(s.title for s in e.sources)
        out.extend((entry_id, p) for p in parts if p)
    return out


@pytest.mark.parametrize("script", ["zh-Hant", "yue"])
def test_no_known_wrong_characters_in_any_entry(script: str) -> None:
    texts = _texts()
    assert len({entry_id for entry_id, _ in texts}) >= 200
    bad = [(entry_id, w) for entry_id, text in texts for w in WRONG if w in to_script(text, script)]
    assert bad == []


def _module_texts(module: object) -> list[str]:
    """Every Chinese string a texts module defines (dicts, tuples and Text(zh=…, en=…) alike)."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple | set | frozenset):
            for v in value:
                walk(v)
        elif hasattr(value, "zh"):
            walk(value.zh)

    for name, value in vars(module).items():
        if not name.startswith("_"):
            walk(value)
    return found


@pytest.mark.parametrize("script", ["zh-Hant", "yue"])
def test_no_known_wrong_characters_in_bot_texts(script: str) -> None:
    import bot.texts
    import handoff.texts

    texts = _module_texts(bot.texts) + _module_texts(handoff.texts)
    assert len(texts) > 50
    assert [(t, w) for t in texts for w in WRONG if w in to_script(t, script)] == []

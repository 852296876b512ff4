"""The text cleaner both protocols use: what is removed, what is kept, NFC."""

import pytest

from runtime.text_cleaning import clean_text, has_lone_surrogate


@pytest.mark.parametrize("raw,clean", [
    ("签证过期了怎么办", "签证过期了怎么办"),
    ("  hello \n", "hello"),
    ("line one\nline two\tend", "line one\nline two\tend"),  # newline and tab stay
    ("a\x00b\x07c\x1bd\x7fe\x85f\x9fg", "abcdefg"),  # C0 and C1 controls, DEL
    ("pay\u200bpal", "paypal"),  # zero-width space
    ("a\u200cb\u200dc", "abc"),  # zero-width non-joiner and joiner
    ("abc\u200e\u200fdef", "abcdef"),  # left-to-right and right-to-left marks
    ("\u202etxt.exe\u202c", "txt.exe"),  # right-to-left override, pop
    ("a\u202ab\u202bc\u202dd", "abcd"),  # embeddings and left-to-right override
    ("a\u2066b\u2067c\u2068d\u2069e", "abcde"),  # isolates
    ("a\u2060b", "ab"),  # word joiner
    ("\ufeffhello", "hello"),  # byte-order mark
    ("\u061cمرحبا", "مرحبا"),  # Arabic letter mark
    ("co\u00adoperate", "cooperate"),  # soft hyphen
    ("a\u2028b\u2029c", "abc"),  # line and paragraph separators
    ("\u200b \u200b", ""),  # nothing visible left
])
def test_removes_invisible_characters(raw, clean):
    assert clean_text(raw) == clean


def test_composes_to_nfc():
    assert clean_text("cafe\u0301") == "caf\u00e9"
    assert clean_text("\u1100\u1161") == "\uac00"  # Hangul jamo compose to one syllable


def test_composes_after_removing():
    # A zero-width space between a letter and its accent: gone, and the two compose.
    assert clean_text("e\u200b\u0301") == "\u00e9"


def test_keeps_visible_text():
    text = "Art. 29 第二十九条 <script>alert(1)</script> 😀 繁體 粵語：點算"
    assert clean_text(text) == text


@pytest.mark.parametrize("text,lone", [
    ("ok", False), ("😀", False), ("\ud800", True), ("a\udfffb", True),
])
def test_lone_surrogates(text, lone):
    assert has_lone_surrogate(text) is lone

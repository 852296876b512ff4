"""runtime/language.py: which script a visitor's replies are written in, the conversions with
their reviewed phrase fixes, and the one converter per OpenCC configuration."""

from __future__ import annotations

import pytest

from runtime.language import converter, fix_phrases, lang_of, output_script, to_script, to_simplified


@pytest.mark.parametrize(
    ("lang", "script", "replies_in"),
    [
        ("en", "en", "en"),
        ("en", "zh-Hant", "en"),  # English wins over whatever script was noted before
        ("en", None, "en"),
        ("zh", "zh-Hans", "zh-Hans"),
        ("zh", "zh-Hant", "zh-Hant"),
        ("zh", "yue", "yue"),
        ("zh", "mixed", "zh-Hans"),
        ("zh", "en", "zh-Hans"),
        ("zh", None, "zh-Hans"),
    ],
)
def test_output_script(lang: str, script: str | None, replies_in: str) -> None:
    assert output_script(lang, script) == replies_in


def test_traditional_scripts_use_taiwan_and_hong_kong_forms() -> None:
    assert to_script("为了里面的信息", "zh-Hant") == "為了裡面的信息"  # no vocabulary change (資訊)
    assert to_script("为了里面的信息", "yue") == "為了裏面的信息"


def test_domain_phrases_convert_right() -> None:
    assert to_script("换发签证、补发证件，免签入境，落地签，面签", "zh-Hant") == "換發簽證、補發證件，免簽入境，落地簽，面簽"
    assert to_script("还有只适用于团体的政策", "yue") == "還有只適用於團體的政策"
    assert to_script("贴上标签后抽签", "zh-Hant") == "貼上標籤後抽籤"  # slips and labels keep 籤


def test_fix_phrases_keeps_slip_words() -> None:
    assert fix_phrases("換髮免籤，書籤和牙籤") == "換發免簽，書籤和牙籤"


@pytest.mark.parametrize("script", ["zh-Hans", "en", None, "mixed"])
def test_other_scripts_leave_text_as_it_is(script: str | None) -> None:
    assert to_script("换发签证 renewal", script) == "换发签证 renewal"


def test_to_simplified() -> None:
    assert to_simplified("簽證過期點算") == "签证过期点算"
    assert to_simplified("護照 passport") == "护照 passport"


def test_lang_of() -> None:
    assert lang_of("我的passport") == "zh" and lang_of("PR card 12") == "en" and lang_of("") == "en"


def test_one_converter_per_configuration() -> None:
    assert converter("t2s") is converter("t2s")

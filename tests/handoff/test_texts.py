"""What visitors are told: their language, their script."""

from handoff import texts


def test_simplified_traditional_cantonese_and_english():
    zh = texts.say(texts.HANDED_BACK, "zh", "zh-Hans")
    assert "人工客服已结束" in zh
    assert "人工客服已結束" in texts.say(texts.HANDED_BACK, "zh", "zh-Hant")
    assert "人工客服已結束" in texts.say(texts.HANDED_BACK, "zh", "yue")
    en = texts.say(texts.QUEUED, "en", "en", queue="NIA Immigration Service Center",
                   ahead=texts.ahead_phrase(1, "en"), wait=texts.wait_phrase(240, "en"))
    assert "There is 1 person ahead of you; the estimated wait is about 4 min" in en
    assert texts.ahead_phrase(0, "en") == "You are next in line"
    assert texts.ahead_phrase(2, "zh") == "您前面还有 2 位访客"


def test_unknown_wait_is_not_a_number():
    assert texts.wait_phrase(None, "zh") == "客服上线后将按顺序接待"
    assert "min" not in texts.wait_phrase(None, "en")


def test_leave_message_in_any_script():
    for said in ("留言", "留言。", "Leave a message", "leave a message!", " 留言 "):
        assert texts.is_leave_message(said), said
    assert not texts.is_leave_message("我想留下来工作")

"""What visitors are told, in their language. The script is the visitor channel's to convert,
once (tests/handoff/test_service.py checks what a Traditional visitor gets)."""

from handoff import texts


def test_chinese_is_left_simplified_and_english_english():
    assert texts.say(texts.HANDED_BACK, "zh").startswith("人工客服已结束")
    assert texts.say(texts.AGENT_JOINED, "zh", agent="李明") == "人工客服 李明 已接入，正在为您服务。"
    en = texts.say(texts.QUEUED, "en", queue="NIA Immigration Service Center",
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

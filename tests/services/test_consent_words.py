"""What counts as a visitor's yes, no or withdrawal of consent (services/consent.py), in every
script: short answers only; anything else is a normal message, which the bot takes as it comes.
Consent given unasked ("可以俾職員睇") and the one rule that turns each word into the consent's
state (handoff/disclosure.py)."""

from __future__ import annotations

import pytest

from handoff.disclosure import consent_after
from services.consent import answer_of, grants, withdraws, word_of


@pytest.mark.parametrize("text", [
    "同意", "可以", "好", "好的", "好呀", "行", "是的", "得", "冇問題", "没问题", "可以啊！",
    "同意，客服可以查看", "同意，客服可以查看", "ok", "OK.", "Yes", "sure", "yes please",
    "Yes, the agent may see them"])
def test_a_yes(text):
    assert answer_of(text) is True


@pytest.mark.parametrize("text", [
    "不同意", "不可以", "不行", "不要", "唔得", "唔同意", "唔好", "唔可以", "不同意，保持遮蓋",
    "不同意，保持遮盖", "no", "No thanks", "no thank you", "nope", "No, keep them masked"])
def test_a_no(text):
    assert answer_of(text) is False


@pytest.mark.parametrize("text", [
    "可以帮我查签证吗", "好想知道签证几时到期", "ok so where is the office?", "得唔得预约听日",
    "What documents do I need?", "深圳"])
def test_anything_else_is_a_message(text):
    assert answer_of(text) is None


@pytest.mark.parametrize("text", [
    "不要给客服看我的资料", "不要給客服看我的資料", "唔好俾客服睇我嘅資料", "别让人工看我的信息",
    "撤回同意", "hide my details", "Please mask my data", "don't show the agent my details",
    "I withdraw my consent"])
def test_a_withdrawal(text):
    assert withdraws(text)


@pytest.mark.parametrize("text", ["我想看我的资料", "show me my details", "护照资料要带吗"])
def test_not_a_withdrawal(text):
    assert not withdraws(text)


@pytest.mark.parametrize("text", [
    "可以给客服看我的资料", "可以給客服看我的資料", "可以俾職員睇", "可以俾客服睇我嘅資料",
    "我同意讓工作人員查看我的資料", "可以看我的資料", "You can show my details to the agent",
    "The agent may see them", "ok, you can see everything now", "I agree now"])
def test_consent_given_unasked(text):
    assert grants(text) and word_of(text) == "grant"


@pytest.mark.parametrize("text", [
    "可以俾職員睇嗎?", "不可以给客服看我的资料", "唔好俾客服睇我嘅資料", "Can I see my details?",
    "you can't see my details", "在哪里可以查看我的资料", "我可以查看我的资料", "可以帮我查签证吗", "可以", "我想看我的资料"])
def test_not_consent_given(text):
    assert word_of(text) != "grant"


@pytest.mark.parametrize(("before", "word", "after"), [
    (None, "yes", "granted"), (None, "no", "refused"), (None, "withdraw", "refused"),
    (None, "grant", "granted"), ("refused", "grant", "granted"), ("refused", "yes", "granted"),
    ("granted", "withdraw", "withdrawn"), ("withdrawn", "grant", "granted"),
    ("withdrawn", "withdraw", "withdrawn"), ("granted", "no", "refused")])
def test_the_newest_word_holds(before, word, after):
    assert consent_after(before, word) == after

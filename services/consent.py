"""A visitor's word on whether agents may see their personal details unmasked: the question's
and the answers' texts, and what counts as a yes, a no or a withdrawal, in every script
(Simplified, Traditional, Cantonese) and English. The bot asks (bot/consent.py); the agent
console follows the answer (handoff/disclosure.py); a withdrawal, or consent given unasked
("you can show my details to the agent", also after a no), is heard by both, as the visitor may
write it to the bot or to an agent."""

from __future__ import annotations

import re
from typing import Literal

from runtime.language import to_simplified

# What a visitor's message says of consent: a yes or a no to the bot's question, or, unasked,
# a grant or a withdrawal. handoff/disclosure.py turns each into the consent's new state.
ConsentWord = Literal["yes", "no", "grant", "withdraw"]

YES = {"zh": "同意，客服可以查看", "en": "Yes, the agent may see them"}
NO = {"zh": "不同意，保持遮盖", "en": "No, keep them masked"}
ASK = {"zh": "转接人工前请确认：您在对话中填写的证件号码、护照号码和日期，人工客服默认只能看到遮盖后的内容。"
             "是否同意客服查看完整信息，以便帮您办理？",
       "en": "Before I pass you to an agent: the document and passport numbers and dates you gave "
             "in this chat are masked for agents unless you agree. May the agent see them in "
             "full, to help you with it?"}
ACK = {True: {"zh": "好的，客服可以查看您填写的完整信息。", "en": "OK: the agent may see your details in full."},
       False: {"zh": "好的，客服只能看到遮盖后的信息。", "en": "OK: the agent sees your details masked."}}

# Whole short answers only: "可以帮我查签证吗" is a question, not a yes. Checked on the
# Simplified, lower-cased text with the closing particles and punctuation taken off.
_TAIL = re.compile(r"(?<![\s,.!?;:，。！？；：~～、])[\s,.!?;:，。！？；：~～、]*$")
_PARTICLES = re.compile(r"(啊|呀|吖|啦|喇|吧|嘅|囉|咯|嘞|哦|噢|的|了)+$")
_YES = re.compile(
    r"(我?同意|可以|好|行|是|是的|得|冇问题|没问题|无问题|ok|okay|好的|当然|当然可以)"
    r"|(yes|y|yeah|yep|ok|okay|sure|agree|i agree|fine|of course|go ahead|yes please|ok please)"
    r"( thanks?| thank you| please)?")
_NO = re.compile(
    r"(不同意|不可以|不行|不要|不用|不|否|唔得|唔同意|唔好|唔要|唔使|唔可以|唔制|不好)"
    r"|(no|n|nope|no thanks?|no thank you|don'?t|do not|i don'?t agree|disagree|keep (them|it) masked)")
# "Don't show my details to the agent", "不要给客服看我的资料", "唔好俾客服睇我嘅资料".
_WITHDRAW = re.compile(
    r"(不要|别|不准|不许|唔好|唔准|咪|不想|唔想)(再)?(让|给|俾|畀)?(客服|人工|工作人员|agent)?"
    r"(看|睇|查看|见到|看到)(我的|我嘅|我)?(个人)?(资料|信息|证件|详情|号码|数据)"
    r"|(撤回|收回|取消)(我的)?(同意|授权)"
    r"|\b(hide|mask)( all)? my (details|data|info|information|numbers)\b"
    r"|\bdon'?t (show|let) (the )?agents? (see )?my (details|data|info|information|numbers)\b"
    r"|\b(withdraw|revoke) (my )?(consent|agreement)\b", re.IGNORECASE)

# "You can show my details to the agent", "可以给客服看我的资料", "可以俾職員睇": consent given
# without being asked (after a no too). Checked after a withdrawal, on the Simplified text; a
# question ("可以俾職員睇嗎?", "can the agent see my details?") is not consent.
_GRANT = re.compile(
    r"(?<![不唔别冇没])(可以|能|同意|允许|准)(让|给|俾|畀)?(客服|人工|工作人员|职员|agent)"
    r"(看|睇|查看|见到|看到)"
    # Without the agent named, only as the whole point of the message: "在哪里可以查看我的资料"
    # asks where the visitor can see them.
    r"|^\s*+(好|ok)?[，,\s]*(可以|同意|允许)(让|给|俾|畀)?(看|睇|查看)(我的|我嘅|我)(个人)?"
    r"(资料|信息|证件|详情|号码)"
    r"|\b(you|agents?|the agents?|staff|they) (can|may) (now )?(see|view|have|look at)"
    r"( all| in full| the full)? (my|them|it|everything)\b"
    r"|\b(show|unmask|reveal)( all)? my (details|data|info|information|numbers)\b"
    r"|\bi (now )?(agree|consent)( now)?\b(?! to (hide|mask))", re.IGNORECASE)
_NEGATED = re.compile(r"\b(not|never|cannot|dont|cant)\b|n['’]t\b", re.IGNORECASE)
_QUESTION = re.compile(r"[?？]|[吗嗎咩][\s。.!！]*$")


def _folded(text: str) -> str:
    folded = _TAIL.sub("", to_simplified(text).strip().lower())
    return _PARTICLES.sub("", folded) or folded


def answer_of(text: str) -> bool | None:
    """Yes (True), no (False), or neither: another message, which the bot takes as it comes."""
    folded = _folded(text)
    if folded in (to_simplified(YES["zh"]), YES["en"].lower()):
        return True
    if folded in (to_simplified(NO["zh"]), NO["en"].lower()):
        return False
    if _NO.fullmatch(folded):  # before yes: "不可以" is no, though "可以" is in it
        return False
    return True if _YES.fullmatch(folded) else None


def withdraws(text: str) -> bool:
    """The visitor takes back (or refuses ahead) agents seeing their details."""
    return bool(_WITHDRAW.search(to_simplified(text)))


def grants(text: str) -> bool:
    """The visitor lets agents see their details, unasked: after a no or a withdrawal too."""
    simplified = to_simplified(text)
    return (not withdraws(text) and not _QUESTION.search(simplified.strip())
            and not _NEGATED.search(simplified) and bool(_GRANT.search(simplified)))


def word_of(text: str) -> ConsentWord | None:
    """What a message says of consent unasked: a withdrawal, a grant, or nothing."""
    return "withdraw" if withdraws(text) else "grant" if grants(text) else None

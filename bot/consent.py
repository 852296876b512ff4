"""Whether the agent may see a visitor's details unmasked. Agents see identity numbers and dates
masked (services/privacy.py) unless the visitor agrees: a visitor who asks for a person in the
middle of a booking or a look-up is first asked whether the agent may see them; the answer is
stored with the conversation (`Context.agent_consent`), the handoff then goes on as asked, and
the console shows the details unmasked on a yes only (handoff/views.py)."""

from __future__ import annotations

import re

from bot.frames import Reply
from runtime.language import Script, to_script, to_simplified

YES = {"zh": "同意，客服可以查看", "en": "Yes, the agent may see them"}
NO = {"zh": "不同意，保持遮盖", "en": "No, keep them masked"}
ASK = {"zh": "转接人工前请确认：您在表单里填写的证件号码、护照号码和日期，人工客服默认只能看到遮盖后的内容。"
             "是否同意客服查看完整信息，以便帮您办理？",
       "en": "Before I pass you to an agent: the document and passport numbers and dates you gave "
             "in the form are masked for agents unless you agree. May the agent see them in full, "
             "to help you with it?"}
ACK = {True: {"zh": "好的，客服可以查看您填写的完整信息。", "en": "OK: the agent may see your details in full."},
       False: {"zh": "好的，客服只能看到遮盖后的信息。", "en": "OK: the agent sees your details masked."}}
_YES = re.compile(r"^(同意|可以|好|是|行)|^(yes|y|ok(ay)?|sure|agree)\b", re.IGNORECASE)
_NO = re.compile(r"^(不同意|不可以|不行|不要|否|不)|^(no|nope|don'?t|do not)\b", re.IGNORECASE)


def answer_of(text: str) -> bool | None:
    """Yes (True), no (False), or neither: another message, which the bot takes as it comes."""
    folded = to_simplified(text).strip().lower()
    if _NO.match(folded):  # before yes: "不可以" is no, though "可以" is in it
        return False
    return True if _YES.match(folded) else None


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "zh"


def ask_reply(lang: str, script: Script) -> Reply:
    lang = _lang(lang)
    quick = [{"label": to_script(t[lang], script), "value": to_script(t[lang], script)} for t in (YES, NO)]
    return Reply(sender="bot", text=to_script(ASK[lang], script), lang=lang, script=script,
                 sources=[], quick_replies=quick, meta={"kind": "consent_ask"})


def ack_reply(agreed: bool, lang: str, script: Script) -> Reply:
    lang = _lang(lang)
    return Reply(sender="bot", text=to_script(ACK[agreed][lang], script), lang=lang, script=script,
                 sources=[], quick_replies=[], meta={"kind": "consent", "agreed": agreed})

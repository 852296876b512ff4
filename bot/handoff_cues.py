"""Words that make a message a request for a person or a complaint.

The intent classifier finds requests and complaints in every script, but it also reads questions
*about* the service as such ("When did the 12367 hotline start?", "are there real humans
answering?"). A handoff needs one of these cues as well, whenever the retriever can answer the
message: a question about the service is answered, a request or a complaint reaches a person.
"""

from __future__ import annotations

import re

from bot.nlu.text import fold

# ASCII word boundaries: an English word inside Chinese ("搵real person", "我要complain") touches
# characters that Unicode counts as word characters, so \b would never fall before it.
_ASCII_WORDS = re.ASCII

_PERSON = re.compile(
    r"\b(human|humans|real person|a person|someone|somebody|anyone|anybody|agent|agents|officer|"
    r"officers|staff|operator|representative|customer service|live chat|people)\b"
    r"|人工|真人|客服|专人|工作人员|职员|接线员|坐席|搵人|找人|有冇人|有没有人|有人吗|揾人|(?:搵|找|揾|叫)个人|人手",
    _ASCII_WORDS,
)
_REQUEST = re.compile(
    r"\b(talk|speak|chat|connect|transfer|put me through|get me|give me|let me|want|need|"
    r"i'd like|i would like|help me|can i|could i|is there|is anyone|anyone there|please|call me)\b"
    r"|转|找|搵|揾|要|想|帮我|同我|跟我|和我|接|唔该|麻烦|请|畀|俾|有冇|有没有",
    _ASCII_WORDS,
)
_COMPLAINT = re.compile(
    r"\b(complain|complaint|rude|terrible|awful|horrible|unacceptable|ridiculous|useless|"
    r"frustrat\w*|angry|upset|furious|fed up|worst|mess|broken|crash\w*|never answer\w*|"
    r"nobody answer\w*|no one answer\w*|no one pick\w*|nobody pick\w*|disgrace\w*|scam|"
    r"bad service|poor service|waste|busy|on hold|no answer|no reply|pending for|still waiting)\b"
    r"|投诉|举报|反映|不满|太差|差劲|态度|太慢|离谱|垃圾|生气|嬲|乱七八糟|推诿|推来推去|扯皮|"
    # "没有人接" is a complaint, "有没有人接？" / "有冇人听？" asks whether anyone answers.
    r"打不通|打唔通|(?<!有)(?:没人接|没有人接|没有人听|冇人听|冇人接)|没人理|冇人理|没人回|冇人覆|占线|"
    r"崩溃|坏咗|"
    r"坏了|弄丢|搞丢|浪费|失望|恶|烂|怎么回事|搞乜",
    _ASCII_WORDS,
)


# "connect me to one of them", "put me through", "转接": in a chat, asking to be passed on.
_PASS_ME_ON = re.compile(r"\b(connect me|put me through|transfer me|pass me)\b|转接", _ASCII_WORDS)


def asks_for_person(text: str) -> bool:
    """Names a person to talk to and asks for one ("can I talk to someone", "唔該幫我搵個職員"),
    is nothing but the name of one ("人工客服", "agent"), or asks to be passed on."""
    folded = fold(text)
    if _PASS_ME_ON.search(folded):
        return True
    person = _PERSON.search(folded)
    if person is None:
        return False
    bare = len(re.sub(r"[\s\W]+", "", folded)) <= len(person.group(0)) + 2
    return bare or bool(_REQUEST.search(folded))


def names_a_person(text: str) -> bool:
    """Names someone to talk to ("agent", "职员", "anyone"), or asks to be passed on."""
    folded = fold(text)
    return bool(_PASS_ME_ON.search(folded) or _PERSON.search(folded))


def sounds_like_complaint(text: str) -> bool:
    return bool(_COMPLAINT.search(fold(text)))


# The complaint is about us: it addresses the service ("your office", "你哋", "this bot") or
# names it (12367, the exit-entry administration).
_ABOUT_US = re.compile(
    r"\b(you|your|yours|bot|chatbot|this chat|this service|12367|nia|immigration|exit.?entry)\b"
    r"|你们|你哋|您|贵|机器人|客服|12367|移民局|移民管理|出入境",
    _ASCII_WORDS,
)


def addresses_us(text: str) -> bool:
    """A complaint that names an everyday errand ("the landlord won't return my deposit, I want to
    complain") is about that errand's party, for 12345; one that addresses or names us ("your
    counter still owes me a refund") is ours to hand to a person."""
    return _ABOUT_US.search(fold(text)) is not None


# A complaint in so many words ("I want to file a complaint", "我要投訴"), not a word of
# displeasure that a question may hold ("busy", "态度").
_FILES_COMPLAINT = re.compile(r"\b(complain|complaint|complaints)\b|投诉|举报", _ASCII_WORDS)
# Our officers and places, beside the service itself (_ABOUT_US): "某口岸的邊檢人員".
_OUR_OFFICERS = re.compile(
    r"\b(border (?:officers?|police|control|staff)|immigration (?:officers?|staff|counter)|"
    r"exit.?entry (?:office|bureau|staff))\b|边检|边防|口岸|出入境大厅|窗口",
    _ASCII_WORDS,
)


def files_complaint_about_us(text: str) -> bool:
    """Files a complaint in so many words about the service, its officers or its offices: the
    handoff path, whatever intent the classifier read."""
    folded = fold(text)
    return _FILES_COMPLAINT.search(folded) is not None and (
        addresses_us(text) or _OUR_OFFICERS.search(folded) is not None)

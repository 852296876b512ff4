"""Follow-ups that ask one particular thing about the topic just answered.

Five kinds recur in visitors' chats, and each is answered by a *different* entry than the one
just shown, or by that one again when the visitor's own words would lead elsewhere:

- a longer stay than the answer allowed ("and if I want to stay 3 months instead?", "如果想留耐
  啲，住四個月呢？"): the answer that gave the limit cannot answer what goes beyond it; the entry
  on staying past the permitted period (a stay permit after visa-free entry, the extension limits
  on a visa) does. Alone the words match the permanent residents' yearly minimum stay.
- how long the procedure takes ("how long does it take?", "办下来大概多久", "processing要幾耐？"):
  the topic's processing-time entry, or the topic's own entry that states the time (a port
  visa's). Alone the words match any entry with a duration in it.
- the office's hours or phone right after its address ("what are its opening hours?", "电话是多
  少？"): the office just shown (which says what is known of them). Alone the words match the
  12367 hotline's hours, and NLU reads them as out of scope.
- where or when to apply, after a fee or a processing time ("where do I go for that?", "喺邊度
  辦？", "how many days before expiry should I apply?"): the topic's entry on applying. With the
  topic the words find the fee entry again; alone, the office directory or another procedure.

Pure: the pipeline searches, these read the messages and reorder what it found.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Literal

from bot.dialogue import Hit, Search
from bot.nlu.text import fold

Ask = Literal["stay_longer", "time", "where", "when", "penalty", "fee", "contact"]

# Matched on folded text (Simplified, lower case); ASCII word boundaries, so that an English word
# inside Chinese ("如果我想stay 3个月呢？") is still a word.
_A = re.ASCII
_WISH = re.compile(r"\bif\b|\binstead\b|\bwant|\blonger\b|如果|要是|假如|想|耐啲|更久|更长|久一?[点些]", _A)
_STAY = re.compile(r"\bstay|留|待|住", _A)
_LONGER = re.compile(
    r"(?<!\d)\d+\s*+(?:months?|weeks?|days?)|\b(?:a|one|two|three|four|five|six)\s+(?:more\s+)?(?:months?|weeks?)"
    r"|\blonger\b|个?月|星期|礼拜|半年|一年|耐啲|更久|更长|久一?[点些]", _A)
_HOW_LONG = re.compile(r"多久|多长时间|几耐|几多日|几天|how long|how many days|processing")
# "how long can I stay", "有效期多久", "每年要住多久", "提前多久": a duration, not the procedure's.
# "how long can they give me?", "最長可以給多久？": the longest allowed, not the procedure's.
_NOT_PROCESSING = re.compile(
    r"\bstay|\bvalid|有效|住|留|待|每年|each year|提前|before|advance|\bgive|给|最长|最多|\bmax", _A)
_CONTACT = re.compile(
    r"\bphone\b|\bnumber\b|\bcall\b|\bring\b|\bhours\b|\bopen\b|\bclose\b|\bsaturday|\bweekend"
    r"|电话|号码|几点|开门|关门|办公时间|上班|开唔开|开不开|周六|礼拜六|星期六|周末", _A)
# Where to go or apply ("where do I go for that?", "去哪里办？", "喺邊度辦？"); "where is the office"
# names its own subject (_OWN_SUBJECT) and is a look-up of its own.
_WHERE = re.compile(r"\bwhere\b|去哪|哪里|哪儿|哪裡|在哪|边度|邊度|何处", _A)
# What it costs ("fee多少？", "要幾多錢？", "这个证多少钱？"); "visa-free" is not "free".
_FEE = re.compile(r"费|钱|how much|\bfees?\b|\bcosts?\b|\bpay\b|\bcharge", _A)
# What the penalty is ("罰幾多？", "what's the fine?", "会被罚吗"): before the fee, which "罚款多少钱"
# also names.
_PENALTY = re.compile(r"罚|\bfined?\b|\bfines\b|\bpenalt", _A)
# When to apply ("how many days before expiry should I apply?", "要提前几天申请？", "幾時要申請？").
_WHEN = re.compile(r"\bbefore\b.*\b(?:apply|expir|ends?\b|runs? out)|\bapply\b.*\bbefore\b"
                   r"|\bhow (?:early|soon)\b|\bwhen (?:should|do|must|can|to)\b|提前"
                   r"|(?:几时|什么时候|何时)要?去?(?:申请|办)", _A)
# Names something of its own: the hotline, or an office or a place (a new look-up, not "its").
_OWN_SUBJECT = re.compile(r"12367|12345|出入境|移民局|exit.?entry|immigration|bureau|office")
# A fee entry, and a processing-time entry, by its title in either language.
_FEE_TITLE = re.compile(r"\bfees?\b|费用|收费", re.I | _A)
_PENALTY_TITLE = re.compile(r"处罚|罚款|\bpenalt|\bfines?\b", re.I | _A)
_PROCESSING_TITLE = re.compile(r"办理时限|需要多长时间|多久出结果|processing time|\btakes\b", re.I | _A)
# An entry on staying on: a longer stay asked after it is still its question.
_STAYING_ON_TITLE = re.compile(r"延期|延长|停留证|\bextend|extension|stay permit", re.I | _A)
# Said to the retriever with the topic for a longer stay: the corpus's own words for it.
STAY_LONGER_QUERY = "需要超过停留期限继续停留"
# Said with the topic for where to apply: the corpus's words for it ("where do I go" alone finds
# the office directory, and with a fee question the fee entry again).
WHERE_QUERY = "去哪里申请办理"
WHEN_QUERY = "什么时候申请"  # and when to apply
# An entry's details that state the procedure's own time ("办理时间：……30分钟内办结", "办理时限：法律
# 规定15日内"), not that the sources leave it open ("材料、办理时限：资料中没有说明").
_STATES_TIME = re.compile(r"^办理时[间限]：[^\n]*\d", re.M)
# An entry that states a time limit of its own ("入住后24小时内", "入境之日起30日内") or a fine with
# its amount ("罚款5000元至2万元", "每日500元"): either in its short answer or its details.
_STATES_DEADLINE = re.compile(r"\d+\s*(?:个)?(?:小时|工作日|日|天)(?:之?内|以内)")
_STATES_FINE = re.compile(r"罚[^\n。]*\d[^\n。]*元|\d[^\n。]*元[^\n。]*罚")
_STATES_FEE = re.compile(r"^费用：[^\n]*(?:\d|免费)", re.M)
ASK_CHARS = 16  # Chinese characters: a follow-up longer than this states a question of its own
ASK_WORDS = 10


def topic_ask(text: str) -> Ask | None:
    """Which particular the follow-up asks about its topic, if one of the three."""
    folded = fold(text)
    if not _short(folded):
        return None
    if _WISH.search(folded) and _STAY.search(folded) and _LONGER.search(folded):
        return "stay_longer"
    if _HOW_LONG.search(folded) and not _NOT_PROCESSING.search(folded):
        return "time"
    if _WHERE.search(folded) and not _OWN_SUBJECT.search(folded):
        return "where"
    if _WHEN.search(folded):
        return "when"
    if _PENALTY.search(folded):
        return "penalty"
    if _FEE.search(folded):
        return "fee"
    if _CONTACT.search(folded) and not _OWN_SUBJECT.search(folded):
        return "contact"
    return None


# Visa-free entry named, and a longer stay than it allows wanted: "visa-free只有30天，想多stay两个礼拜，
# 可以延长吗？", "免签来了一个月快到期了，还想多待几周", and the visa-free transit's ("240小时transit快到了
# 还想多留"). Not an overstay already, nor the policy's own end date ("免签政策延长到什么时候": no
# stay in it).
_VISA_FREE = re.compile(r"免签|免办签证|visa.?free|visa.?exempt|\btransit\b|过境", _A)
_OVERSTAYED = re.compile(r"overstay|逾期|超期|过期")
_MORE = re.compile(r"延长|延期|\bextend|longer|不够|not enough|多待|多留|多stay|再留|留耐|几周|两周", _A)


def wants_past_visa_free(text: str) -> bool:
    """A first question that asks to stay past visa-free entry's days: searched with the
    corpus's words for staying on, since alone "extend" finds the visa extension."""
    folded = fold(text)
    return bool(_VISA_FREE.search(folded) and _STAY.search(folded) and _MORE.search(folded)
                and not _OVERSTAYED.search(folded))


def _short(folded: str) -> bool:
    if re.search(r"[a-z]{3}", folded) and not re.search(r"[\u3400-\u9fff]", folded):
        return len(folded.split()) <= ASK_WORDS
    return len(folded) <= ASK_CHARS + len(" ".join(re.findall(r"[a-z]+", folded)))


def lead_with(ranked: Search, hit: Hit) -> Search:
    """``hit`` first, with the leader's share: a first entry outscored by its runner-up reads as
    a tie and would be asked back instead of answered (as pipeline._fee_first does)."""
    if not ranked.hits or hit.entry_id == ranked.hits[0].entry_id:
        return ranked
    first = replace(hit, score=ranked.hits[0].score)
    return replace(ranked, hits=(first, *(h for h in ranked.hits if h.entry_id != hit.entry_id)))


def past_the_limit(joined: Search, shown: str | None) -> Search:
    """A longer stay than the answer just shown allowed: that answer gave the limit, so the next
    entry of the topic's search (asked with the corpus's words for staying on) leads."""
    if len(joined.hits) < 2 or joined.hits[0].entry_id != shown:
        return joined
    if _staying_on(joined.hits[0]):
        return joined  # "and 3 months instead of one?" after the extension limits: still them
    return lead_with(joined, joined.hits[1])


def staying_on_first(search: Search) -> Search:
    """A stay past visa-free entry's days: the first entry on staying on (the stay permit)
    leads, not the country's visa-free entry, which gave the days and nothing beyond them."""
    on = next((h for h in search.hits[:3] if _staying_on(h)), None)
    return lead_with(search, on) if on is not None else search


def _staying_on(hit: Hit) -> bool:
    return any(_STAYING_ON_TITLE.search(t) for t in hit.title.values())


def processing_first(joined: Search, linked: tuple[Hit, ...], stating: tuple[Hit, ...] = ()
                     ) -> Search | None:
    """The topic's processing-time entry. One the topic's entry links to as related (``linked``)
    is the topic's own: a visa extension's, not a residence permit's. Else an entry that states
    the procedure's time itself (``stating``: the one shown, then those it links to): a port
    visa's ports, the study residence permit an X1 visa leads to. Else the processing-time
    entry (by its title) that the topic's search ranks first: the follow-up's own words ("how
    long does it take?") fit every one of them alike. None when the topic has none (the usual
    search decides)."""
    own = [h for h in linked if _is_processing(h)]
    found = [h for h in joined.hits if _is_processing(h)]
    timed = own or list(stating) or found
    return lead_with(joined, timed[0]) if timed else None


def states_its_time(details_zh: str) -> bool:
    """An entry's (Chinese) details give the procedure's time: a port visa's "30 minutes" is in
    the entry on its ports, a study residence permit's 15 days in that permit's entry."""
    return _STATES_TIME.search(details_zh) is not None


def asks_within(text: str) -> bool:
    """A time asked as a limit to meet ("幾多日內要搞掂？", "within how many days?", "最晚几时"),
    not how long the procedure takes."""
    return _WITHIN.search(fold(text)) is not None


_WITHIN = re.compile(r"内|\bwithin\b|\bdeadline|\bby when\b|最[迟晚]", _A)


def states_a_deadline(zh: str) -> bool:
    """An entry's (Chinese) text sets a time limit of its own: registering a guest "within 24
    hours", applying for a residence permit "within 30 days" of entry."""
    return _STATES_DEADLINE.search(zh) is not None


def states_a_fine(zh: str) -> bool:
    """An entry's (Chinese) text states a fine with its amount."""
    return _STATES_FINE.search(zh) is not None


def answers_a_particular(hit: Hit) -> bool:
    """A fee or processing-time entry: it answers one particular of a procedure, not where to
    apply for it (unless its title says so too: "永久居留申请在哪里受理、怎么审批、多久出结果")."""
    titles = hit.title.values()
    particular = _is_processing(hit) or is_fee(hit)
    return particular and not any(_WHERE.search(t.lower()) for t in titles)


def where_first(searched: Search, shown: str, same_section: list[bool]) -> Search | None:
    """Where to apply, asked after a fee or processing time: the first entry of the topic's
    search (with the corpus's words for applying) in the shown entry's section that is not a
    particular (``same_section`` is per hit). None when there is none among the first five."""
    for hit, same in list(zip(searched.hits, same_section, strict=True))[:5]:
        if same and hit.entry_id != shown and not answers_a_particular(hit):
            return lead_with(searched, hit)
    return None


def linked_fee(shown: Hit, linked: tuple[Hit, ...], states_fee: bool, section_has_fee: bool
               ) -> Hit | None:
    """What it costs, asked after an entry that links to its fee entry (a visa extension's
    fees): that fee, not the one the follow-up's words alone find first. Else, when the entry
    shown states its own fee (``states_fee``: the Exit-Entry Permit's 100 yuan, a study residence
    permit's table) and the topic's search finds no fee entry of its section
    (``section_has_fee``: a residence permit's fees after its renewal), that entry again: the
    fee the words find is another procedure's (a visa fee table after a residence permit). None
    after a fee entry (the question narrows that fee: another table's is no answer), or where the
    usual search decides."""
    if is_fee(shown):
        return None
    fee = next((h for h in linked if is_fee(h)), None)
    if fee is None and states_fee and not section_has_fee:
        return shown
    return fee


def states_its_fee(details_zh: str) -> bool:
    """An entry's (Chinese) details give the fee itself ("费用：100元", "费用：免费"), not only where
    it is published ("费用：以当地公布的收费标准为准。")."""
    return _STATES_FEE.search(details_zh) is not None


def is_fee(hit: Hit) -> bool:
    """A fee entry, by its title."""
    return any(_FEE_TITLE.search(t) for t in hit.title.values())


def is_penalty(hit: Hit) -> bool:
    """A penalty entry, by its title ("非法就业的外国人会受到什么处罚", "Penalties for overstaying")."""
    return any(_PENALTY_TITLE.search(t) for t in hit.title.values())


def _is_processing(hit: Hit) -> bool:
    return any(_PROCESSING_TITLE.search(t) for t in hit.title.values())


def the_office_again(joined: Search, shown: str | None) -> Search:
    """The hours or phone of the office just shown: that entry (what is known of them, or where
    to look them up) leads when the topic's search found it."""
    again = next((h for h in joined.hits if h.entry_id == shown), None)
    return lead_with(joined, again) if again is not None else joined


# A purpose that visa-free entry does not cover (it is for tourism, business, visits and transit):
# work, study, or living with one's family for good. Asked with one of them, "I'm Japanese and
# coming to work, which visa?" asks for that purpose's visa, not the visa-free entry its
# nationality finds. Said to the retriever with the question: the corpus's words for that visa.
_STUDY_WORDS = "X字学习签证"
_LONG_STUDY_WORDS = "X1字学习签证 超过180日"
# A year or more ("读一年", "一年以上", "a year", "two years", "school year").
_A_YEAR = re.compile(r"(?<![每\d])(?:\d|[一两二三四五])\s*年(?!级)|学年|school year|"
                     r"\b(?:a|one|two|three|four|\d)[ -]years?\b(?!\s*-?\s*old)", _A)
_PURPOSES = (
    (re.compile(r"\bwork|\bjobs?\b|\bemploy|工作|上班|打工|返工|就业|搵工|找工", _A), "Z字工作签证 工作许可"),
    (re.compile(r"\bstudy|\bstudies|\bcourse\b|\bschool\b|\buniversity|\bsemester|\bdegree\b|"
                r"读书|读.{0,3}(?:书|年|学期)|读[高初中小大]|留学|上学|学习|一个学期|课程", _A), _STUDY_WORDS),
    (re.compile(r"团聚|定居|长住|长期住|长期在|\blong.?term\b|\bsettle|\breunion\b|\bjoin (?:my|her|his)", _A),
     "Q字团聚签证"),
)
# Asks which visa to get ("what visa does she need?", "办什么签证？", "要辦咩簽證"), not whether
# visa-free entry allows something ("过境免签期间可以打工吗", which the visa-free entry answers).
_WHICH_VISA = re.compile(r"\b(?:what|which)\s+(?:kind of\s+|type of\s+)?visa|(?:什么|哪种|哪类|哪一种|哪个|咩|乜)"
                         r"(?:类型?的?)?签证", _A)


# Else, as a follow-up, a wish ("要是我弟弟想来这边工作呢？", "如果想長住呢？"), not whether visa-free
# entry allows it ("那过境期间能不能打工", which the visa-free entry answers).
_WISHES = re.compile(r"想|打算|要是|如果|假如|\bwants?\b|\bplans?\b|\bif\b", _A)
_WHETHER = re.compile(r"能不能|可不可以|可唔可以|得唔得|可以[^，。？?]*吗|\bcan (?:i|we|he|she|they)\b|"
                      r"\b(?:is|are) (?:i|we|he|she|they) allowed", _A)


# A visit to family is visa-free entry's own purpose, up to its 30 days; a longer one ("my parents
# want to stay two months with us", "父母想来看我住两个月") needs a family visit visa, Q or S by
# whom they visit: the entry that tells them apart.
_VISITS_FAMILY = re.compile(
    r"探亲|探望|探我|看我|陪我|住我|跟我住|同我住|我家|我屋企|\b(?:my|our) (?:home|place|flat|house)\b"
    r"|\bvisit|\bstay (?:with|at) (?:me|us|my|our)\b"
    r"|\bwith (?:me|us)\b|\bsee (?:me|us|their|his|her)\b", _A)
_FAMILY_VISIT_WORDS = "探亲应该办Q字还是S字签证"
# A stay longer than visa-free entry's 30 days: months (two or more), half a year, a year or more,
# a semester or school year, or over 30 days. Not a calendar year ("2025年"), nor one a year ("每年").
_NUMBER = r"(?:\d{1,2}|[两二三四五六七八九十]+|a|one|two|three|four|five|six|seven|eight|nine|ten|twelve)"
_PAST_30_DAYS = re.compile(
    r"(?:\d{1,2}|[两二三四五六七八九十]+)\s*(?:个|個)多?月|半年|(?<![每\d])(?:\d|[一两二三四五])\s*年(?!级)"
    r"|学期|school year|semester|\b(?:\d{1,2}|two|three|four|five|six|seven|eight|nine|ten|twelve)"
    r"[ -]months?\b|\b(?:a|one|two|three|\d)[ -]years?\b(?!\s*-?\s*old)|half a year|\blong.?term\b"
    r"|\b(?:[3-9]\d|\d{3})\s*days\b|(?:[3-9]\d|\d{3})\s*[天日]", _A)


def stays_past_visa_free(text: str) -> bool:
    """A stay longer than visa-free entry allows: two months, a semester, a year, 40 days. One
    month is within its 30 days."""
    return any(not _ONE_MONTH.fullmatch(m.group()) for m in _PAST_30_DAYS.finditer(fold(text)))


_ONE_MONTH = re.compile(r"(?:1|一)\s*(?:个|個)?月|30\s*[天日]|30\s*days", _A)


def purpose_query(text: str, which: bool = True) -> str | None:
    """The corpus's words for the visa of the one purpose beyond visa-free entry that a message
    names, asking which visa where ``which``, else wishing it (none, or more than one: None).
    Asked with a stay longer than visa-free entry allows, any question of it is the purpose's
    ("我係澳洲人，想嚟大陸讀一年書，可唔可以直接用免簽入境？": not whether visa-free entry allows it,
    which it does not for that long), and a visit to family that long is a purpose of its own."""
    folded = fold(text)
    longer = stays_past_visa_free(text)
    if which and not _WHICH_VISA.search(folded) and not longer:
        return None
    if not which and (not _WISHES.search(folded) or _WHETHER.search(folded) and not longer):
        return None
    named = [words for pattern, words in _PURPOSES if pattern.search(folded)]
    if not named and longer and _VISITS_FAMILY.search(folded):
        return _FAMILY_VISIT_WORDS
    if named == [_STUDY_WORDS] and _A_YEAR.search(folded):
        # A year or more of study is X1's (over 180 days), not X2's.
        return _LONG_STUDY_WORDS
    return named[0] if len(named) == 1 else None

"""Everyday errands that are not immigration matters: banks, SIM cards, ride-hailing and train
apps, flights' luggage, doctors, restaurants, taxes, driving licences, landlords.

Foreigners ask about them in the same breath as their papers, often code-mixed ("想開bank
account，bank要我帶passport", "SIM card实名登记可以用passport吗？"), so the question shares the
corpus's words (passport, hotel, port, hotline) and the retriever answers it with an entry about
using a passport or PR card as ID. Teaching the NLU classifier such sentences as out of scope was
tried and declined real questions about stolen passports and transit; what tells them apart is
narrower: the errand is named, and no immigration matter is.

A follow-up is read with its conversation: right after an answer about a visa or a transit,
"do I need a return air ticket?" or "要带酒店预订单吗？" asks what that matter requires, and is
ours; the same words as a first message, or "where can I open a bank account?" after the
answer, are the errand itself.
"""

from __future__ import annotations

import re

from bot.answer_policy import told_at_length
from bot.follow_values import stands_for_the_matter
from bot.foreign_visa import without_foreign_matters
from bot.nlu.text import fold

# Word boundaries of ASCII words only: in "有了PR card" or "我想book酒店" the English word touches a
# Chinese character, which Unicode counts as a word character (no \b between 了 and P).
_ASCII_WORDS = re.ASCII

# Matched on folded text (Simplified, lower case). Each alternative names the errand itself, not
# a word it shares with us: "hotel" alone is our accommodation registration, "refund" is not.
_ERRAND = re.compile(
    r"银行开户|开户|bank account|\batm\b|取钱|攞钱|提款|visa card|master ?card|信用卡|credit card|"
    r"银行卡|refund|退款|退钱|退返|房钱|押金|按金|deposit|"
    r"sim ?card|电话卡|手机卡|手机号|营业厅|滴滴|\bdidi\b|12306|train ticket|luggage|baggage|行李|"
    r"医院|hospital|牙医|dentist|睇医生|看医生|医疗券|\bclinic\b|诊所|好嘢食|餐厅|restaurant|美食|"
    r"报税|交税|个税|所得税|tax return|income tax|file (?:my )?tax|驾照|驾驶证|车牌|"
    r"driving licen[cs]e|driver'?s licen[cs]e|房东|landlord|好嘈|噪音|呃咗钱|呃钱|骗钱|"
    r"police clearance|无犯罪记录|annual leave|年假|社保|social insurance|户口|户籍|hukou|结婚登记|"
    r"登记结婚|结婚证|民政局|注册[^，。？?]{0,6}公司|开公司|营业执照|company registration|"
    r"register (?:a |my |our )?(?:company|business)|business licen[cs]e|汇率|exchange rate|换 ?money|"
    r"门号|机票|air ?tickets?|plane tickets?|flight tickets?|bank ?cards?|航空公司|哪家航空|订单|"
    r"订酒店|订房|hotel booking|book(?:ing)? (?:a |the )?hotel|"
    # Code-mixed, the errand half in each language: "where can I 买 SIM卡", "帮我 book 一个
    # hotel room", "點樣 book 去北京嘅 flight", "邊度可以 exchange 啲 USD 做 RMB".
    r"sim ?卡|\bbook(?:ing)?\b[^，。？?]{0,24}(?:hotel|flight|酒店|机票)|订[^，。？?]{0,10}(?:酒店|饭店|宾馆|民宿)|"
    r"\bexchange\b[^，。？?]{0,10}(?:usd|rmb|money|currency|人民币|美金|港币)|换钱|兑换外币|"
    r"(?:支付宝|alipay|微信支付|wechat ?pay)[^，。？?]{0,10}(?:绑|bind|link|card|卡)|"
    r"药店|药房|pharmacy|感冒药|买药|international school|国际学校|\bvpn\b|"
    r"marriage registration|结婚 ?registration|\btaxi\b|出租车|中介费|"
    # A train ticket refunded or changed ("高铁票怎么退", Cantonese 飞 for a ticket; buying one
    # with a PR card as ID is ours), a transport card, a web domain: errands done elsewhere.
    r"(?:高铁|火车|动车|车)(?:票|飞)[^，。？?]{0,6}(?:退|改签|改期)|退(?:高铁|火车|动车|车)?(?:票|飞)|"
    r"八达通|octopus card|domain name|域名|"
    # Bookings made for the visitor, a ticket or a flight changed: a travel agent's or an
    # airline's errand ("帮我订一张高铁票", "can you rebook my flight?").
    r"\brebook|改签|订[^，。？?]{0,10}(?:票|飞)|\bbook(?:ing)?\b[^，。？?]{0,24}(?:tickets?|train|tour)|"
    # Other offices' matters, by office: vehicles (车管所), housing (the provident fund, buying a
    # home), animals crossing with their owners (quarantine), vaccinations, health cover.
    r"车管所|车辆登记|register (?:my |a |the |our )?(?:car|vehicle)|驾考|driving test|theory (?:test|exam)|"
    r"公积金|housing fund|provident fund|买房|购房|房产证|"
    r"buy(?:ing)? (?:a |an )?(?:house|flat|home|apartment|property)|"
    r"宠物|\bpets?\b|\bdogs?\b|\bcats?\b|检疫|quarantine|疫苗|vaccin|医保|急诊",
    _ASCII_WORDS,
)
# Which business to use ("邊間銀行最方便？", "边间旅行社抵啲", "which hotel is cheapest?"): a
# recommendation, never an immigration matter, even when our card is what it is used with.
_RECOMMEND = re.compile(
    r"(?:哪家|哪间|哪个|边间|边家|边个|which)\s*[^,.?!，。？！]{0,8}"
    r"(?:银行|旅行社|医院|酒店|餐厅|学校|诊所|航空|bank|agency|hospital|hotel|restaurant|school|clinic|airline)"
    r"[^,.?!，。？！]{0,16}(?:最方便|最好|最平|最便宜|抵|便宜|好啲|推荐|best|cheap|recommend)|"
    r"(?:推荐|recommend)[^,.?!，。？！]{0,10}(?:银行|旅行社|医院|酒店|餐厅|学校|诊所|bank|agency|hospital|hotel|"
    r"restaurant|school|clinic)",
    _ASCII_WORDS,
)
# Goods crossing the border (customs, duty-free allowances, parcels) are customs' errands. They name
# entry as their setting ("入境的時候duty-free allowance有幾多？"), so only an immigration matter
# named by its own name (_NAMED) makes such a message ours.
_CUSTOMS = re.compile(r"海关|customs|免税|duty.?free|烟酒|包裹|快递|parcel", _ASCII_WORDS)

# An immigration matter named in the same message makes it ours: "bank要我證明PR card同
# passport係同一個人，NIA有冇得網上出？", "hotel前台说我的visa已经expired".
_OURS = re.compile(
    r"签证|签注|居留|居住证|停留证|许可|入境|出境|出入境|过境|免签|通行证|回乡证|台胞证|永居|永久居留|"
    r"五星卡|移民局|12367|逾期|延期|续签|非法就业|黑工|派出所|\bpr\b|\bnia\b|five.?star|"
    r"(?:24|72|144|240)\s*(?:小时|个?钟|hours?|h\b)|overstay|permit|residen|transit|visa(?! ?card)|"
    r"extend|extension|arrival card|police station|"
    r"(?:丢|唔见|不见|偷|补办|换|过期|到期)[^，。？?]{0,6}(?:护照|passport)|"
    r"(?:护照|passport)[^，。？?]{0,6}(?:丢|唔见|不见|偷|过期|到期|补|换)|"
    r"(?:lost|stolen|expired|renew)\w*\s+(?:my\s+)?passport|passport\s+(?:was\s+|is\s+)?(?:lost|stolen|expired)",
    _ASCII_WORDS,
)


# An immigration matter by its own name, in either language. Narrower than _OURS (no bare
# "permit", "residen" or "入境": "international driving permit", "non-resident" for tax and "带 cat
# 入境" are not ours): NLU, fitted on single-language examples, reads "hotel 會唔會幫我做
# accommodation registration？" or "我想 apply PR" as out of scope, and these names overrule it.
_NAMED = re.compile(
    r"accommodation registration|residence permit|stay permit|visa extension|"
    r"extend (?:my |the |a )?visa|visa.?free|\btransit\b|overstay|arrival card|exit.entry|"
    r"entry.exit|port visa|five.?star card|\bpr\b|住宿登记|居留|签证|签注|免签|过境|永居|永久居留|出入境",
    _ASCII_WORDS,
)


def names_our_matter(text: str) -> bool:
    """The message names an immigration matter by its name ("apply PR", "住宿登记")."""
    return _NAMED.search(fold(text)) is not None


# Asking whether something is needed, shown or brought: "do I need", "要带", "使唔使".
_NEEDS = re.compile(
    r"\b(?:need|needs|needed|require[sd]?|must|have to|has to|bring|show|provide|submit)\b|"
    r"需要|需|要带|要不要|要唔要|使唔使|使不使|用不用|必须|一定要|出示|提供|准备|带",
    _ASCII_WORDS,
)


def runs_errand(text: str, after_answer: bool = False) -> bool:
    """The message asks about an everyday errand ("我張Visa card喺內地ATM攞唔到錢", "luggage
    allowance 几kg？") and names no immigration matter. ``after_answer``: the conversation's last
    answer was an immigration entry, so asking whether the errand's paper is needed ("do I need
    a return air ticket?") asks about that matter, and so does a message that points back at it
    ("can my brother do it for me? I'm in hospital" after a visa extension, not "my wallet was
    in the same bag, can you block my bank cards?")."""
    if told_at_length(text) and _errand_asked(_last_sentence(text), after_answer):
        # A situation told at length names its papers as context ("my residence permit is sorted,
        # … is three months' deposit normal?"): its question, the last sentence, asks the errand.
        return True
    return _errand_asked(text, after_answer)


def _errand_asked(text: str, after_answer: bool) -> bool:
    folded = fold(text)
    if _RECOMMEND.search(folded):
        return True
    errand = _ERRAND.search(folded)
    if errand is None or _ours(folded):
        errand = _CUSTOMS.search(folded)
        if errand is None or _NAMED.search(without_foreign_matters(folded)):
            return False
    return not (after_answer and _on_the_matter(folded, errand.start(), text))


def _last_sentence(text: str) -> str:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    return sentences[-1] if sentences else text


def asks_if_errand_needed(text: str) -> bool:
    """Whether an errand's paper is needed ("do I need a return air ticket?", "要带酒店预订单
    吗？"), or the errand is named beside a word pointing back ("can my brother do it for me?
    I'm in hospital"), naming no immigration matter: after an immigration answer, a follow-up
    on it."""
    folded = fold(text)
    errand = _ERRAND.search(folded)
    return errand is not None and not _ours(folded) and _on_the_matter(folded, errand.start(), text)


def _on_the_matter(folded: str, errand_at: int, text: str) -> bool:
    return _asks_if_needed(folded, errand_at) or stands_for_the_matter(text)


def _ours(folded: str) -> bool:
    """An immigration matter is named: by the words around it (_OURS) or by its own name
    (_NAMED: "landlord说我不用做住宿登记" asks about accommodation registration, not the landlord);
    another country's ("申请Canada PR要police clearance") is not ours."""
    ours = without_foreign_matters(folded)
    return _OURS.search(ours) is not None or _NAMED.search(ours) is not None


# A passport lost or stolen, told in a sentence ("someone stole my bag with my passport in it",
# "they took my bag, my passport was in it"): always ours (the police report, the exit permit).
# A passport gone, in Chinese: the words before 护照 ("丢了护照") and after it ("护照被偷").
_ZH_GONE_BEFORE = "丢|唔见|不见|偷"
_ZH_GONE_AFTER = "丢|唔见|不见|被偷"
_PASSPORT_GONE = re.compile(
    r"\b(?:lost|stole|stolen|took|taken|missing|pickpocketed)\b[^.?!。？！]{0,30}\bpassport|"
    r"\bpassport\b[^.?!。？！]{0,20}\b(?:lost|stolen|missing|gone|taken)\b|"
    rf"(?:{_ZH_GONE_BEFORE}|抢)[^,，。？?]{{0,4}}护照|护照[^,，。？?]{{0,4}}(?:{_ZH_GONE_AFTER}|被抢)",
    _ASCII_WORDS,
)


def loses_a_passport(text: str) -> bool:
    """A passport lost or stolen, and no errand asked."""
    folded = fold(text)
    return _PASSPORT_GONE.search(folded) is not None and _ERRAND.search(folded) is None


def speaks_of_our_matter(text: str) -> bool:
    """The message names an immigration matter by its name (_NAMED) or a trouble with one of
    our papers (_TROUBLE: "my passport expired", "个护照唔见咗", "超咗期"), and no errand. NLU's
    out-of-scope reading, unless sure, and the coverage floor do not decline it
    (bot/answer_policy.py): both were fitted on a line or two of one language, and read "我个护照
    喺广州唔见咗，报完警仲要去边度攞张证明？" as uncovered."""
    folded = fold(text)
    if _ERRAND.search(folded) or _CUSTOMS.search(folded):
        return False
    ours = without_foreign_matters(folded)
    return _NAMED.search(ours) is not None or _TROUBLE.search(ours) is not None


# Narrower than _OURS: a passport lost, stolen or expired (not one merely brought along: "物业说要带
# 护照去补" a door card), an overstay in its Chinese words, the permits of Hong Kong, Macao and
# Taiwan residents by name, registering a guest at the police station, a stopover or layover.
_TROUBLE = re.compile(
    rf"(?:{_ZH_GONE_BEFORE}|补办|过期|到期)[^,.?!，。？！]{{0,6}}(?:护照|passport)|"
    rf"(?:护照|passport)[^,.?!，。？！]{{0,4}}(?:{_ZH_GONE_AFTER}|过期|到期)|"
    r"(?:lost|stolen|expired)\w*\s+(?:my\s+)?passport|"
    r"passport\s+(?:was\s+|is\s+|has\s+)?(?:lost|stolen|expired)|"
    r"hong kong permit|macao permit|台胞证|回乡证|通行证|超(?:咗|了)?期|逾期|"
    r"派出所[^,.?!，。？！]{0,4}登记|登记[^,.?!，。？！]{0,4}派出所|\bstopover|\blayover",
    _ASCII_WORDS,
)


def _asks_if_needed(folded: str, errand_at: int) -> bool:
    """The errand is what is needed ("要带酒店预订单吗"), not what needs something ("开银行户口
    要带乜嘢？"): the asking comes before it."""
    need = _NEEDS.search(folded)
    return need is not None and need.start() < errand_at

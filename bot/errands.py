"""Everyday errands that are not immigration matters: banks, SIM cards, ride-hailing and train
apps, flights' luggage, doctors, restaurants, taxes, driving licences, landlords.

Foreigners ask about them in the same breath as their papers, often code-mixed ("想開bank
account，bank要我帶passport", "SIM card实名登记可以用passport吗？"), so the question shares the
corpus's words (passport, hotel, port, hotline) and the retriever answers it with an entry about
using a passport or PR card as ID. Teaching the NLU classifier such sentences as out of scope was
tried and declined real questions about stolen passports and transit; what tells them apart is
narrower: the errand is named, and no immigration matter is.
"""

from __future__ import annotations

import re

from bot.nlu.text import fold

# Matched on folded text (Simplified, lower case). Each alternative names the errand itself, not
# a word it shares with us: "hotel" alone is our accommodation registration, "refund" is not.
_ERRAND = re.compile(
    r"银行开户|开户|bank account|\batm\b|取钱|攞钱|提款|visa card|master ?card|信用卡|credit card|"
    r"银行卡|refund|退款|退钱|退返|房钱|押金|按金|deposit|"
    r"sim ?card|电话卡|手机卡|营业厅|滴滴|\bdidi\b|12306|train ticket|luggage|baggage|行李|"
    r"医院|hospital|牙医|dentist|睇医生|看医生|医疗券|\bclinic\b|诊所|好嘢食|餐厅|restaurant|美食|"
    r"报税|交税|个税|所得税|tax return|income tax|file (?:my )?tax|驾照|驾驶证|车牌|"
    r"driving licen[cs]e|driver'?s licen[cs]e|房东|landlord|好嘈|噪音|呃咗钱|呃钱|骗钱|"
    r"police clearance|无犯罪记录|annual leave|年假|社保|social insurance|户口|户籍|hukou|结婚登记|"
    r"门号|机票|航空公司|哪家航空|订单|订酒店|订房|hotel booking|book(?:ing)? (?:a |the )?hotel",
)
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
)


def runs_errand(text: str) -> bool:
    """The message asks about an everyday errand ("我張Visa card喺內地ATM攞唔到錢", "luggage
    allowance 几kg？") and names no immigration matter."""
    folded = fold(text)
    return _ERRAND.search(folded) is not None and _OURS.search(folded) is None

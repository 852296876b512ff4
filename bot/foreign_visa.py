"""Questions about another country's visa: a traveller leaving China asks whether Japan, Korea or
the Schengen states want a visa from them.

Those visas are issued by the destination's embassy or consulate, not by the NIA, but the
question shares every word with our visa entries ("去日本要唔要簽證？" reads like the visa-free
entry for Japanese visitors), so the retriever and the NLU classifier answer it with confidence.
What tells the two apart is the direction of travel: a foreign country as the destination, or
as the issuer of the visa, with China nowhere named as where the visitor is going.
"""

from __future__ import annotations

import re

from bot.nlu.text import fold

# Destinations people travel to from China; Hong Kong, Macao and Taiwan are in scope (the NIA
# issues the permits for them), so they are not here.
_COUNTRIES_ZH = (
    "日本|韩国|南韩|朝鲜|泰国|新加坡|马来西亚|越南|菲律宾|印尼|印度尼西亚|柬埔寨|老挝|缅甸|印度|尼泊尔|"
    "斯里兰卡|马尔代夫|迪拜|阿联酋|土耳其|以色列|埃及|美国|加拿大|墨西哥|巴西|阿根廷|英国|爱尔兰|法国|德国|"
    "意大利|西班牙|葡萄牙|荷兰|比利时|瑞士|奥地利|希腊|瑞典|挪威|丹麦|芬兰|冰岛|俄罗斯|波兰|捷克|匈牙利|"
    "欧洲|申根|澳洲|澳大利亚|新西兰|纽西兰|南非|肯尼亚"
)
_COUNTRIES_EN = (
    "japan|korea|south korea|thailand|singapore|malaysia|vietnam|philippines|indonesia|cambodia|"
    "laos|myanmar|india|nepal|sri lanka|maldives|dubai|uae|turkey|israel|egypt|the us|the usa|usa|"
    "america|the states|canada|mexico|brazil|argentina|the uk|uk|britain|england|ireland|france|"
    "germany|italy|spain|portugal|the netherlands|netherlands|holland|belgium|switzerland|austria|"
    "greece|sweden|norway|denmark|finland|iceland|russia|poland|czechia|hungary|europe|"
    "the schengen area|australia|new zealand|south africa|kenya"
)
_ISSUERS_EN = (
    "japanese|korean|thai|singaporean|malaysian|vietnamese|indian|turkish|us|u\\.s\\.|american|"
    "canadian|uk|british|irish|french|german|italian|spanish|schengen|european|russian|"
    "australian|new zealand|south african|japan|korea|thailand|vietnam|india|turkey|canada|"
    "france|germany|italy|spain|russia|australia"
)
# "visa-free for France" is about French visitors to China, not a visa France issues.
_VISA_EN = r"(?:e-?visa|visa|\beta)(?![a-z])(?![- ]?(?:free|exempt|waiver))"
_VISA = rf"(?:签证|签注|免签|落地签|入境|{_VISA_EN})"

# "去日本", "飞韩国", "到泰国旅行", "去美国读书": a foreign destination.
_TO_COUNTRY_ZH = re.compile(rf"(?:去|到|飞|赴|前往|出国去)\s*(?:{_COUNTRIES_ZH})")
# "日本签证", "申根签", "美国的签证": a visa that country issues.
_COUNTRY_VISA_ZH = re.compile(
    rf"(?:{_COUNTRIES_ZH})(?:的|嘅)?(?:旅游|工作假期|工作|学生|留学|商务|探亲|电子|面试)?"
    r"(?:签证|签(?![发到])|visa)|美签|日签|韩签|英签|申根签")
# ASCII word boundaries here and below: an English word touching Chinese ("来china") has no
# Unicode \b before it.
_TO_COUNTRY_EN = re.compile(
    rf"\b(?:to|visit|visiting|into|enter|entering|for)\s+(?:{_COUNTRIES_EN})\b", re.ASCII)
# "(?<![a-z])", not "\b": "我有一张Japan visa" has no word boundary between 张 and J.
_COUNTRY_VISA_EN = re.compile(rf"(?<![a-z])(?:{_ISSUERS_EN})\s+(?:[a-z0-9/-]{{1,12}}\s+)?{_VISA_EN}")
_VISA_WORD = re.compile(_VISA)
# "I hold a US visa, can I ...": a visa the visitor already has is a condition of ours
# (transit, visa on arrival), not the question.
_HOLDER = re.compile(r"\b(?:have|has|hold|holds|holding|holder|holders|got|with)\b[^.?!]{0,25}visa"
                     r"|持有?[^，。？?]{0,8}签|我有[^，。？?]{0,8}签", re.ASCII)

# Anything that makes China the destination or the place of stay keeps the question ours:
# "I'm Japanese, do I need a visa for China?", "飞日本途经上海过境免签", "泰国人去中国要签证吗".
_CHINA = re.compile(
    r"中国|中國|内地|大陆|国内|来华|入境中|过境|转机|中转|口岸|出入境|护照过期|办护照|返嚟|回来|再入境|"
    r"\b(?:china|chinese visa|mainland|transit|layover|stopover|144|240|72|come back|coming back|re-?enter)\b",
    re.ASCII,
)

# "我是美國人" / "I'm American": a foreign visitor asks about coming here, wherever else the trip goes.
_FOREIGN_VISITOR = re.compile(
    r"我(?:是|係)[^，。？?、\s]{1,6}人(?!员)|\bi'?m (?:an? )?(?:american|british|canadian|french|german|"
    r"italian|spanish|japanese|korean|thai|singaporean|malaysian|australian|russian|indian)\b", re.ASCII)
# "我係內地護照", "I'm a Chinese citizen": the traveller's own passport, not where they go.
_TRAVELLER = re.compile(
    r"(?:中国|内地|大陆)(?:护照|公民|籍|人)|\bchin(?:a|ese)\s+(?:passport|citizen|national)s?\b", re.ASCII)


# "美国绿卡", "Canada PR", "移民澳洲", "US citizenship": residence or nationality another country
# grants ("绿卡" alone is also what people call our own permanent residence card).
_COUNTRY_RESIDENCE_ZH = re.compile(
    rf"(?:{_COUNTRIES_ZH})(?:的|嘅)?\s*(?:绿卡|永居|永久居留|pr\b|公民身份|国籍|入籍|移民)"
    rf"|移民(?:去|到)?\s*(?:{_COUNTRIES_ZH})", re.ASCII)
_COUNTRY_RESIDENCE_EN = re.compile(
    rf"(?<![a-z])(?:{_ISSUERS_EN})\s+(?:green card|pr|permanent residen\w*|citizenship)\b"
    rf"|\b(?:immigrat\w*|emigrat\w*|move permanently)\s+to\s+(?:{_COUNTRIES_EN})\b"
    rf"|\b(?:green card|pr|permanent residen\w*|citizenship)\s+(?:in|of|for)\s+(?:{_COUNTRIES_EN})\b",
    re.ASCII)


def asks_foreign_residence(text: str) -> bool:
    """The message asks about residence or nationality in another country ("申請美國綠卡要咩條件",
    "I'm applying for Canada PR"), and names no stay in China."""
    folded = _TRAVELLER.sub(" ", fold(text))
    if _CHINA.search(folded) or _FOREIGN_VISITOR.search(folded):
        return False
    return bool(_COUNTRY_RESIDENCE_ZH.search(folded) or _COUNTRY_RESIDENCE_EN.search(folded))


def asks_foreign_visa(text: str) -> bool:
    """The message asks about a visa for travel to another country ("我想 apply Japan visa",
    "去韓國旅行香港護照使唔使簽證？"), and names no stay in China."""
    folded = _TRAVELLER.sub(" ", fold(text))
    if _CHINA.search(folded) or _HOLDER.search(folded) or _FOREIGN_VISITOR.search(folded):
        return False
    if _COUNTRY_VISA_ZH.search(folded) or _COUNTRY_VISA_EN.search(folded):
        return True
    destination = _TO_COUNTRY_ZH.search(folded) or _TO_COUNTRY_EN.search(folded)
    return destination is not None and _VISA_WORD.search(folded) is not None


def without_foreign_matters(folded: str) -> str:
    """Folded text with another country's visa, residence or nationality blanked out: "Canada
    PR" names permanent residence, but not ours (bot/errands.py asks what is left)."""
    for pattern in (_COUNTRY_RESIDENCE_ZH, _COUNTRY_RESIDENCE_EN, _COUNTRY_VISA_ZH, _COUNTRY_VISA_EN):
        folded = pattern.sub(" ", folded)
    return folded

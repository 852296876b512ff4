"""Written Cantonese → standard written Chinese, for the retriever's query.

The retriever's analyser already maps Cantonese function words (係, 唔, 冇, 咗, 點樣, 幾耐,
使唔使 …) to Mandarin, but its table is part of the index (changing it rebuilds the index), and
colloquial content words and word orders are left as they are: "兩日" is not "两天", "返工" not
"上班", "簽證過咗期" is an overstay ("逾期"), "續簽" is our "签证延期". The corpus is written in
standard Chinese, so these are rewritten before searching; what the visitor wrote is what the
conversation keeps.
"""

from __future__ import annotations

import re

_DIGIT = "0-9０-９一二兩两三四五六七八九十半幾几多"

# (pattern, replacement), in order; Traditional and Simplified forms both, since the visitor may
# write either and the retriever folds to Simplified after its own Cantonese table.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in (
    # Days counted, not dates: "兩日", "三日", "幾多日" (but "3月5日" is a date).
    (rf"(?<![月{_DIGIT}])([{_DIGIT}]+)[個个]?日(?![本期子常])", r"\1天"),
    # An expired visa is an overstay ("逾期"); "過期" alone reads as an expired permit.
    (r"(簽證|签证|visa)\s*(?:過咗期|过咗期|過期咗|过期咗|過期|过期)", r"\1逾期"),
    (r"返工", "上班"),
    (r"返學|返学", "上學"),
    (r"做嘢|做野", "工作"),
    (r"搵工", "找工作"),
    (r"屋企", "家"),
    (r"老細|老细", "老板"),
    (r"細路仔?|细路仔?", "小孩"),
    (r"續簽|續籤|续签", "簽證延期"),
    (r"續期|续期|[續续](?=居留|簽證|签证)", "延期"),
    (r"拎住|揸住", "持有"),
    (r"啱啱", "剛剛"),
    (r"嗰陣時?", "那時候"),
    (r"嗰[度邊边]", "那裡"),
    (r"揸車|揸车", "開車"),
    (r"公幹|公干", "出差"),
    (r"點算好|点算好", "怎麼辦"),
    (r"幾錢|几钱", "多少錢"),
    (r"有得", "可以"),
))


def to_standard(text: str) -> str:
    """The same question in standard written Chinese, as far as its colloquial words go."""
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text

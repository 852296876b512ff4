"""Small, hand-curated language data for matching: Cantonese → Mandarin, synonyms, glossary.

Why: the default dense model is English-only, so Chinese (and code-mixed) matching rests on the
lexical signals. Written Cantonese and Mandarin use different function words for the same
question, and visitors mix English terms into Chinese; mapping both sides of the index through the
same normalisation makes these match. Keep entries general (language facts), never tuned to a
particular test question.
"""

from __future__ import annotations

# Applied to the raw text before Traditional→Simplified conversion, because 係 (Cantonese "is")
# and 系 (system) merge into 系 after conversion. 關係/聯係 keep their 係.
CANTONESE_BEFORE_T2S: tuple[tuple[str, str], ...] = (
    (r"(?<![關联聯关])係", "是"),
)

# Applied to Simplified text, longest phrases first (ordered).
CANTONESE_TO_MANDARIN: tuple[tuple[str, str], ...] = (
    ("系唔系", "是不是"),
    ("系咪", "是不是"),
    ("是咪", "是不是"),
    ("是唔是", "是不是"),
    ("可唔可以", "可不可以"),
    ("使唔使", "需不需要"),
    ("要唔要", "要不要"),
    ("得唔得", "可不可以"),
    ("有冇", "有没有"),
    ("几多钱", "多少钱"),
    ("几多", "多少"),
    ("几耐", "多久"),
    ("几时", "什么时候"),
    ("边度", "哪里"),
    ("边到", "哪里"),
    ("边处", "哪里"),
    ("边个", "谁"),
    ("边间", "哪个"),
    ("点样", "怎么"),
    ("点做", "怎么做"),
    ("点去", "怎么去"),
    ("点申请", "怎么申请"),
    ("点办理", "怎么办理"),
    ("点解", "为什么"),
    ("点算", "怎么办"),
    ("点办", "怎么办"),
    ("而家", "现在"),
    ("宜家", "现在"),
    ("乜嘢", "什么"),
    ("咩嘢", "什么"),
    ("琴日", "昨天"),
    ("听日", "明天"),
    ("今日", "今天"),
    ("唔该", "请问"),
    ("唔使", "不用"),
    ("佢哋", "他们"),
    ("我哋", "我们"),
    ("你哋", "你们"),
    ("仲要", "还要"),
    ("仲有", "还有"),
    ("仲可以", "还可以"),
    ("仲未", "还没"),
    ("冇", "没有"),
    ("唔", "不"),
    ("嘅", "的"),
    ("咗", "了"),
    ("嚟", "来"),
    ("喺", "在"),
    ("佢", "他"),
    ("啲", "些"),
    ("咩", "什么"),
    ("搵", "找"),
    ("揾", "找"),
    ("攞", "拿"),
    ("俾人", "被人"),  # passive: 俾人偷咗 = 被人偷了
    ("畀人", "被人"),
    ("畀", "给"),
    ("俾", "给"),
    ("睇", "看"),
    ("咁", "这么"),
    ("噉", "这样"),
    ("啱", "对"),
    ("嘢", "东西"),
    ("返", "回"),
)

# Mandarin variants of the same question word → one form (Simplified).
MANDARIN_SYNONYMS: tuple[tuple[str, str], ...] = (
    ("多长时间", "多久"),
    ("多少天", "多久"),
    ("多长", "多久"),
    ("怎样", "怎么"),
    ("如何", "怎么"),
    ("咋", "怎么"),
    ("能不能", "可以"),
    ("可不可以", "可以"),
    ("能否", "可以"),
    ("是否", "是不是"),
    # 超期 / 过期 / 到期 are separable: a visitor says 超咗期 / 过了期 (咗 is already 了 here),
    # which jieba keeps as one unknown word that matches nothing.
    ("超了期", "超期"),
    ("过了期", "过期"),
    ("到了期", "到期"),
    ("不见了", "丢了"),
    ("弄丢", "丢"),
    ("遗失", "丢失"),
    ("被盗", "被偷"),
    ("护照号", "护照号码"),
    ("绿卡", "永久居留"),
    ("永居证", "永久居留身份证"),
    ("永居", "永久居留"),
    ("五星卡", "永久居留身份证"),
    ("回乡证", "港澳居民来往内地通行证"),
    ("台胞证", "台湾居民来往大陆通行证"),
    ("移民局", "国家移民管理局"),
)

# English phrases → canonical wording (applied to lowercased text before tokenising).
ENGLISH_PHRASES: tuple[tuple[str, str], ...] = (
    ("green card", "permanent residence card"),
    ("five-star card", "permanent residence card"),
    ("five star card", "permanent residence card"),
    ("pr card", "permanent residence card"),
    ("home return permit", "mainland travel permit hong kong macao"),
    ("home-return permit", "mainland travel permit hong kong macao"),
    ("visa on arrival", "port visa"),
    ("e-visa", "visa online"),
    ("phone number", "hotline"),
    ("how long", "duration"),
    ("how much", "fee"),
    ("what time", "hours"),
)

# English word → canonical word (before stemming). Spelling variants and plain synonyms only.
ENGLISH_SYNONYMS: dict[str, str] = {
    "licence": "license",
    "centre": "center",
    "programme": "program",
    "macau": "macao",
    "hk": "hong",
    "pr": "permanent",
    "residency": "residence",
    "resident": "residence",
    "cost": "fee",
    "costs": "fee",
    "price": "fee",
    "charge": "fee",
    "charges": "fee",
    "telephone": "phone",
    "ring": "call",
    "dial": "call",
    "expiry": "expire",
    "expiring": "expire",
    "stolen": "lost",
    "misplaced": "lost",
    "kids": "child",
    "kid": "child",
    "children": "child",
    "baby": "child",
    "airport": "port",
    "mainland": "china",
    "chinese": "china",
    "ppt": "passport",
}

# Nationality adjectives → the country (visa rules are listed by country; visitors say "I'm Irish").
DEMONYMS: dict[str, str] = {
    "afghan": "afghanistan", "albanian": "albania", "algerian": "algeria", "american": "america",
    "andorran": "andorra", "argentine": "argentina", "argentinian": "argentina",
    "armenian": "armenia", "australian": "australia", "austrian": "austria",
    "azerbaijani": "azerbaijan", "bahraini": "bahrain", "bangladeshi": "bangladesh",
    "belarusian": "belarus", "belgian": "belgium", "bolivian": "bolivia", "bosnian": "bosnia",
    "brazilian": "brazil", "british": "uk", "bruneian": "brunei", "bulgarian": "bulgaria",
    "cambodian": "cambodia", "canadian": "canada", "chilean": "chile", "colombian": "colombia",
    "croatian": "croatia", "cuban": "cuba", "cypriot": "cyprus", "czech": "czech",
    "danish": "denmark", "dutch": "netherlands", "ecuadorian": "ecuador", "egyptian": "egypt",
    "emirati": "uae", "estonian": "estonia", "filipino": "philippines",
    "finnish": "finland", "french": "france", "georgian": "georgia", "german": "germany",
    "greek": "greece", "hungarian": "hungary", "icelandic": "iceland", "indian": "india",
    "indonesian": "indonesia", "iranian": "iran", "iraqi": "iraq", "irish": "ireland",
    "israeli": "israel", "italian": "italy", "japanese": "japan", "jordanian": "jordan",
    "kazakh": "kazakhstan", "kenyan": "kenya", "kiwi": "zealand", "korean": "korea",
    "kuwaiti": "kuwait", "kyrgyz": "kyrgyzstan", "lao": "laos", "laotian": "laos",
    "latvian": "latvia", "lebanese": "lebanon", "liechtensteiner": "liechtenstein",
    "lithuanian": "lithuania", "luxembourgish": "luxembourg", "malaysian": "malaysia",
    "maldivian": "maldives", "maltese": "malta", "mexican": "mexico", "moldovan": "moldova",
    "monegasque": "monaco", "mongolian": "mongolia", "montenegrin": "montenegro",
    "moroccan": "morocco", "nepali": "nepal", "nepalese": "nepal", "norwegian": "norway",
    "omani": "oman", "pakistani": "pakistan", "peruvian": "peru", "polish": "poland",
    "portuguese": "portugal", "qatari": "qatar", "romanian": "romania", "russian": "russia",
    "saudi": "saudi", "scottish": "uk", "serbian": "serbia", "singaporean": "singapore",
    "slovak": "slovakia", "slovenian": "slovenia", "spanish": "spain", "swedish": "sweden",
    "swiss": "switzerland", "tajik": "tajikistan", "thai": "thailand", "turkish": "turkey",
    "ukrainian": "ukraine", "uruguayan": "uruguay", "uzbek": "uzbekistan",
    "venezuelan": "venezuela", "vietnamese": "vietnam", "welsh": "uk", "yemeni": "yemen",
}

ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    """a an the i me my mine we our you your he she it its they them their this that these those
    is are am was were be been being do does did doing have has had having can could would should
    will shall may might must to of for in on at by with from about as into and or but if so
    there here what which who whom please hi hello hey thanks thank pls plz just also any some
    'm 's 're 've 'd 'll n't get got""".split()
)

CHINESE_STOPWORDS: frozenset[str] = frozenset(
    """的 了 吗 呢 吧 啊 呀 哦 啦 嘛 么 我 你 您 他 她 它 我们 你们 他们 是 在 和 与 及 或 要 想 请问
    请 一下 这个 那个 这 那 个 都 也 就 还 给 被 把 对 着 过 得 地 之 其 啥 些 么 嗯 哈 喂 好 问
    下 一个 我的 你好 有没有 没有 有人 人 是不是 不是 要不要 可不可以 的话 怎么样 呀 喔""".split()
)

# Domain words jieba should keep whole.
JIEBA_WORDS: tuple[str, ...] = (
    "12367", "永久居留", "永久居留身份证", "居留许可", "停留证件", "过境免签", "口岸签证",
    "免签", "出入境", "港澳台", "办证大厅", "住宿登记", "签证延期", "非法居留", "非法就业",
    "国家移民管理局", "出入境管理机构", "边检", "互免签证", "单方面免签", "小程序",
)

# Latin-script words seen in Chinese sentences → the Chinese term (code-mixed questions).
GLOSSARY_EN_ZH: dict[str, tuple[str, ...]] = {
    "visa": ("签证",),
    "visas": ("签证",),
    "passport": ("护照",),
    "permit": ("许可",),
    "residence": ("居留",),
    "pr": ("永久居留",),
    "green": ("永久居留",),
    "transit": ("过境",),
    "extension": ("延期",),
    "extend": ("延期",),
    "renew": ("换发",),
    "renewal": ("换发",),
    "appointment": ("预约",),
    "booking": ("预约",),
    "hotline": ("热线",),
    "online": ("网上",),
    "fee": ("费用",),
    "fees": ("费用",),
    "police": ("公安",),
    "hk": ("香港",),
    "macao": ("澳门",),
    "macau": ("澳门",),
    "taiwan": ("台湾",),
    "china": ("中国",),
    "work": ("工作",),
    "job": ("工作",),
    "student": ("学习",),
    "study": ("学习",),
    "business": ("商务",),
    "tourist": ("旅游",),
    "family": ("家庭",),
    "overstay": ("逾期",),
    "lost": ("遗失",),
    "airport": ("机场",),
    "port": ("口岸",),
    "border": ("边检",),
    "english": ("英文",),
    "cantonese": ("粤语",),
    "card": ("证",),
    "id": ("身份证",),
    "app": ("app",),
    "wechat": ("微信",),
    "alipay": ("支付宝",),
    "hotel": ("住宿",),
    "registration": ("登记",),
    "free": ("免",),
    "expire": ("到期",),
    "expired": ("过期",),
}

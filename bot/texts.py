"""Everything the bot itself says, in Simplified Chinese and English.

Chinese is written once, in Simplified; replies convert it to Traditional characters for visitors
who write Traditional (Taiwan-style) or Cantonese (Hong Kong-style), with the same conversion as
the answers (runtime/language.py: OpenCC plus a reviewed list of phrase fixes).
"""

from __future__ import annotations

# Quick replies of the main menu: (label, value) per language. A value is sent back as a message.
BUSINESS_OPTIONS = {
    "port_clearance": {"zh": "口岸通关和边境出入", "en": "Port clearance & border crossing"},
    "entry_exit_documents": {"zh": "出入境证件", "en": "Entry-exit documents"},
    "comments_suggestions": {"zh": "意见建议", "en": "Comments & suggestions"},
}

ONLINE_SERVICES = {
    "service_appointment": {"zh": "网上预约", "en": "Online appointment"},
    "service_progress": {"zh": "办理进度查询", "en": "Application progress"},
    "service_visa_info": {"zh": "签证证件信息查询", "en": "My visa / permit info"},
    "service_pr_card_info": {"zh": "永居证信息查询", "en": "Permanent residence ID card info"},
    "service_passport_info": {"zh": "永居人员护照信息查询", "en": "PR holder passport info"},
    "service_office_directory": {"zh": "出入境办证机构查询", "en": "Exit-entry office directory"},
    "service_guidance": {"zh": "办事指南", "en": "Service guides"},
    "service_assisted_application": {"zh": "亲友帮办", "en": "Help for family & friends"},
}

# Canonical questions used to find the knowledge entry behind each menu choice.
SERVICE_QUERIES = {
    "service_appointment": "online appointment for visa extension and residence permit business",
    "service_progress": "online progress inquiry of my visa or residence permit application",
    "service_visa_info": "online inquiry of my own visa and permit information",
    "service_pr_card_info": "online inquiry of my foreign permanent resident ID card information",
    "service_passport_info": "permanent resident passport information inquiry electronic document",
    "service_office_directory": "online inquiry of exit-entry office address hours and phone",
    "service_guidance": "online service guidance for visa extension and residence permits",
    "service_assisted_application": "family and friends assisted handling for foreigners",
}

TEXTS: dict[str, dict[str, str]] = {
    "greeting": {
        "zh": "您好，欢迎使用 12367 ONLINE 国家移民管理局在线咨询。我可以回答签证、停居留、"
              "免签入境、永久居留等出入境问题，并标明依据；需要时为您转接人工客服（7×24 小时）。"
              "请直接输入问题，或选择下面的服务。\nHello! You can also chat in English.",
        "en": "Hello, welcome to 12367 ONLINE, the National Immigration Administration's online "
              "help. I answer questions on visas, stay and residence, visa-free entry, permanent "
              "residence and more, with the rules behind each answer, and I can pass you to a "
              "human agent (24/7). Type your question or pick a service below.\n您也可以用中文咨询。",
    },
    "greet": {"zh": "您好！请问有什么可以帮您？", "en": "Hello! How can I help you?"},
    "goodbye": {
        "zh": "感谢您的咨询，再见！如需帮助，随时回来或拨打 12367。欢迎为本次服务评分。",
        "en": "Thank you for contacting 12367. Goodbye! You are welcome to rate this chat.",
    },
    "thanks": {"zh": "不客气，还有其他问题吗？", "en": "You're welcome. Anything else I can help with?"},
    "lang_set": {"zh": "好的，接下来我用中文回答。", "en": "OK, I will answer in English from now on."},
    "smalltalk": {
        "zh": "我是 12367 ONLINE 智能助手，专门解答出入境和移民管理方面的问题。"
              "请告诉我您想了解什么，例如“签证怎么延期”。",
        "en": "I'm the 12367 ONLINE assistant and I answer questions about immigration and "
              "exit-entry matters. Tell me what you need, for example “how do I extend my visa”.",
    },
    "decline": {
        "zh": "抱歉，这个问题不属于出入境和移民管理业务，我无法解答。其他政务服务问题可拨打 "
              "12345 政务服务便民热线咨询。如有出入境方面的问题，欢迎继续提问。",
        "en": "Sorry, that is outside immigration and exit-entry matters, so I can't answer it. "
              "For other government services, please call the 12345 government service hotline. "
              "I'm happy to help with any immigration question.",
    },
    "foreign_visa": {
        "zh": "其他国家的签证（包括申根签证）由该国驻华使领馆或其签证中心办理，不属于国家移民管理局的业务，"
              "请向目的地国家的使领馆咨询。中国护照、往来港澳台通行证等出入境证件的问题，我可以为您解答。",
        "en": "Visas for other countries (Schengen included) are issued by that country's embassy or "
              "consulates in China, or their visa centres, not by the National Immigration "
              "Administration, so please ask the destination's embassy. I can help with Chinese "
              "exit-entry documents such as passports and permits for Hong Kong, Macao and Taiwan.",
    },
    "foreign_residence": {
        "zh": "在其他国家或地区长期居留、申请绿卡或入籍，由该国的移民部门决定，请向该国驻华使领馆或其移民部门咨询。"
              "如需在中国办理的证明材料（例如护照），我可以说明办理方式。",
        "en": "Permanent residence, a green card or citizenship of another country is decided by that "
              "country's immigration authorities: please ask its embassy or consulate in China, or "
              "its immigration department. I can explain how to get documents issued in China, "
              "such as a passport.",
    },
    "not_found": {
        "zh": "抱歉，我没有找到可靠的答案。请换个说法，补充一些细节（例如证件类型、所在城市），"
              "或选择转人工客服。",
        "en": "Sorry, I couldn't find a reliable answer. Could you rephrase it or add details "
              "(such as the document type or your city)? You can also talk to a person.",
    },
    "clarify": {"zh": "请问您想了解的是哪一项？", "en": "Which of these do you mean?"},
    "option_intro": {
        "zh": "您选择了“{option}”。请直接输入您的问题，我会先尝试解答；也可以直接转人工客服。",
        "en": "You chose “{option}”. Type your question and I'll try to answer it, or ask for a "
              "person at any time.",
    },
    "ask_option": {
        "zh": "为了把您转给合适的人工客服，请选择业务类型：",
        "en": "To pass you to the right agent, please choose the type of business:",
    },
    "ask_region": {
        "zh": "请问您在哪个省份或城市？这决定由哪里的工作人员为您服务。如果您不在中国内地，请选择“不在中国内地”。",
        "en": "Which province or city are you in? It decides which office's staff will help you. "
              "If you are not in mainland China, choose “Outside mainland China”.",
    },
    "region_unknown": {
        "zh": "抱歉，我没能识别这个地区。请从下面选择，或输入省份名称（如“广东”）。",
        "en": "Sorry, I didn't recognise that place. Please pick one below or type a province "
              "name (e.g. Guangdong).",
    },
    "thumbs_down": {
        "zh": "抱歉这个回答没有帮到您。您可以换个说法再问，或选择转人工客服。",
        "en": "Sorry that answer didn't help. You can rephrase the question or talk to a person.",
    },
    "closed": {
        "zh": "本次咨询已结束。请为本次服务评分（1-5 星）。如需继续咨询，可以开始新的对话。",
        "en": "This chat has ended. Please rate it (1-5 stars). You can start a new chat anytime.",
    },
    "failure": {
        "zh": "抱歉，系统暂时无法回答，请稍后再试，或选择转人工客服，也可拨打 12367。",
        "en": "Sorry, I can't answer right now. Please try again shortly, ask for a person, "
              "or call 12367.",
    },
    "rated": {"zh": "感谢您的评价！", "en": "Thank you for your rating!"},
    # The office-directory form (bot/office_form.py, bot/office_replies.py).
    "office_ask_city": {
        "zh": "请问您要查询哪个城市（或省份）的出入境办证机构？例如“上海”“广州”“广东”。"
              "全国各地办证机构的地址、办公时间和咨询电话也可以在国家移民管理局政务服务平台的"
              "“出入境办证机构信息查询”中查询，或拨打区号+12367。输入“取消”可退出查询。",
        "en": "Which city (or province) should I look up exit-entry offices for? For example "
              "Shanghai, Guangzhou or Guangdong. Every office's address, office hours and phone "
              "can also be looked up online in the NIA's exit-entry office information inquiry "
              "(NIA government service platform), or call area code + 12367. Type \"cancel\" "
              "to stop.",
    },
    "office_ask_city_after": {
        "zh": "告诉我城市（或省份），我可以列出我们核实过的当地出入境办证机构。输入“取消”可退出。",
        "en": "Tell me the city (or province) and I'll list the exit-entry offices we have "
              "verified there. Type \"cancel\" to stop.",
    },
    "office_cancelled": {
        "zh": "好的，已退出办证机构查询。还有其他问题吗？",
        "en": "OK, I've stopped the office look-up. Anything else I can help with?",
    },
    "office_none": {
        "zh": "我们核实过的资料中没有“{place}”的出入境办证机构。请在{platform}的“{directory}”"
              "服务中查询地址、办公时间和咨询电话，或拨打{phone}。",
        "en": "Our verified records have no exit-entry office for \"{place}\". Please look up "
              "the address, office hours and phone in the {directory} on the {platform}, or "
              "call {phone}.",
    },
    "office_several": {
        "zh": "{place}有以下 {count} 个出入境办证机构（以我们核实过的资料为准）：",
        "en": "{count} exit-entry offices found for {place} (from our verified records):",
    },
    "office_list_pointer": {
        "zh": "办公时间和咨询电话（我们未核实的）请在{platform}的“{directory}”中查询，或拨打{phone}。",
        "en": "Office hours and phones we have not verified: see the {directory} on the "
              "{platform}, or call {phone}.",
    },
    "office_pick": {"zh": "请选择一个机构查看详情。", "en": "Pick one to see its details."},
    "office_unverified": {
        "zh": "未核实，请在{platform}的“{directory}”中查询，或拨打{phone}",
        "en": "not verified: see the {directory} on the {platform}, or call {phone}",
    },
}

LABELS = {
    "human": {"zh": "转人工客服", "en": "Talk to a person"},
    "outside": {"zh": "不在中国内地", "en": "Outside mainland China"},
    "cancel": {"zh": "取消", "en": "Cancel"},
}


def text(key: str, lang: str, **values: str) -> str:
    return TEXTS[key][lang].format(**values)


def label(key: str, lang: str) -> str:
    return LABELS[key][lang]

"""How the look-up form and its results read in the chat, in Simplified Chinese and English
(Traditional by conversion, as every reply): the questions, the problems with an answer, the
record in plain words (what its status means and what to do next), a failed or locked check,
and the e-document's link. Personal numbers the visitor typed are echoed masked only."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.appointment_replies import RELATIONSHIPS
from bot.frames import Reply
from bot.lookup_form import LookupAsk, LookupNotice
from bot.lookups import Looked, Lookups
from bot.texts import ONLINE_SERVICES, label
from runtime.language import Script, to_script
from services.documents import mask
from services.records import Locked, NotMatched, Record

ASK_NUMBER = {
        "service_progress": {"zh": "请输入受理回执上的申请编号。",
                             "en": "What is your application number? It is on your receipt."},
        "service_visa_info": {"zh": "请输入签证或居留许可的证件号码。",
                              "en": "What is the number of your visa or residence permit?"},
        "service_pr_card_info": {"zh": "请输入永久居留身份证号码（18 位）。",
                                 "en": "What is your permanent resident ID card number (18 digits)?"},
        "service_passport_info": {"zh": "请输入您的永久居留身份证号码（18 位）。",
                                  "en": "What is your permanent resident ID card number (18 digits)?"},
}
ASK = {
    "passport": {"zh": "请输入您的护照号码。", "en": "What is your passport number?"},
    "birth": {"zh": "请输入您的出生日期（例如 1988-04-12）。",
              "en": "What is your date of birth? (for example 1988-04-12 or 12 April 1988)"},
}
PROBLEMS = {
    "bad_number": {"zh": "这个号码的格式不对，请核对后重新输入。",
                   "en": "That number is not in the expected format; please check it and type it again."},
    "bad_passport": {"zh": "护照号码应为 1–2 个字母加 7–8 位数字，请核对后重新输入。",
                     "en": "A passport number is 1-2 letters and 7-8 digits; please check it."},
    "bad_birth": {"zh": "这个日期不存在，请核对出生日期。",
                  "en": "That date does not exist; please check your date of birth."},
    "future_birth": {"zh": "出生日期不能晚于今天，请核对。",
                     "en": "A date of birth cannot be in the future; please check it."},
    "bad_helper": {"zh": "请只输入您的姓名。", "en": "Please type just your name."},
}
# For a family member or friend: the check is of their documents; the helper's name is recorded.
ASK_FOR = {
    "number": {"zh": "请输入您{who}的证件号码（{document}）。", "en": "What is your {who}'s {document} number?"},
    "passport": {"zh": "请输入您{who}的护照号码。", "en": "What is your {who}'s passport number?"},
    "birth": {"zh": "请输入您{who}的出生日期（例如 1988-04-12）。",
              "en": "What is your {who}'s date of birth? (for example 1988-04-12 or 12 April 1988)"},
    "helper": {"zh": "最后，请告诉我您本人的姓名（记录为帮办人）。",
               "en": "Last, what is your own name? It is recorded as the helper."},
}
DOCUMENT = {"service_progress": {"zh": "受理回执上的申请编号", "en": "application"},
            "service_visa_info": {"zh": "签证或居留许可", "en": "visa or residence permit"},
            "service_pr_card_info": {"zh": "永久居留身份证，18 位", "en": "permanent resident ID card"},
            "service_passport_info": {"zh": "永久居留身份证，18 位", "en": "permanent resident ID card"}}
INTRO_FOR = {"zh": "您是为{who}查询“{name}”：需要核验的是{who}的身份，请提供{who}的证件号码、护照号码和"
                   "出生日期，最后告诉我您本人的姓名（记录为帮办人）。这些信息只用于本次核验，除非您同意，"
                   "人工客服只能看到遮盖后的号码。随时输入“取消”可退出。",
             "en": "You are looking up \"{name}\" for your {who}: the check is of your {who}'s "
                   "identity, so I need their document number, passport number and date of birth, "
                   "and then your own name, recorded as the helper. They are used for this check "
                   "only, and agents see them masked unless you agree. Type \"cancel\" at any time to stop."}
DONE_FOR = {"zh": "（{helper}为{who}代为查询）", "en": "(looked up for your {who} by {helper}, helper)"}
INTRO = {"zh": "查询“{name}”需要核验身份：证件号码、护照号码和出生日期。这些信息只用于本次核验，"
               "除非您同意，人工客服只能看到遮盖后的号码。随时输入“取消”可退出。",
         "en": "To look up \"{name}\" I need to check your identity: the document number, your "
               "passport number and your date of birth. They are used for this check only, and "
               "agents see them masked unless you agree. Type \"cancel\" at any time to stop."}
NOTED = {"zh": "已记下：{items}。", "en": "Noted: {items}."}
FIELD_NAMES = {"number": {"zh": "证件号码", "en": "document number"},
               "passport": {"zh": "护照号码", "en": "passport number"},
               "birth": {"zh": "出生日期", "en": "date of birth"},
               "helper": {"zh": "帮办人姓名", "en": "helper's name"}}
CANCELLED = {"zh": "已取消查询，您填写的信息已清除。还有什么可以帮您？",
             "en": "The look-up is cancelled and what you entered is cleared. What else can I do for you?"}
NOT_MATCHED = {"zh": "您提供的信息与可查询的记录不符。请核对证件号码、护照号码和出生日期后重试"
                     "（还可尝试 {left} 次）。",
               "en": "The details you gave do not match a record I can show. Please check the "
                     "document number, passport number and date of birth and try again "
                     "({left} attempts left)."}
LOCKED = {"zh": "尝试次数过多，为保护您的信息，查询已暂停至 {until}（UTC）。您也可以拨打 12367 咨询。",
          "en": "Too many attempts: to protect your data, look-ups are paused until {until} UTC. "
                "You can also call 12367."}
# Each status: its name and what it means for the visitor, with what to do next.
STATUS = {
    "submitted": {
        "zh": ("已受理", "申请已收到，正在排队等待审核，暂时无需您做什么。"),
        "en": ("Submitted", "your application was received and waits for review; nothing to do "
                            "for now.")},
    "under_review": {
        "zh": ("审核中", "正在审核，如需补充材料会通知您，请保持电话畅通。"),
        "en": ("Under review", "it is being examined; you will be told if anything is missing, "
                               "so keep your phone reachable.")},
    "material_needed": {
        "zh": ("需补充材料", "审核暂停，需要您补充材料：{missing}。请尽快交到{office}。"),
        "en": ("Additional material needed", "the review waits for you: bring {missing} to "
                                             "{office} as soon as you can.")},
    "approved": {
        "zh": ("已批准", "申请已获批准，证件正在制作，可以领取时会通知您。"),
        "en": ("Approved", "your application was approved and the document is being made; you "
                           "will be told when to collect it.")},
    "ready_for_collection": {
        "zh": ("可领取", "证件已制作完成，请携带护照和受理回执到{office}领取。"),
        "en": ("Ready for collection", "the document is ready: collect it at {office} with your "
                                       "passport and receipt.")},
    "rejected": {
        "zh": ("未获批准", "申请未获批准，书面决定会说明理由；如有疑问可咨询受理机构或拨打 12367。"),
        "en": ("Rejected", "the application was not approved; the written decision gives the "
                           "reasons. Ask the office or call 12367 if anything is unclear.")},
    "valid": {
        "zh": ("有效", "证件有效，请在到期前按规定办理延期或换发。"),
        "en": ("Valid", "the document is valid; apply for an extension or renewal before it "
                        "expires.")},
    "expired": {
        "zh": ("已过期", "证件已过期，请尽快联系出入境管理机构。"),
        "en": ("Expired", "the document has expired: contact an exit-entry office soon.")},
}


# What render_lookup says (a LookUp is run first and becomes a Looked).
RENDERED = (LookupAsk, LookupNotice, Looked)


def render_lookup(action: LookupAsk | LookupNotice | Looked, lookups: Lookups | None, lang: str,
                  script: Script, meta: dict) -> Reply:
    lang = "en" if lang == "en" else "zh"
    quick = [label("cancel", lang), label("human", lang)]
    extra: dict = {}
    if isinstance(action, LookupAsk):
        body, kind = _ask(action, lang), "lookup_form"
        extra = {"field": action.field}  # the question asked: the widget's date field for "birth"
    elif isinstance(action, LookupNotice):
        body, kind, quick = CANCELLED[lang], "lookup_cancelled", [label("human", lang)]
    else:
        assert lookups is not None
        body, kind, extra = _looked(action, lookups, lang)
        quick = [label("human", lang)]
    return Reply(sender="bot", text=to_script(body, script), lang=lang, script=script, sources=[],
                 quick_replies=[{"label": to_script(q, script), "value": to_script(q, script)}
                                for q in quick],
                 meta={**meta, "kind": kind, "service": action.service, **extra})


def _ask(action: LookupAsk, lang: str) -> str:
    lines = []
    who = RELATIONSHIPS[action.relationship][lang] if action.relationship else None
    if action.first:
        intro = INTRO_FOR[lang] if who else INTRO[lang]
        lines.append(intro.format(name=ONLINE_SERVICES[action.service][lang], who=who))
    if action.noted:
        sep = "、" if lang == "zh" else ", "
        lines.append(NOTED[lang].format(items=sep.join(FIELD_NAMES[f][lang] for f in action.noted)))
    if action.problem:
        lines.append(PROBLEMS[action.problem][lang])
    if who or action.field == "helper":
        document = DOCUMENT[action.service][lang]
        lines.append(ASK_FOR[action.field][lang].format(who=who or "", document=document))
        return "\n".join(lines)
    asked = ASK_NUMBER[action.service] if action.field == "number" else ASK[action.field]
    lines.append(asked[lang])
    return "\n".join(lines)


def _looked(looked: Looked, lookups: Lookups, lang: str) -> tuple[str, str, dict]:
    result = looked.result
    if isinstance(result, NotMatched):
        return NOT_MATCHED[lang].format(left=str(result.attempts_left)), "lookup_failed", {}
    if isinstance(result, Locked):
        until = datetime.fromtimestamp(result.until, UTC).strftime("%Y-%m-%d %H:%M")
        return LOCKED[lang].format(until=until), "lookup_locked", {}
    lines = [*_record(result, lang)]
    extra: dict = {}
    if looked.assisted is not None:
        who = RELATIONSHIPS.get(looked.assisted.relationship, RELATIONSHIPS["friend"])[lang]
        lines.append(DONE_FOR[lang].format(who=who, helper=looked.assisted.helper_name))
        extra["assisted"] = looked.assisted.model_dump()
    if looked.document is not None:
        url = lookups.download_url(looked.document)
        verify = lookups.verify_url(looked.document.code)
        minutes = str(round(lookups.settings.document_link_s / 60))
        lines.append(
            f"电子文书（PDF，中英文，带电子签名）：{url}\n链接 {minutes} 分钟内有效。核验码 "
            f"{looked.document.code}，可在 {verify} 核验真伪。" if lang == "zh" else
            f"Your e-document (PDF in Chinese and English, digitally signed): {url}\nThe link "
            f"works for {minutes} minutes. Verification code {looked.document.code}: anyone can "
            f"check it at {verify}.")
        extra |= {"download": url, "verify": verify, "code": looked.document.code}
    return "\n".join(lines), "lookup_result", extra


def _record(record: Record, lang: str) -> list[str]:
    d = record.details
    name, meaning = _status(record.status, lang)
    office = d.get(f"office_{lang}", "受理机构" if lang == "zh" else "the office that took it")
    meaning = meaning.format(missing=d.get(f"missing_{lang}", ""), office=office)
    zh = lang == "zh"
    head = {"application": ("申请编号", "Application"), "permit": ("证件号码", "Document"),
            "pr_card": ("永久居留身份证", "PR ID card"), "passport": ("永久居留身份证", "PR ID card")}
    title = head[record.kind][0 if zh else 1]
    kind_name = d.get(f"type_{lang}")
    lines = [f"{title} {mask(record.number, 3)}" + (f"（{kind_name}）" if zh and kind_name else
                                                     f" ({kind_name})" if kind_name else "")]
    lines.append(("当前状态：" if zh else "Status: ") + name)
    lines.append(("这意味着：" if zh else "What it means: ") + meaning)
    for key, zh_name, en_name in (("valid_from", "有效期自", "Valid from"),
                                  ("valid_until", "有效期至", "Valid until"),
                                  ("passport_valid_until", "护照有效期至", "Passport valid until")):
        if key in d:
            lines.append(f"{zh_name}：{d[key]}" if zh else f"{en_name}: {d[key]}")
    if f"entries_{lang}" in d:
        lines.append(("入境次数：" if zh else "Entries: ") + d[f"entries_{lang}"])
    if record.history:
        lines.append("办理记录：" if zh else "History:")
        lines += [f"{s.on.isoformat()} {_status(s.status, lang)[0]}" for s in record.history]
    return lines


def _status(code: str, lang: str) -> tuple[str, str]:
    """A status's name and meaning; a code we have no words for is shown as it is."""
    return STATUS[code][lang] if code in STATUS else (code, "")

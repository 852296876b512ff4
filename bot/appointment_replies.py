"""How the appointment form reads in the chat: each question with its buttons (services,
cities, offices, dates, free slots, confirm), the notes before it (a holiday refused, a slot
just taken), and the confirmation with its reference number. The frame's meta carries what a
widget needs to draw proper controls: meta.field, meta.dates, meta.bookable, meta.slots,
meta.offices, meta.booking."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.appointment_flow import AppointmentFlow, Note, Step
from bot.frames import Reply
from bot.texts import label
from runtime.language import Script, to_script
from services.appointments import (
    SERVICES,
    Booking,
    DayCheck,
    Schedule,
    mask_passport,
    service_name,
)
from services.offices import Lang

WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
CONFIRM = {"zh": "确认", "en": "Confirm"}

TEXTS: dict[str, dict[str, str]] = {
    "ask_service": {"zh": "请问您要预约办理哪项业务？",
                    "en": "Which application is the appointment for?"},
    "ask_city": {"zh": "请问您要在哪个城市办理？可以预约的城市：{cities}。",
                 "en": "In which city? I can book at the exit-entry offices of: {cities}."},
    "ask_office": {"zh": "{city}有{count}个可预约的办证地点，请选择一个：",
                   "en": "{city} has {count} offices I can book; which one?"},
    "ask_date": {"zh": "请问哪一天？只能预约工作日（法定节假日除外，调休上班日可约），最早明天，最晚{ahead}天内。"
                       "最近可约：{dates}。",
                 "en": "Which day? Working days only (public holidays excluded, adjusted working "
                       "days included), from tomorrow up to {ahead} days ahead. The next ones: "
                       "{dates}."},
    "ask_time": {"zh": "{office}{date}还有这些时段可约，请选择：",
                 "en": "Free times at {office} on {date}:"},
    "ask_name": {"zh": "请告诉我申请人的姓名（与护照一致）。",
                 "en": "What is the applicant's full name, as in the passport?"},
    "ask_passport": {"zh": "申请人的护照号码是？", "en": "And the applicant's passport number?"},
    "ask_helper": {"zh": "您是为{relationship}预约的，请告诉我您本人的姓名（记录为帮办人）。",
                   "en": "You are booking for your {relationship}: what is your own name? It is "
                         "recorded as the helper."},
    "ask_confirm": {"zh": "请核对：{summary}。回复“确认”即可预约，或告诉我要改什么。",
                    "en": "Please check: {summary}. Reply \"Confirm\" to book, or tell me what "
                          "to change."},
    "ask_passport_change": {"zh": "请告诉我预约{reference}申请人的护照号码，以核实身份。",
                            "en": "To find booking {reference}, what is the applicant's "
                                  "passport number?"},
    "holiday": {"zh": "{date}是法定节假日（{holiday}），办证大厅不办公。",
                "en": "{date} is a public holiday ({holiday}); offices are closed."},
    "weekend": {"zh": "{date}是周末，不是工作日。", "en": "{date} is a weekend day, not a working day."},
    "past": {"zh": "{date}已过或是今天，最早可以预约明天。",
             "en": "{date} is today or past; the earliest day is tomorrow."},
    "too_far": {"zh": "{date}超出了可预约的范围（{ahead}天内）。",
                "en": "{date} is more than {ahead} days ahead."},
    # The State Council's notice may be out while the calendar library has yet to carry it: the
    # reply says what we lack, not what the State Council has or has not done.
    "no_calendar": {"zh": "我们的预约日历还没有收录{year}年的法定节假日安排，暂时不能预约{date}，"
                          "请选择更早的日期。",
                    "en": "Our booking calendar does not have the official {year} public holidays "
                          "yet, so {date} cannot be booked here yet; please choose an earlier day."},
    "day_full": {"zh": "{date}已约满。", "en": "{date} is fully booked."},
    "slot_full": {"zh": "{value}这个时段刚刚约满了。", "en": "{value} has just been fully booked."},
    "no_such_time": {"zh": "没有{value}这个预约时段。", "en": "There is no appointment slot at {value}."},
    "no_office": {"zh": "“{value}”没有我可以预约的出入境办证地点。",
                  "en": "I can't book at an office in \"{value}\"."},
    "not_understood": {"zh": "抱歉，我没有理解。", "en": "Sorry, I didn't get that."},
    "bad_passport": {"zh": "这看起来不像护照号码（字母和数字）。",
                     "en": "That doesn't look like a passport number (letters and digits)."},
    "left": {"zh": "好的，已停止预约，没有预约任何时段。",
             "en": "OK, I've stopped; nothing was booked."},
    "not_found": {"zh": "没有找到与该护照号码对应的预约{value}。",
                  "en": "I found no booking {value} with that passport number."},
    "cancelled": {"zh": "预约{value}已经取消过了。", "en": "Booking {value} was already cancelled."},
    "booked": {"zh": "预约成功！预约号：{reference}。{summary}。请携带护照和申请材料按时前往。"
                     "如需取消或改期，请发送“取消预约 {reference}”或“改期 {reference}”。",
               "en": "Booked! Reference number: {reference}. {summary}. Please bring the passport "
                     "and the application materials. To cancel or change it, write \"cancel my "
                     "appointment {reference}\" or \"reschedule {reference}\"."},
    "rescheduled": {"zh": "已改期：{reference}，{summary}。", "en": "Rescheduled: {reference}, {summary}."},
    "booking_cancelled": {"zh": "预约{reference}已取消。", "en": "Booking {reference} is cancelled."},
}
RELATIONSHIPS = {"mother": {"zh": "母亲", "en": "mother"}, "father": {"zh": "父亲", "en": "father"},
                 "child": {"zh": "孩子", "en": "child"}, "spouse": {"zh": "配偶", "en": "spouse"},
                 "friend": {"zh": "朋友", "en": "friend"}}


def _lang(lang: str) -> Lang:
    return "zh" if lang == "zh" else "en"


def _t(key: str, lang: str, **values: object) -> str:
    return TEXTS[key]["zh" if lang == "zh" else "en"].format(**values)


def day_label(day: dt.date, lang: str) -> str:
    weekday = WEEKDAYS["zh" if lang == "zh" else "en"][day.weekday()]
    if lang == "zh":
        return f"{day.month}月{day.day}日（周{weekday}）"
    return f"{weekday} {day.isoformat()}"


def render_step(step: Step, flow: AppointmentFlow, lang: str, script: Script,
                meta: dict[str, Any]) -> Reply:
    lines = [_note(note, _lang(lang)) for note in step.notes]
    quick: list[tuple[str, str]] = []
    extra: dict[str, Any] = {}
    if step.asks is not None:
        text, quick, extra = _question(step, flow, _lang(lang))
        lines.append(text)
        quick.append((label("cancel", lang), label("cancel", lang)))
    elif step.booking is not None:
        lines.append(_done(step, _lang(lang)))
        extra = {"reference": step.booking.reference,
                 "booking": step.booking.model_dump(mode="json")}
    quick.append((label("human", lang), label("human", lang)))
    return Reply(sender="bot", text=to_script("".join(lines) if lang == "zh" else " ".join(lines),
                                              script),
                 lang=lang, script=script, sources=[],
                 quick_replies=[{"label": to_script(a, script), "value": to_script(b, script)}
                                for a, b in quick],
                 meta={**meta, "kind": step.kind, **extra})


def _question(step: Step, flow: AppointmentFlow, lang: Lang
              ) -> tuple[str, list[tuple[str, str]], dict[str, Any]]:
    form = step.form
    assert form is not None and step.asks is not None
    extra: dict[str, Any] = {"field": step.asks}
    quick: list[tuple[str, str]] = []
    if step.asks == "service":
        quick = [(name(lang), name(lang)) for name in SERVICES.values()]
        return _t("ask_service", lang), quick, extra
    if step.asks == "city":
        cities = [o.city(lang) for o in flow.cities()]
        sep = "、" if lang == "zh" else ", "
        return _t("ask_city", lang, cities=sep.join(cities)), [(c, c) for c in cities], extra
    if step.asks == "office":
        extra["offices"] = [o.id for o in step.offices]
        quick = [(o.name(lang), o.name(lang)) for o in step.offices]
        return _t("ask_office", lang, city=step.offices[0].city(lang),
                  count=len(step.offices)), quick, extra
    if step.asks == "date":
        extra["dates"] = [d.isoformat() for d in step.dates]
        if form.office_id:
            extra["bookable"] = [d.isoformat() for d in flow.bookable_days(form.office_id)]
        labels = [day_label(d, lang) for d in step.dates]
        sep = "、" if lang == "zh" else ", "
        quick = [(lab, d.isoformat()) for lab, d in zip(labels, step.dates, strict=True)]
        return _t("ask_date", lang, ahead=Schedule().days_ahead, dates=sep.join(labels)), quick, \
            extra
    if step.asks == "time":
        extra["slots"] = [s.model_dump() for s in step.slots]
        extra["date"] = form.date.isoformat() if form.date else None
        quick = [(s.time, s.time) for s in step.slots]
        office = flow.office_name(form.office_id, lang)
        return _t("ask_time", lang, office=office, date=day_label(form.date, lang)
                  if form.date else ""), quick, extra
    if step.asks == "passport" and form.mode != "book":
        return _t("ask_passport_change", lang, reference=form.reference), quick, extra
    if step.asks == "helper":
        relation = RELATIONSHIPS[form.relationship or "friend"][lang]
        return _t("ask_helper", lang, relationship=relation), quick, extra
    if step.asks == "confirm":
        quick = [(CONFIRM[lang], CONFIRM[lang])]
        return _t("ask_confirm", lang, summary=_summary_of_form(step, flow, lang)), quick, extra
    return _t(f"ask_{step.asks}", lang), quick, extra


def _summary_of_form(step: Step, flow: AppointmentFlow, lang: Lang) -> str:
    form = step.form
    assert form is not None and form.date and form.time and form.service
    masked = mask_passport(form.passport or "")
    return _summary(lang, service_name(form.service, lang), flow.office_name(form.office_id, lang),
                    form.date, form.time, form.name or "", masked, form.helper)


def _summary(lang: Lang, service: str, office: str, day: dt.date, time: str, name: str,
             masked: str, helper: str | None) -> str:
    if lang == "zh":
        text = f"{service}，{office}，{day_label(day, lang)} {time}，申请人{name}（护照{masked}）"
        return text + (f"，帮办人{helper}" if helper else "")
    text = (f"{service} at {office}, {day_label(day, lang)} at {time}, applicant {name} "
            f"(passport {masked})")
    return text + (f", helper {helper}" if helper else "")


def _done(step: Step, lang: Lang) -> str:
    booking: Booking = step.booking  # type: ignore[assignment]
    summary = _summary(lang, service_name(booking.service, lang), booking.office_name(lang),
                       booking.date, booking.time, booking.applicant_name,
                       booking.passport_masked, booking.helper_name)
    key = {"appointment_booked": "booked", "appointment_rescheduled": "rescheduled",
           "appointment_cancelled": "booking_cancelled"}[step.kind]
    return _t(key, lang, reference=booking.reference, summary=summary)


def _note(note: Note, lang: Lang) -> str:
    if note.key in ("day_refused", "day_full") and note.day is not None:
        return _day_note(note.key, note.day, lang)
    return _t(note.key, lang, value=note.value or "")


def _day_note(key: str, day: DayCheck, lang: Lang) -> str:
    values = {"date": day_label(day.date, lang), "year": day.date.year,
              "ahead": Schedule().days_ahead,
              "holiday": day.holiday(lang) if day.holiday else ""}
    return _t("day_full" if key == "day_full" else day.status, lang, **values)

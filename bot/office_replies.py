"""How the office directory's answer reads in the chat: one office in full, several to pick
from, or none (the NIA online directory and area code + 12367 instead). Only the fields the
directory gives are shown; every absent one points to where the visitor can look it up."""

from __future__ import annotations

from bot.frames import Reply
from bot.office_form import ShowOffices
from bot.texts import label, text
from runtime.language import Script, to_script
from services.directory import OfficeAnswer, OfficeView
from services.offices import Source

FIELDS = {"zh": {"address": "地址", "hours": "办公时间", "phone": "电话", "scope": "受理范围"},
          "en": {"address": "Address", "hours": "Office hours", "phone": "Phone",
                 "scope": "Handles"}}


def render_offices(action: ShowOffices, lang: str, script: Script, meta: dict) -> Reply:
    answer = action.answer
    pointer = {"directory": answer.directory.name, "platform": answer.directory.platform,
               "phone": answer.directory.phone_fallback}
    quick: list[dict] = []
    chosen = next((o for o in answer.offices if o.id == action.office_id), None)
    if chosen is None and len(answer.offices) == 1:
        chosen = answer.offices[0]
    if chosen is not None:
        body = _office(chosen, lang, pointer)
        sources = _sources(chosen.sources or answer.directory.sources)
        kind = "office"
    elif answer.offices:
        place = answer.offices[0].city if _one_city(answer) else answer.place
        lines = [text("office_several", lang, place=place, count=str(len(answer.offices)))]
        for n, office in enumerate(answer.offices, 1):
            where = office.address or text("office_unverified", lang, **pointer)
            lines.append(f"{n}. {office.name}（{where}）" if lang == "zh"
                         else f"{n}. {office.name} ({where})")
        if not all(o.hours and o.phone for o in answer.offices):
            # The list shows addresses only; where a phone or hours are missing, say where they are.
            lines.append(text("office_list_pointer", lang, **pointer))
        lines.append(text("office_pick", lang))
        body = "\n".join(lines)
        sources = _sources(tuple(s for o in answer.offices for s in o.sources))
        quick = [{"label": o.name, "value": o.name} for o in answer.offices]
        kind = "office_list"
    else:
        body = text("office_none", lang, place=answer.place, **pointer)
        sources = _sources(answer.directory.sources)
        kind = "office_none"
    if kind == "office_list":
        quick.append({"label": label("cancel", lang), "value": label("cancel", lang)})
    quick.append({"label": label("human", lang), "value": label("human", lang)})
    quick = [{k: to_script(v, script) for k, v in q.items()} for q in quick]
    return Reply(sender="bot", text=to_script(body, script), lang=lang, script=script,
                 sources=sources, quick_replies=quick,
                 meta={**meta, "kind": kind, "offices": [o.id for o in answer.offices]})


def _office(office: OfficeView, lang: str, pointer: dict[str, str]) -> str:
    names = FIELDS["zh" if lang == "zh" else "en"]
    colon = "：" if lang == "zh" else ": "
    unverified = text("office_unverified", lang, **pointer)
    lines = [office.name,
             names["address"] + colon + (office.address or unverified),
             names["hours"] + colon + (office.hours or unverified),
             names["phone"] + colon + (" / ".join(office.phone) or unverified)]
    if office.scope:
        lines.append(names["scope"] + colon + office.scope)
    return "\n".join(lines)


def _sources(sources: tuple[Source, ...]) -> list[dict]:
    seen: dict[str, dict] = {}
    for s in sources:
        seen.setdefault(s.url, {"title": s.title, "url": s.url, "type": s.type or "local-guide",
                                "ref": s.ref or s.date})
    return list(seen.values())


def _one_city(answer: OfficeAnswer) -> bool:
    return len({o.city for o in answer.offices}) == 1

"""The service guides in the chat: the "Service guides" menu choice asks which procedure (a button
each), and a picked procedure, or the "Download checklist" button under a corpus answer that has a
guide, gets the checklist in the chat with its download link.

Every button sends text a visitor could type: "下载材料清单：<the guide's title>" /
"Download checklist: <title>", in any script. Run by the pipeline in its worker process, which
holds its own database connection for the download links (services/guide_links.py)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from bot.frames import Reply
from runtime.language import Script, to_script, to_simplified
from services.guide_links import GuideLink, GuideLinks
from services.guides import Guide, GuideBook, Lang
from services.settings import ServiceSettings
from storage.backends import open_database

SERVICE = "service_guidance"  # the menu choice (bot/texts.py ONLINE_SERVICES)
DOWNLOAD = {"zh": "下载材料清单", "en": "Download checklist"}
_REQUEST = re.compile(r"^\s*(下载材料清单|download checklist)\s*[:：]\s*(?P<guide>.+?)\s*$", re.IGNORECASE)
# The guides asked for in the visitor's own words ("有冇辦事指南可以下載", "show me the service
# guides", "a checklist of documents I can download"): the list to pick from, as the menu gives.
_GUIDES = re.compile(r"办事指南|服务指南|办理须知|办事须知|材料清单|service guides?|checklists?",
                     re.IGNORECASE)
_WORDS = {
    "zh": {"pick": "请选择要办理的事项，我把所需材料、办理流程和费用整理成清单（可下载 PDF）：",
           "materials": "需要准备的材料", "fees": "费用", "procedure": "办理",
           "link": "下载清单（PDF）：{url}\n链接 {minutes} 分钟内有效。",
           "as_of": "信息截至 {date}。", "local": "以当地出入境管理机构公布为准。"},
    "en": {"pick": "Which procedure? I will put together its documents, steps and fees as a "
                   "checklist (with a PDF to download):",
           "materials": "Documents to bring", "fees": "Fees", "procedure": "How it goes",
           "link": "Download the checklist (PDF): {url}\nThe link works for {minutes} minutes.",
           "as_of": "Information as of {date}.",
           "local": "The local exit-entry office's published requirements apply."},
}


@dataclass(frozen=True)
class GuideTurn:
    """What a message asks of the guides: the list to pick from, or one guide's checklist."""

    guide_id: str | None  # None: the menu choice, which asks which procedure


def guide_request(text: str, book: GuideBook) -> str | None:
    """The guide a "Download checklist: <title>" message asks for, if it is one."""
    match = _REQUEST.match(to_simplified(text))  # the button in Traditional too
    return None if match is None else book.find(match["guide"])


def download_button(book: GuideBook, guide_id: str, lang: Lang, script: Script) -> dict[str, str]:
    text = f"{DOWNLOAD[lang]}：{book.title(guide_id, lang)}" if lang == "zh" else (
        f"{DOWNLOAD[lang]}: {book.title(guide_id, lang)}")
    shown = to_script(text, script)
    return {"label": to_script(DOWNLOAD[lang], script), "value": shown}


class GuideChat:
    def __init__(self, links: GuideLinks, settings: ServiceSettings, base_url: str) -> None:
        self.links, self.book = links, links.pdfs.book
        self.link_s, self.base_url = settings.document_link_s, base_url.rstrip("/")

    @classmethod
    def open(cls, settings: ServiceSettings, base_url: str) -> GuideChat:
        return cls(GuideLinks(open_database(settings.database)), settings, base_url)

    def turn(self, text: str, menu: bool) -> GuideTurn | None:
        guide_id = guide_request(text, self.book)
        if guide_id is not None:
            return GuideTurn(guide_id)
        return GuideTurn(None) if menu or _GUIDES.search(to_simplified(text)) else None

    def reply(self, turn: GuideTurn, lang: Lang, script: Script, session: str) -> Reply:
        if turn.guide_id is None:
            return self._pick(lang, script)
        guide = self.book.get(turn.guide_id, lang, script)
        assert guide is not None  # guide_request only names guides of the catalogue
        link = self.links.issue(guide.id, lang, guide.script, session, time.time(), self.link_s)
        return self._checklist(guide, link, script)

    def _pick(self, lang: Lang, script: Script) -> Reply:
        guides = self.book.list(lang, script).guides
        quick = [download_button(self.book, g.id, lang, script) | {"label": g.title} for g in guides]
        return Reply(sender="bot", text=to_script(_WORDS[lang]["pick"], script), lang=lang,
                     script=script, sources=[], quick_replies=quick,
                     meta={"kind": "guide_pick", "guides": [g.id for g in guides]})

    def _checklist(self, guide: Guide, link: GuideLink, script: Script) -> Reply:
        words = {k: to_script(v, script) for k, v in _WORDS[guide.lang].items()}
        url = f"{self.base_url}/guides/{link.token}"
        colon = "：" if guide.lang == "zh" else ": "
        lines = [guide.title, "", words["materials"]]
        lines += [f"☐ {item}" for s in guide.sections if s.kind == "materials" for item in s.items]
        for kind in ("procedure", "fees"):
            shown = [s for s in guide.sections if s.kind == kind and s.items]
            if shown:
                lines += ["", words[kind]]
                lines += [f"• {s.label}{colon}{'；'.join(s.items) if guide.lang == 'zh' else '; '.join(s.items)}"
                          if s.label else f"• {'; '.join(s.items)}" for s in shown]
        lines += ["", words["link"].format(url=url, minutes=round(self.link_s / 60))]
        if guide.as_of is not None:
            lines.append(words["as_of"].format(date=guide.as_of.isoformat()))
        lines.append(words["local"])
        sources = [{"title": s.title, "url": s.url, "type": s.type,
                    "ref": s.article or s.date or ""} for s in guide.sources]
        return Reply(sender="bot", text="\n".join(lines), lang=guide.lang, script=script,
                     sources=sources, quick_replies=[],
                     meta={"kind": "guide", "guide": guide.id, "download": url,
                           "expires_at": link.expires_at,
                           "as_of": guide.as_of.isoformat() if guide.as_of else None})


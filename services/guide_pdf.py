"""A service guide as a printable checklist (fpdf2 with Debian's Noto Sans CJK, as the
e-document): an empty tick box before each document to bring, the other lines of the guide as
the corpus states them, its official sources and the "as of" date, in the guide's script."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.language import Script, to_script
from services.edocument_pdf import FONT
from services.guides import Guide, GuideBook, Lang, Section

if TYPE_CHECKING:
    from fpdf import FPDF

# The collection's faces: 0 JP, 1 KR, 2 SC, 3 TC, 4 HK; English is set in the SC face's Latin.
_FACE = {"zh-Hant": 3}
_HEADINGS = {
    "zh": {"materials": "需要准备的材料", "fees": "费用", "procedure": "办理", "other": "须知",
           "sources": "依据与来源", "as_of": "信息截至", "verified": "资料核对日期",
           "made": "本清单根据 12367 ONLINE 知识库整理，以当地出入境管理机构公布为准。"},
    "en": {"materials": "Documents to bring", "fees": "Fees", "procedure": "How it goes",
           "other": "Good to know", "sources": "Rules and sources", "as_of": "Information as of",
           "verified": "Checked against the sources on",
           "made": "Compiled from the 12367 ONLINE knowledge base; the local exit-entry office's "
                   "published requirements apply."},
}
_ORDER = ("materials", "procedure", "fees", "other")
_BOX = 4.0  # mm, the tick box's side


class GuidePdfs:
    """Each guide's checklist drawn once (about a second: the CJK font's subset) and kept: a
    guide changes only with the corpus, which changes only with a new release."""

    def __init__(self, book: GuideBook | None = None) -> None:
        self.book = book or GuideBook()
        self._drawn: dict[tuple[str, str, str], bytes] = {}

    def get(self, guide_id: str, lang: Lang, script: Script | None = None) -> bytes | None:
        guide = self.book.get(guide_id, lang, script)
        if guide is None:
            return None
        key = (guide.id, guide.lang, guide.script)
        if key not in self._drawn:
            self._drawn[key] = render_guide(guide)
        return self._drawn[key]


def headings(guide: Guide) -> dict[str, str]:
    words = _HEADINGS[guide.lang]
    return {k: to_script(v, guide.script) for k, v in words.items()} if guide.lang == "zh" else words


def render_guide(guide: Guide) -> bytes:
    from fpdf import FPDF  # imported when a process first draws a PDF (services/edocument_pdf.py)

    words = headings(guide)
    pdf = FPDF(format="A4")
    pdf.set_title(guide.title)
    pdf.set_creator("12367 ONLINE")
    pdf.add_page()
    pdf.set_auto_page_break(True)
    pdf.add_font("noto", fname=str(FONT), collection_font_number=_FACE.get(guide.script, 2))
    pdf.set_font("noto", size=15)
    _line(pdf, 8, guide.title)
    pdf.set_font("noto", size=9)
    if guide.as_of is not None:
        _line(pdf, 5, f"{words['as_of']}: {guide.as_of.isoformat()}")
    if guide.verified is not None:
        _line(pdf, 5, f"{words['verified']}: {guide.verified.isoformat()}")
    for kind in _ORDER:
        sections = [s for s in guide.sections if s.kind == kind and s.items]
        if sections:
            _part(pdf, words[kind], sections, kind == "materials", "：" if guide.lang == "zh" else ": ")
    _sources(pdf, guide, words["sources"])
    pdf.ln(3)
    pdf.set_font("noto", size=8)
    _line(pdf, 4.5, words["made"])
    return bytes(pdf.output())


def _part(pdf: FPDF, heading: str, sections: list[Section], boxes: bool, colon: str) -> None:
    pdf.ln(3)
    pdf.set_font("noto", size=12)
    _line(pdf, 7, heading)
    pdf.set_font("noto", size=10)
    for section in sections:
        if boxes:
            for item in section.items:
                _ticked(pdf, item)
        elif section.label and len(section.items) == 1:
            _line(pdf, 5.5, f"{section.label}{colon}{section.items[0]}")
        else:
            if section.label:
                _line(pdf, 5.5, section.label)
            for item in section.items:
                _line(pdf, 5.5, f"• {item}")


def _ticked(pdf: FPDF, item: str) -> None:
    """An empty box to tick by hand, the item beside it."""
    top = pdf.get_y() + 1
    pdf.rect(pdf.l_margin, top, _BOX, _BOX)
    pdf.set_x(pdf.l_margin + _BOX + 2)
    pdf.multi_cell(0, 6, item, new_x="LMARGIN", new_y="NEXT")


def _sources(pdf: FPDF, guide: Guide, heading: str) -> None:
    pdf.ln(3)
    pdf.set_font("noto", size=12)
    _line(pdf, 7, heading)
    pdf.set_font("noto", size=8)
    for source in guide.sources:
        ref = ", ".join(r for r in (source.article, source.date) if r)
        _line(pdf, 4.5, f"{source.title} ({ref})" if ref else source.title)
        if source.url:
            _line(pdf, 4.5, source.url)


def _line(pdf: FPDF, height: float, text: str) -> None:
    pdf.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")

"""The passport-information e-document as a PDF in Chinese and English (fpdf2, the CJK font
from Debian's fonts-noto-cjk), with its verification code and a QR code to /verify/<code>."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import qrcode

from services.records import Record

if TYPE_CHECKING:
    from fpdf import FPDF

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FONT_SC = 2  # the collection's Simplified Chinese face (JP, KR, SC, TC, HK)


@dataclass(frozen=True)
class DocumentFace:
    """What the document says: the record, when it was issued, where it is verified."""

    record: Record
    code: str
    issued: str  # ISO date and time, UTC
    verify_url: str


def render_pdf(face: DocumentFace) -> bytes:
    # fpdf2 (with fontTools) is about 28 MiB: imported by a process when it first draws a PDF, so
    # model workers that never issue an e-document do not carry it.
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title("Passport information e-document")
    pdf.set_subject(f"verification code {face.code}")
    pdf.set_creator("12367 ONLINE")
    pdf.add_page()
    pdf.set_auto_page_break(True)
    pdf.add_font("noto", fname=str(FONT), collection_font_number=FONT_SC)
    pdf.set_font("noto", size=16)
    _block(pdf, 9, "永久居留人员护照信息电子文书\nPassport information of a permanent resident",
           centred=True)
    pdf.ln(4)
    pdf.set_font("noto", size=11)
    for zh, en, value in _lines(face):
        _block(pdf, 7, f"{zh} / {en}: {value}")
    pdf.ln(3)
    _block(pdf, 6, "核验本文书：扫描二维码或访问下列地址。\n"
                         f"Verify this document: scan the QR code or open {face.verify_url}")
    pdf.image(qrcode.make(face.verify_url).get_image(), x=pdf.l_margin, w=40, h=40)
    pdf.set_font("noto", size=9)
    _block(pdf, 5, "本文书附有电子签名（Ed25519），任何改动都会使核验失败。\n"
                         "This document carries a digital signature (Ed25519); any change makes "
                         "the verification fail.")
    return bytes(pdf.output())


def _block(pdf: FPDF, height: float, text: str, *, centred: bool = False) -> None:
    """A paragraph of its own: the next one starts under it at the left margin."""
    from fpdf.enums import Align, XPos, YPos

    pdf.multi_cell(0, height, text, align=Align.C if centred else Align.L, new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)


def _lines(face: DocumentFace) -> list[tuple[str, str, str]]:
    d = face.record.details
    return [
        ("持有人", "Holder", face.record.holder),
        ("国籍", "Nationality", f"{d.get('nationality_zh', '')} / {d.get('nationality_en', '')}"),
        ("护照号码", "Passport number", d.get("passport_number", "")),
        ("护照有效期至", "Passport valid until", d.get("passport_valid_until", "")),
        ("永久居留身份证号码", "PR ID card number", face.record.number),
        ("签发时间", "Issued (UTC)", face.issued),
        ("核验码", "Verification code", face.code),
    ]

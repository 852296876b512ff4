"""The e-document verify page (/verify/<code>): whether the code names a genuine document of
ours, one since revoked, or none, with the registered details (personal numbers masked), in
Chinese and English. Plain HTML, no script."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from services.documents import Verdict

HEADLINES = {
    "genuine": ("真实有效", "Genuine: this document was issued by 12367 ONLINE and is valid."),
    "revoked": ("已撤销", "Revoked: this document was issued by 12367 ONLINE but is no longer valid."),
    "tampered": ("已被篡改", "Tampered: this file differs from the document that was signed."),
    "unknown": ("未找到", "Not found: no document has this verification code."),
}
FIELDS = (("holder", "持有人", "Holder"), ("pr_card", "永久居留身份证号码", "PR ID card number"),
          ("passport", "护照号码", "Passport number"),
          ("passport_valid_until", "护照有效期至", "Passport valid until"))


def verify_page(verdict: Verdict) -> str:
    zh, en = HEADLINES[verdict.status]
    rows = [(zh_name, en_name, verdict.summary[key]) for key, zh_name, en_name in FIELDS
            if verdict.summary.get(key)]
    if verdict.issued_at is not None:
        rows.append(("签发时间", "Issued (UTC)", _when(verdict.issued_at)))
    if verdict.revoked_at is not None:
        rows.append(("撤销时间", "Revoked (UTC)", _when(verdict.revoked_at)))
    table = "".join(f"<tr><th>{escape(a)} / {escape(b)}</th><td>{escape(v)}</td></tr>"
                    for a, b, v in rows)
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>电子文书核验 / E-document verification</title></head><body>"
        f'<h1>电子文书核验 / E-document verification</h1><p>核验码 / Code: '
        f"<code>{escape(verdict.code)}</code></p>"
        f'<p id="status" data-status="{verdict.status}"><strong>{escape(zh)}</strong> — '
        f"{escape(en)}</p><table>{table}</table></body></html>")


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")

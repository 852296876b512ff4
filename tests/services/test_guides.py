"""The service guides: only what the knowledge corpus states (each checklist item and fee is the
corpus's own words, each source its citation), the checklist PDF in three scripts, its download
links on both backends (expiry, purge with the conversation), and /api/guides on a real server."""

from __future__ import annotations

import re
import subprocess

import httpx
import pytest
import yaml

from services.guide_links import GuideLinks
from services.guide_pdf import render_guide
from services.guides import ENTRIES_DIR, CatalogueError, GuideBook, default_catalogue, load_catalogue
from storage.backends import open_database
from storage.retention import Cutoffs, Retention

NOW = 1_800_000_000.0
BOOK = GuideBook()


def corpus_text(entry_ids: list[str], lang: str) -> str:
    files = [next(ENTRIES_DIR.glob(f"*/{e}.yaml")) for e in entry_ids]
    return "\n".join(yaml.safe_load(f.read_text())["answer"][lang]["details"] for f in files)


@pytest.mark.parametrize("guide_id", list(default_catalogue()))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_line_is_the_corpus_own(guide_id, lang):
    guide = BOOK.get(guide_id, lang)
    assert guide is not None
    corpus = corpus_text(guide.entries, lang)
    for section in guide.sections:
        for item in section.items:
            assert item in corpus, (guide_id, item)
    cited = {s["url"] for e in guide.entries
             for s in yaml.safe_load(next(ENTRIES_DIR.glob(f"*/{e}.yaml")).read_text())["sources"]}
    assert {s.url for s in guide.sources} == cited


def test_the_work_permit_checklist():
    guide = BOOK.get("residence-permit-work", "en")
    assert guide is not None
    materials = [i for s in guide.sections if s.kind == "materials" for i in s.items]
    assert "work permit" in materials and "letter from the employer" in materials
    assert any("RMB 400" in i for s in guide.sections if s.kind == "fees" for i in s.items)
    assert guide.as_of is None and str(guide.verified) == "2026-12-06"
    assert BOOK.get("transit-240h", "en").as_of.isoformat() == "2025-06-12"  # type: ignore[union-attr]
    assert BOOK.get("no-such-guide", "en") is None


def test_a_document_two_entries_list_is_ticked_once():
    guide = BOOK.get("transit-240h", "en")
    assert guide is not None
    materials = [i for s in guide.sections if s.kind == "materials" for i in s.items]
    assert materials.count("a valid international travel document (passport)") == 1


@pytest.mark.parametrize(("lang", "script", "words"), [
    ("zh", "zh-Hans", ("需要准备的材料", "工作许可", "依据与来源")),
    ("zh", "zh-Hant", ("需要準備的材料", "工作許可", "依據與來源")),
    ("en", "en", ("Documents to bring", "work permit", "Rules and sources")),
])
def test_the_pdf_in_each_script(lang, script, words, tmp_path):
    guide = BOOK.get("residence-permit-work", lang, script)
    assert guide is not None
    pdf = render_guide(guide)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
                          ).stdout.decode()
    for word in words:
        assert word in text
    assert "http://en.gxzf.gov.cn/2018-08/21/c_265083_7.htm" in text


def test_the_titles_are_found_in_any_script():
    assert BOOK.find("工作類居留證件（在華工作的外國人）") == "residence-permit-work"
    assert BOOK.find("work-type residence permit") == "residence-permit-work"
    assert BOOK.find("a tourist visa") is None


def test_links_expire_and_go_with_the_conversation(database_target):
    db = open_database(database_target)
    links = GuideLinks(db)
    db.execute("INSERT INTO sessions (id, token_hash, created_at, last_seen) VALUES (?, ?, ?, ?)",
               ("s-1", "h", NOW - 10, NOW - 10))
    link = links.issue("visa-extension", "en", "en", "s-1", NOW, 600)
    found = links.download(link.token, NOW + 1)
    assert found is not None and found[0] == "visa-extension" and found[1].startswith(b"%PDF")
    assert links.download(link.token, NOW + 601) is None  # expired
    assert links.download("x" * 43, NOW + 1) is None
    retention = Retention(db)
    retention.conversation_rules = tuple(r for r in retention.conversation_rules
                                         if r.kind == "guide links")
    counts = {"guide links": 0}
    retention.purge_conversations(["s-1"], Cutoffs(NOW + 100, NOW + 50, 0, 0), counts)
    assert counts == {"guide links": 1}
    assert links.download(link.token, NOW + 1) is None
    db.close()


def test_the_guides_api(shared_server):
    base = shared_server.url
    listed = httpx.get(f"{base}/api/guides", params={"lang": "zh", "script": "zh-Hant"}).json()
    assert {"id": "residence-permit-work", "title": "工作類居留證件（在華工作的外國人）"} in listed["guides"]
    guide = httpx.get(f"{base}/api/guides/residence-permit-work", params={"lang": "en"})
    assert guide.status_code == 200 and guide.json()["title"] == "Work-type residence permit"
    pdf = httpx.get(f"{base}/api/guides/visa-extension", params={"format": "pdf"}, timeout=30)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    missing = httpx.get(f"{base}/api/guides/no-such-guide")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    for params in ({"lang": "fr"}, {"lang": "en", "script": "zh-Hant"}, {"format": "docx"}):
        bad = httpx.get(f"{base}/api/guides/visa-extension", params=params)
        assert bad.status_code == 400 and bad.json()["error"] == "invalid"


def test_expired_links_and_old_inquiries_are_swept(database_target):
    """Whatever the conversation: an expired guide link, and an inquiry older than the retention."""
    from services.inquiries import Inquiries

    db = open_database(database_target)
    links = GuideLinks(db)
    old = links.issue("stay-permit", "zh", "zh-Hans", "s-2", NOW - 1000, 600)
    live = links.issue("stay-permit", "zh", "zh-Hans", "s-2", NOW, 600)
    Inquiries(db).record("s-2", "application", "A202603020017", "matched", None, NOW - 10_000)
    Inquiries(db).record("s-2", "application", "A202603020017", "not_matched", None, NOW)
    retention = Retention(db)
    rules = {r.kind: r for r in retention.sweeps}
    cutoffs = Cutoffs(now=NOW, cutoff=NOW - 5_000, audit_cutoff=0, login_window_s=0)
    assert retention.sweep(rules["expired guide links"], cutoffs, 100) == 1
    assert retention.sweep(rules["old look-up inquiries"], cutoffs, 100) == 1
    assert links.download(old.token, NOW - 999) is None and links.download(live.token, NOW + 1)
    assert [i.outcome for i in Inquiries(db).of_session("s-2")] == ["not_matched"]
    db.close()


def test_an_operator_adds_a_guide_by_editing_the_catalogue(tmp_path):
    catalogue = tmp_path / "guides.yaml"
    catalogue.write_text("visa-extension: [visa-extension, fees-visa-extension]\n"
                         "stay-permit: [stay-permit]\n", encoding="utf-8")
    book = GuideBook(load_catalogue(catalogue))
    assert book.ids() == ["visa-extension", "stay-permit"]
    assert [g.id for g in book.list("en").guides] == ["visa-extension", "stay-permit"]
    assert book.get("residence-permit-work", "en") is None  # not in this catalogue


@pytest.mark.parametrize(("text", "says"), [
    ("visa-extension: [visa-extension, fees-visa-extensoin]\n",
     "guide 'visa-extension' names entries that are not in"),
    ("Visa Extension: [visa-extension]\n", "guide id 'Visa Extension' must be lower-case words"),
    ("visa-extension: []\n", "guide 'visa-extension' must list one or more entry ids"),
    ("visa-extension: [visa-extension\n", "cannot be read as YAML"),
    ("- visa-extension\n", "expected a mapping of guide ids to lists of entry ids"),
])
def test_a_mistaken_catalogue_is_refused_with_what_is_wrong(tmp_path, text, says):
    catalogue = tmp_path / "guides.yaml"
    catalogue.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError, match=re.escape(says)):
        load_catalogue(catalogue)

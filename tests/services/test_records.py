"""The personal records on both backends (SQLite and PostgreSQL): the demo data loaded once, the
identity check, the same answer for a wrong passport and a number that does not exist, the
failure limits per conversation and per address, and the signed e-document: genuine, tampered,
revoked, rendered by poppler, and its PDF purged with the conversation."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest

from services.documents import Documents
from services.record_store import EmbeddedRecords
from services.records import Identity, Locked, NotMatched, Record, Requester
from services.settings import ServiceSettings
from services.signing import signing_key
from storage.backends import open_database
from storage.retention import Cutoffs, Retention

NOW = 1_800_000_000.0
PROGRESS = Identity(number="A202603020017", passport="XA1234567", birth=date(1988, 4, 12))
PASSPORT = Identity(number="900000198501010017", passport="XB2468013", birth=date(1985, 1, 1))
ME = Requester(session="s-1", ip="203.0.113.9")


@pytest.fixture
def records(database_target, tmp_path):
    db = open_database(database_target)
    store = EmbeddedRecords(db, ServiceSettings(data_dir=tmp_path, lookup_failures_per_session=3,
                                                lookup_failures_per_ip=5, lookup_lockout_s=600))
    store.load_demo()
    yield store
    db.close()


def test_demo_data_loads_once_and_a_holder_sees_the_record(records):
    assert records.load_demo() == 0  # a second start adds nothing
    found = records.look_up("application", PROGRESS, ME, NOW)
    assert isinstance(found, Record)
    assert found.status == "material_needed"
    assert [s.status for s in found.history] == ["submitted", "under_review", "material_needed"]


def test_a_wrong_passport_and_an_unknown_number_get_the_same_answer(records):
    wrong_passport = records.look_up("application", PROGRESS.model_copy(update={"passport": "XA7654321"}),
                                     ME, NOW)
    no_such_record = records.look_up(
        "application", PROGRESS.model_copy(update={"number": "A209912319999"}),
        Requester(session="s-2", ip="198.51.100.1"), NOW)
    assert wrong_passport == no_such_record == NotMatched(attempts_left=2)
    # A number of another kind is no record of this one.
    assert isinstance(records.look_up("permit", PROGRESS, Requester(session="s-3", ip="x"), NOW),
                      NotMatched)


def test_failures_lock_the_conversation_then_the_address(records):
    wrong = PROGRESS.model_copy(update={"birth": date(1988, 4, 13)})
    for n in range(2):
        assert isinstance(records.look_up("application", wrong, ME, NOW + n), NotMatched)
    assert records.look_up("application", wrong, ME, NOW + 2) == Locked(until=NOW + 2 + 600)
    # Locked: even the right details wait, until the lockout ends.
    assert isinstance(records.look_up("application", PROGRESS, ME, NOW + 3), Locked)
    assert isinstance(records.look_up("application", PROGRESS, ME, NOW + 603), Record)
    # Other conversations from the same address: two more failures reach the address's limit (5).
    for n, session in enumerate(("s-4", "s-5")):
        records.look_up("application", wrong, Requester(session=session, ip=ME.ip), NOW + 610 + n)
    fresh = Requester(session="s-6", ip=ME.ip)
    assert isinstance(records.look_up("application", PROGRESS, fresh, NOW + 620), Locked)
    other_address = Requester(session="s-6", ip="192.0.2.44")
    assert isinstance(records.look_up("application", PROGRESS, other_address, NOW + 620), Record)
    assert not records.db.value("SELECT count(*) FROM service_lookup_failures WHERE scope LIKE ?",
                                (f"%{ME.ip}%",))  # the address is stored hashed


def test_the_signed_e_document_verifies_and_a_changed_one_does_not(records, tmp_path):
    record = records.look_up("passport", PASSPORT, ME, NOW)
    assert isinstance(record, Record)
    documents = Documents(records.db, signing_key(tmp_path))
    issued = documents.issue(record, "s-1", "https://chat.example", NOW, 1800)
    pdf = documents.download(issued.token, NOW + 60)
    assert pdf is not None and pdf.startswith(b"%PDF")
    assert documents.verify_file(pdf).status == "genuine"
    changed = bytearray(pdf)
    changed[len(pdf) // 2] ^= 0x01
    assert documents.verify_file(bytes(changed)).status == "tampered"
    assert documents.verify_code(issued.code).summary["passport"] == "XB*****13"
    assert documents.download(issued.token, NOW + 1801) is None  # the link expired
    assert documents.revoke(issued.code, NOW + 5)
    assert documents.verify_code(issued.code).status == "revoked"
    assert documents.verify_file(pdf).status == "revoked"
    # The key was made in the data dir at first use, and stays the same afterwards.
    assert signing_key(tmp_path).public_key() == documents.key.public_key()


def test_the_pdf_renders_in_chinese_and_english(records, tmp_path):
    record = records.look_up("passport", PASSPORT, ME, NOW)
    assert isinstance(record, Record)
    documents = Documents(records.db, signing_key(tmp_path))
    pdf = documents.download(documents.issue(record, "s-1", "http://x", NOW, 60).token, NOW)
    assert pdf is not None
    (tmp_path / "doc.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-singlefile", str(tmp_path / "doc.pdf"),
                    str(tmp_path / "page")], check=True, capture_output=True)
    page = tmp_path / "page.png"
    assert page.stat().st_size > 5000  # text and a QR code, not a blank page
    text = subprocess.run(["pdftotext", str(tmp_path / "doc.pdf"), "-"], check=True,
                          capture_output=True).stdout.decode()
    assert "永久居留人员护照信息电子文书" in text and "Passport information" in text
    assert "Lena PLACEHOLDER" in text


def test_the_purge_removes_the_pdf_and_keeps_the_verification(records, tmp_path):
    record = records.look_up("passport", PASSPORT, ME, NOW)
    assert isinstance(record, Record)
    documents = Documents(records.db, signing_key(tmp_path))
    db = records.db
    db.execute("INSERT INTO sessions (id, token_hash, created_at, last_seen) VALUES (?, ?, ?, ?)",
               ("s-1", "h", NOW - 10, NOW - 10))
    issued = documents.issue(record, "s-1", "http://x", NOW, 10 ** 9)
    counts = {"e-documents": 0}
    retention = Retention(db)
    retention.conversation_rules = tuple(r for r in retention.conversation_rules
                                         if r.kind == "e-documents")
    retention.purge_conversations(["s-1"], Cutoffs(NOW + 100, NOW + 50, 0, 0), counts)
    assert counts == {"e-documents": 1}
    assert documents.download(issued.token, NOW + 1) is None
    assert documents.verify_code(issued.code).status == "genuine"


def test_the_demo_file_says_it_is_fictional():
    head = (Path(__file__).resolve().parents[2] / "services" / "demo_records.yaml").read_text()[:400]
    assert "FICTIONAL" in head

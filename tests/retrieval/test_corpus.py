"""Loader and `check`: every problem is reported with its file and line, nothing is skipped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from retrieval.corpus import load_corpus

FIXTURE_KNOWLEDGE = Path(__file__).parent / "fixtures" / "knowledge"

ROOT = Path(__file__).resolve().parents[2]
VISA = Path("entries/stay-residence/visa-extension.yaml")


def _edit(knowledge: Path, rel: Path, old: str, new: str) -> Path:
    path = knowledge / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(needle)


def test_fixture_corpus_loads_cleanly() -> None:
    corpus = load_corpus(FIXTURE_KNOWLEDGE)
    assert corpus.issues == []
    assert len(corpus.entries) == 6


def test_broken_yaml_names_file_and_line(knowledge_copy: Path) -> None:
    path = _edit(knowledge_copy, VISA, "    - 签证快到期了怎么延期", "    - 签证快到期了怎么延期\n   bad: [unclosed")
    corpus = load_corpus(knowledge_copy)
    [issue] = [i for i in corpus.errors if i.path == path]
    assert "YAML does not parse" in issue.message
    assert issue.line is not None and abs(issue.line - _line_of(path, "bad: [unclosed")) <= 1
    assert "visa-extension" not in corpus.entries
    # entries linking to the unloadable one say so too: nothing disappears silently
    assert any("related entry 'visa-extension' does not exist" in i.message for i in corpus.errors)
    assert f"{path}:{issue.line}" in str(issue)


def test_schema_violation_names_file_and_line(knowledge_copy: Path) -> None:
    path = _edit(knowledge_copy, VISA, "    date: 2012-06-30", "    date: 2012-13-45")
    corpus = load_corpus(knowledge_copy)
    [issue] = [i for i in corpus.errors if i.path == path]
    assert issue.line == _line_of(path, "date: 2012-13-45")
    assert "sources.0.date" in issue.message


def test_too_few_questions_and_missing_language(knowledge_copy: Path) -> None:
    path = _edit(knowledge_copy, VISA, "    - can i stay longer than my visa allows\n", "")
    _edit(knowledge_copy, VISA, "  en: Extending your visa while in China\n", "")
    messages = {(i.line, i.message.split(":")[0]) for i in load_corpus(knowledge_copy).errors if i.path == path}
    assert (_line_of(path, "    - how do I extend my visa in china"), "questions.en") in messages
    assert (_line_of(path, "  zh: 在华办理签证延期"), "title.en") in messages


def test_time_limited_needs_as_of(knowledge_copy: Path) -> None:
    rel = Path("entries/visa-free/transit-240h.yaml")
    path = _edit(knowledge_copy, rel, "as_of: 2026-02-16\n", "")
    [issue] = load_corpus(knowledge_copy).errors
    assert issue.path == path and "as_of is required" in issue.message
    assert issue.line == 1  # the entry as a whole


def test_id_file_name_duplicates_and_links(knowledge_copy: Path) -> None:
    _edit(knowledge_copy, VISA, "related: [accommodation-registration]", "related: [no-such-entry]")
    copy = knowledge_copy / "entries/stay-residence/visa-extension-copy.yaml"
    copy.write_text((knowledge_copy / VISA).read_text(encoding="utf-8"), encoding="utf-8")
    _edit(knowledge_copy, VISA, "tags: [visa, extension]", "tags: [visa, extension]\ntags: [again]")
    messages = [str(i) for i in load_corpus(knowledge_copy).errors]
    assert any("duplicate key 'tags'" in m for m in messages)
    assert any("visa-extension-copy.yaml" in m and "must equal the file name" in m for m in messages)
    assert any("related entry 'no-such-entry' does not exist" in m for m in messages)


def _check(knowledge: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retrieval", "--knowledge-dir", str(knowledge), "--data-dir", str(data_dir), "check"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )


def test_check_passes_on_fixture_corpus(data_dir: Path, retriever) -> None:  # noqa: ANN001
    # `retriever` builds the index first, so the check process loads it from the cache.
    result = _check(FIXTURE_KNOWLEDGE, data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-retrieval: 48/48 = 100.0%" in result.stdout
    assert "check OK" in result.stdout


def test_check_fails_with_file_and_line(knowledge_copy: Path, tmp_path: Path) -> None:
    path = _edit(knowledge_copy, VISA, "section: stay-residence", "section: stay-residence\nsection2: oops")
    result = _check(knowledge_copy, tmp_path / "data")
    assert result.returncode == 1
    assert f"{path}:{_line_of(path, 'section2: oops')}: error: section2: unknown field" in result.stdout


# -- sources policy (retrieval/sources.toml) and review dates ---------------------------------


def _errors_in(knowledge: Path, path: Path) -> list:
    return [i for i in load_corpus(knowledge).errors if i.path == path]


def test_mirror_link_fails_with_file_and_line(knowledge_copy: Path) -> None:
    mirror = "http://fanwen.c321.cn/gzchurujing/qianzheng/1091.html"
    path = _edit(knowledge_copy, VISA, "https://www.gov.cn/flfg/2012-06/30/content_2174944.htm", mirror)
    [issue] = _errors_in(knowledge_copy, path)
    assert issue.line == _line_of(path, mirror)
    assert "fanwen.c321.cn is not an official or press publisher" in issue.message
    assert f"{path}:{issue.line}: error: sources.0.url" in str(issue)


def test_entry_whose_only_sources_are_unofficial_fails(knowledge_copy: Path) -> None:
    rel = Path("entries/platform/hotline-12367-hours.yaml")
    path = _edit(knowledge_copy, rel, "https://subsites.chinadaily.com.cn/guangzhou/gdd/2021-04/12/c_614589.htm",
                 "https://www.popovichmovie.com/x.html")
    _edit(knowledge_copy, rel, "    date: 2021-04-08\n", "    url: http://justwdh.cn/jiaodian/arc_9885.html\n    date: 2021-04-08\n")
    issues = _errors_in(knowledge_copy, path)
    assert {i.line for i in issues} == {_line_of(path, "popovichmovie"), _line_of(path, "justwdh.cn")}


def test_press_site_must_be_typed_press(knowledge_copy: Path) -> None:
    rel = Path("entries/platform/hotline-12367-hours.yaml")
    path = _edit(knowledge_copy, rel, "    type: press", "    type: notice")
    [issue] = _errors_in(knowledge_copy, path)
    assert "is press: type this source `press`" in issue.message


def test_law_citation_names_the_article(knowledge_copy: Path) -> None:
    path = _edit(knowledge_copy, VISA, "    article: Art. 29\n", "")
    [issue] = _errors_in(knowledge_copy, path)
    assert issue.line == _line_of(path, "  - title: Exit and Entry Administration Law")
    assert "needs `article`" in issue.message
    path = _edit(knowledge_copy, VISA, "  - title: Exit and Entry Administration Law", "  - title: Entry rules\n    article: Art. 29")
    assert "must name the law" in _errors_in(knowledge_copy, path)[0].message


def test_unknown_source_type_is_an_error(knowledge_copy: Path) -> None:
    path = _edit(knowledge_copy, VISA, "    type: law", "    type: blog")
    [issue] = _errors_in(knowledge_copy, path)
    assert issue.line == _line_of(path, "type: blog") and "sources.0.type" in issue.message


def test_source_without_link_is_allowed(knowledge_copy: Path) -> None:
    path = _edit(knowledge_copy, VISA, "    url: https://www.gov.cn/flfg/2012-06/30/content_2174944.htm\n", "")
    assert _errors_in(knowledge_copy, path) == []


def test_allowed_publishers_are_configurable(knowledge_copy: Path, tmp_path: Path) -> None:
    from retrieval.policy import POLICY_FILE, load_policy

    path = _edit(knowledge_copy, VISA, "https://www.gov.cn/flfg", "https://laws.example.org/flfg")
    assert _errors_in(knowledge_copy, path)
    custom = tmp_path / "sources.toml"
    custom.write_text(POLICY_FILE.read_text(encoding="utf-8").replace('"gov.cn",', '"gov.cn", "example.org",'),
                      encoding="utf-8")
    assert [i for i in load_corpus(knowledge_copy, load_policy(custom)).errors if i.path == path] == []


def test_review_dates(knowledge_copy: Path) -> None:
    rel = Path("entries/visa-free/transit-240h.yaml")
    path = _edit(knowledge_copy, rel, "review_by: 2026-12-31", "review_by: 2027-06-06")
    [issue] = _errors_in(knowledge_copy, path)
    assert issue.line == _line_of(path, "review_by:") and "time-limited" in issue.message
    path = _edit(knowledge_copy, rel, "review_by: 2027-06-06", "review_by: 2026-12-01")
    assert "review_by must be after verified" in _errors_in(knowledge_copy, path)[0].message
    path = _edit(knowledge_copy, rel, "verified: 2026-12-06\n", "")
    assert "verified: required field is missing" in _errors_in(knowledge_copy, path)[0].message


def test_check_due_lists_entries_past_review() -> None:
    def due(today: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "retrieval", "check", "--due", "--today", today, "--knowledge-dir", str(FIXTURE_KNOWLEDGE)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )

    assert due("2026-12-06").returncode == 0
    late = due("2027-01-01")
    assert late.returncode == 1
    [line] = [ln for ln in late.stdout.splitlines() if "review_by" in ln]
    assert "transit-240h.yaml:" in line and "review_by 2026-12-31" in line and "time-limited" in line
    assert "1 of 6 entries past their review date" in late.stdout

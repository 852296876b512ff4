"""Load knowledge/entries/**.yaml into validated entries; every problem names its file and line.

YAML is composed into nodes first so that a pydantic error location (``questions.zh.3``) can be
mapped back to the line of the offending value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from retrieval.policy import Policy, load_policy, review_problem, source_problem
from retrieval.schema import Entry

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    path: Path
    line: int | None  # 1-based
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.severity}: {self.message}"


class CorpusError(Exception):
    """Raised when the corpus cannot be used; carries every issue found, not just the first."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        errors = [i for i in issues if i.severity == "error"]
        lines = "\n".join(f"  {i}" for i in errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{len(errors)} error(s) in the knowledge corpus:\n{lines}{more}")


@dataclass
class Corpus:
    root: Path
    entries: dict[str, Entry] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    # (entry id, dotted location) -> line, e.g. ("visa-extension", "questions.zh.2") -> 31
    lines: dict[tuple[str, str], int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    def line_of(self, entry_id: str, location: str) -> int | None:
        return self.lines.get((entry_id, location))


def entry_files(knowledge_dir: Path) -> list[Path]:
    entries_dir = knowledge_dir / "entries"
    base = entries_dir if entries_dir.is_dir() else knowledge_dir
    return sorted(p for p in base.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def content_hash(paths: Iterable[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def load_corpus(knowledge_dir: Path, policy: Policy | None = None) -> Corpus:
    """Parse and validate every entry file, its sources and review dates against ``policy``
    (default: retrieval/sources.toml). Never raises for bad content: see ``Corpus.issues``."""
    knowledge_dir = Path(knowledge_dir)
    corpus = Corpus(root=knowledge_dir)
    if not knowledge_dir.is_dir():
        corpus.issues.append(Issue(knowledge_dir, None, "knowledge directory does not exist"))
        return corpus
    for path in entry_files(knowledge_dir):
        _load_file(path, corpus)
    _check_links(corpus)
    _check_sources(corpus, policy or load_policy())
    return corpus


def _load_file(path: Path, corpus: Corpus) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        corpus.issues.append(Issue(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        corpus.issues.append(Issue(path, line, f"YAML does not parse: {problem}"))
        return
    except yaml.YAMLError as exc:
        corpus.issues.append(Issue(path, None, f"YAML does not parse: {exc}"))
        return
    if node is None:
        corpus.issues.append(Issue(path, 1, "file is empty"))
        return
    duplicates = list(_duplicate_keys(node))
    for key_node in duplicates:
        corpus.issues.append(
            Issue(path, key_node.start_mark.line + 1, f"duplicate key {key_node.value!r}")
        )
    try:
        data = _construct(node)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        mark = getattr(exc, "problem_mark", None) or node.start_mark
        corpus.issues.append(Issue(path, mark.line + 1, f"YAML value cannot be read: {exc}"))
        return
    if not isinstance(data, dict):
        corpus.issues.append(Issue(path, node.start_mark.line + 1, "top level must be a mapping"))
        return
    try:
        entry = Entry.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc) or "(entry)"
            corpus.issues.append(
                Issue(path, _line_for(node, loc), f"{where}: {_message(err)}")
            )
        return
    if duplicates:
        return
    _check_file_identity(path, entry, node, corpus)
    if entry.id in corpus.entries:
        first = corpus.files[entry.id]
        corpus.issues.append(
            Issue(path, _line_for(node, ("id",)), f"id {entry.id!r} is already used by {first}")
        )
        return
    corpus.entries[entry.id] = entry
    corpus.files[entry.id] = path
    for field_path, line in _value_lines(node):
        corpus.lines[(entry.id, field_path)] = line


class _Loader(yaml.CSafeLoader):
    """Dates stay text so that the schema parses them: an impossible date such as 2024-13-45
    then becomes a located schema error instead of a crash inside PyYAML. libyaml's parser: the
    same nodes and lines as PyYAML's pure-Python one, and the corpus loads in 0.12 s instead of
    0.66 s (each model worker loads it at start)."""


# The stub wants a constructor typed for a loader class; this one is SafeConstructor's own.
_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)  # type: ignore[type-var]


def _compose(text: str) -> yaml.Node | None:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    return node


def _construct(node: yaml.Node) -> Any:
    loader = _Loader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _message(err: ErrorDetails) -> str:
    msg = str(err["msg"])
    if err["type"] == "extra_forbidden":
        return "unknown field (see docs/knowledge.md for the schema)"
    if err["type"] == "missing":
        return "required field is missing"
    if "input" in err and err["type"] not in ("missing",):
        shown = repr(err["input"])
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return f"{msg} (got {shown})"
    return msg


def _duplicate_keys(node: yaml.Node) -> Iterable[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                yield key
            seen.add(key.value)
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def _child(node: yaml.Node, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def _line_for(root: yaml.Node, loc: tuple[Any, ...]) -> int:
    """Line of the deepest node on the error's path (the parent when a field is missing)."""
    node = root
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def _value_lines(root: yaml.Node, prefix: str = "") -> Iterable[tuple[str, int]]:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            loc = f"{prefix}.{key.value}" if prefix else str(key.value)
            yield loc, value.start_mark.line + 1
            yield from _value_lines(value, loc)
    elif isinstance(root, yaml.SequenceNode):
        for i, item in enumerate(root.value):
            loc = f"{prefix}.{i}"
            yield loc, item.start_mark.line + 1
            yield from _value_lines(item, loc)


def _check_file_identity(path: Path, entry: Entry, node: yaml.Node, corpus: Corpus) -> None:
    if path.stem != entry.id:
        corpus.issues.append(
            Issue(path, _line_for(node, ("id",)), f"id {entry.id!r} must equal the file name {path.stem!r}")
        )
    if path.parent.name != entry.section and path.parent.name != "entries":
        corpus.issues.append(
            Issue(
                path,
                _line_for(node, ("section",)),
                f"section {entry.section!r} does not match the folder {path.parent.name!r}",
            )
        )


def _check_links(corpus: Corpus) -> None:
    for entry_id, entry in corpus.entries.items():
        path = corpus.files[entry_id]
        for i, target in enumerate(entry.related):
            line = corpus.line_of(entry_id, f"related.{i}")
            if target == entry_id:
                corpus.issues.append(Issue(path, line, "related links to the entry itself"))
            elif target not in corpus.entries:
                corpus.issues.append(Issue(path, line, f"related entry {target!r} does not exist"))


def _check_sources(corpus: Corpus, policy: Policy) -> None:
    for entry_id, entry in corpus.entries.items():
        path = corpus.files[entry_id]
        for i, source in enumerate(entry.sources):
            problem = source_problem(source, policy)
            if problem:
                line = corpus.line_of(entry_id, f"sources.{i}.url")
                corpus.issues.append(Issue(path, line, f"sources.{i}.url: {problem}"))
        if all(s.type == "press" for s in entry.sources):
            corpus.issues.append(Issue(
                path, corpus.line_of(entry_id, "sources"),
                "sources: news reports only; cite the official instrument or notice too "
                "(by title if it has no address)",
                "warning",
            ))
        problem = review_problem(entry, policy)
        if problem:
            corpus.issues.append(Issue(path, corpus.line_of(entry_id, "review_by"), f"review_by: {problem}"))

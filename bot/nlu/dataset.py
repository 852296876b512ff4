"""Training data: Rasa 3.x NLU YAML (the project's nlu_data/) and JSONL, into one typed form.

Rasa YAML is parsed from PyYAML's node tree so that every error names the file and line.
Supported keys: ``nlu`` items with ``intent``/``examples`` (entity annotations ``[text](type)``,
``[text]{"entity": type, "value": v}``), ``synonym``, ``regex`` and ``lookup``. JSONL rows are
``{"text": ..., "intent": ...}``; intent ``oos`` means out of scope.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.nlu.types import OUT_OF_SCOPE, Entity, Example


class NLUDataError(ValueError):
    """Malformed training data; the message starts with ``file:line:``."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path, self.line = str(path), line


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)  # surface form (lower-case) -> value
    regexes: dict[str, list[str]] = field(default_factory=dict)  # entity type -> patterns
    lookups: dict[str, list[str]] = field(default_factory=dict)  # entity type -> surface forms

    def merge(self, other: TrainingData) -> None:
        self.examples += other.examples
        self.synonyms.update(other.synonyms)
        for target, source in ((self.regexes, other.regexes), (self.lookups, other.lookups)):
            for name, items in source.items():
                target.setdefault(name, []).extend(items)

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})


# [text](type) | [text](type:value) | [text]{"entity": "type", "value": "v"}
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


def parse_annotated(line: str, *, path: Path | str = "<text>",
                    lineno: int | None = None) -> tuple[str, tuple[Entity, ...]]:
    """Strip Rasa entity annotations from one example, returning plain text and its entities."""
    out, entities, pos = [], [], 0
    for m in _ANNOTATION.finditer(line):
        out.append(line[pos:m.start()])
        start = sum(len(part) for part in out)
        surface = m.group("text")
        if m.group("short"):
            etype, _, value = m.group("short").partition(":")
            value = value or surface
        else:
            try:
                spec = json.loads(m.group("json"))
                etype, value = spec["entity"], str(spec.get("value", surface))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise NLUDataError(path, lineno, f"bad entity annotation {m.group(0)!r}: {exc}") from None
        entities.append(Entity(etype.strip(), value.strip(), surface, start, start + len(surface)))
        out.append(surface)
        pos = m.end()
    out.append(line[pos:])
    text = "".join(out)
    if "](" in text or re.search(r"\[[^\]]*$", text):
        raise NLUDataError(path, lineno, f"unbalanced entity annotation in {line!r}")
    return text, tuple(entities)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: yaml.Node, path: Path) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        # Every composed node is a scalar, sequence or mapping node, each with an ``id``.
        raise NLUDataError(path, _line(node), f"expected a mapping, found {node.id}")  # type: ignore[attr-defined]
    return {k.value: v for k, v in node.value}


def _scalar(node: yaml.Node, path: Path, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise NLUDataError(path, _line(node), f"{what} must be a non-empty string")
    return str(node.value).strip()


def _items(node: yaml.Node, path: Path, what: str) -> list[tuple[str, int]]:
    """``examples: |`` block of ``- item`` lines -> [(item, line)]."""
    text = _scalar(node, path, what)
    block = isinstance(node, yaml.ScalarNode) and node.style in ("|", ">")  # always a scalar here
    first = _line(node) + (1 if block else 0)
    items = []
    for offset, raw in enumerate(text.splitlines()):
        stripped = raw.strip()
        if not stripped:
            continue
        if not stripped.startswith("- "):
            raise NLUDataError(path, first + offset, f"{what}: each line must start with '- ', got {stripped!r}")
        items.append((stripped[2:].strip(), first + offset))
    if not items:
        raise NLUDataError(path, _line(node), f"{what} is empty")
    return items


def load_rasa_yaml(path: Path) -> TrainingData:
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise NLUDataError(path, line, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    data = TrainingData()
    if root is None:
        return data
    top = _mapping(root, path)
    nlu = top.get("nlu")
    if nlu is None:
        return data  # e.g. a config or domain file: nothing for NLU
    if not isinstance(nlu, yaml.SequenceNode):
        raise NLUDataError(path, _line(nlu), "'nlu' must be a list")
    for item in nlu.value:
        _load_item(item, path, data)
    return data


def _load_item(node: yaml.Node, path: Path, data: TrainingData) -> None:
    fields = _mapping(node, path)
    kinds = [k for k in ("intent", "synonym", "regex", "lookup") if k in fields]
    if len(kinds) != 1:
        raise NLUDataError(path, _line(node), "each nlu item needs exactly one of intent/synonym/regex/lookup")
    kind = kinds[0]
    name = _scalar(fields[kind], path, kind)
    if "examples" not in fields:
        raise NLUDataError(path, _line(node), f"{kind} {name!r} has no 'examples'")
    items = _items(fields["examples"], path, f"{kind} {name!r} examples")
    if kind == "intent":
        for raw, lineno in items:
            text, entities = parse_annotated(raw, path=path, lineno=lineno)
            data.examples.append(Example(text, name, entities))
    elif kind == "synonym":
        for raw, _ in items:
            data.synonyms[raw.lower()] = name
    elif kind == "regex":
        for raw, lineno in items:
            try:
                re.compile(raw)
            except re.error as exc:
                raise NLUDataError(path, lineno, f"regex {name!r}: {exc}") from None
            data.regexes.setdefault(name, []).append(raw)
    else:
        data.lookups.setdefault(name, []).extend(raw for raw, _ in items)


def load_jsonl(path: Path) -> TrainingData:
    data = TrainingData()
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
            text, intent = str(row["text"]), str(row["intent"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise NLUDataError(path, lineno, f'expected {{"text": ..., "intent": ...}}: {exc}') from None
        data.examples.append(Example(text, OUT_OF_SCOPE if intent == "oos" else intent))
    return data


def load_training_data(path: Path | str) -> TrainingData:
    """A Rasa YAML file, a JSONL file, or a directory of Rasa YAML files (recursively)."""
    path = Path(path)
    if path.is_dir():
        data = TrainingData()
        for file in data_files(path):
            data.merge(load_rasa_yaml(file))
        return data
    if not path.exists():
        raise NLUDataError(path, None, "no such file or directory")
    if path.suffix == ".jsonl":
        return load_jsonl(path)
    return load_rasa_yaml(path)


def data_files(directory: Path) -> list[Path]:
    """NLU YAML files under ``directory`` (Rasa config files are skipped by their name)."""
    return sorted(p for p in directory.rglob("*.yml") if not p.name.startswith("rasa_config")) + sorted(
        directory.rglob("*.yaml")
    )

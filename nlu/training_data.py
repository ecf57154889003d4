"""Reading Rasa NLU YAML (``version: "3.1"``) into plain Python objects.

Supported, as in Rasa: ``intent`` blocks with examples, entity annotations
``[text](entity)``, ``[text](entity:value)`` and ``[text]{"entity": "e", "value": "v"}``,
``synonym`` blocks (surface form → canonical value), ``lookup`` tables and ``regex`` blocks.
Annotated entity values are mapped through the synonyms, like Rasa's EntitySynonymMapper.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = [
    "AnnotatedEntity",
    "Example",
    "TrainingData",
    "data_files",
    "fingerprint",
    "load_training_data",
    "need_files",
    "parse_annotated",
]

DATA_DIR = Path(__file__).parent / "data"
TEST_DIR = DATA_DIR / "test"
NEEDS = "needs"  # need-category examples: train the need model only, not the intent model

_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


@dataclass(frozen=True, slots=True)
class AnnotatedEntity:
    entity: str
    value: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    entities: tuple[AnnotatedEntity, ...] = ()


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)  # surface (normalized) -> value
    synonym_groups: dict[str, list[str]] = field(default_factory=dict)  # value -> surfaces
    lookups: dict[str, list[str]] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})

    def merge(self, other: "TrainingData") -> None:
        self.examples.extend(other.examples)
        self.synonyms.update(other.synonyms)
        for value, surfaces in other.synonym_groups.items():
            self.synonym_groups.setdefault(value, []).extend(surfaces)
        for name, items in other.lookups.items():
            self.lookups.setdefault(name, []).extend(items)
        for name, items in other.regexes.items():
            self.regexes.setdefault(name, []).extend(items)


def parse_annotated(line: str) -> tuple[str, list[tuple[str, str, str | None, int, int]]]:
    """Strip annotations from one example line.

    Returns the plain text and (entity, surface, explicit value or None, start, end) tuples.
    """
    plain: list[str] = []
    found: list[tuple[str, str, str | None, int, int]] = []
    pos = 0
    length = 0
    for m in _ANNOTATION.finditer(line):
        before = line[pos : m.start()]
        plain.append(before)
        length += len(before)
        surface = m.group("text")
        start = length
        plain.append(surface)
        length += len(surface)
        if m.group("json"):
            spec = json.loads(m.group("json"))
            entity, value = spec["entity"], spec.get("value")
        else:
            entity, _, value = m.group("short").partition(":")
            value = value or None
        found.append((entity, surface, value, start, length))
        pos = m.end()
    plain.append(line[pos:])
    return "".join(plain), found


def _example_lines(block: str | list) -> list[str]:
    if isinstance(block, list):
        return [str(x) for x in block]
    lines = []
    for raw in str(block).splitlines():
        raw = raw.strip()
        if raw.startswith("- "):
            lines.append(raw[2:].strip())
        elif raw == "-":
            continue
    return lines


def _load_file(path: Path) -> tuple[TrainingData, list]:
    from nlu.normalize import normalize

    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data = TrainingData()
    pending: list[tuple[str, str, list]] = []
    for item in doc.get("nlu", []) or []:
        if "intent" in item:
            for line in _example_lines(item.get("examples", "")):
                text, found = parse_annotated(line)
                pending.append((item["intent"], text, found))
        elif "synonym" in item:
            value = str(item["synonym"])
            surfaces = _example_lines(item.get("examples", ""))
            data.synonym_groups.setdefault(value, []).extend(surfaces)
            for surface in surfaces:
                data.synonyms[normalize(surface)] = value
        elif "lookup" in item:
            data.lookups.setdefault(item["lookup"], []).extend(_example_lines(item.get("examples", "")))
        elif "regex" in item:
            data.regexes.setdefault(item["regex"], []).extend(_example_lines(item.get("examples", "")))
    return data, pending


def _resolve(pending, synonyms: dict[str, str]) -> list[Example]:
    from nlu.normalize import normalize

    examples = []
    for intent, text, found in pending:
        entities = tuple(
            AnnotatedEntity(ent, value if value is not None else synonyms.get(normalize(surface), surface), s, e)
            for ent, surface, value, s, e in found
        )
        examples.append(Example(text, intent, entities))
    return examples


def data_files(path: Path) -> list[Path]:
    """The YAML files of a data path: the file itself, or a directory's files (the
    ``test`` sub-directory of the default data directory is never included)."""
    if path.is_file():
        return [path]
    files = []
    for p in sorted(path.rglob("*.yml")) + sorted(path.rglob("*.yaml")):
        rel = p.relative_to(path).parts
        if rel[0] == "test" and len(rel) > 1:  # the held-out split is never trained on
            continue
        if rel[0] == NEEDS and len(rel) > 1:  # see need_files()
            continue
        if p.name.startswith("kb_"):  # knowledge-search evaluation (kb_eval, kb_situations…), not NLU data
            continue
        files.append(p)
    return files


def need_files(path: Path | None = None) -> list[Path]:
    """The need-category examples of a data directory (``needs/``): many report_need
    sentences that would tilt the intent model toward report_need, so only the need model
    learns from them."""
    base = path or DATA_DIR
    return sorted((base / NEEDS).rglob("*.yml")) if base.is_dir() else []


def load_training_data(path: Path | None = None, *, synonyms_from: TrainingData | None = None) -> TrainingData:
    """Load every Rasa NLU YAML file under ``path`` (default: ``nlu/data`` without its test split).

    ``synonyms_from`` lets an evaluation file map short annotations through the training
    synonyms in addition to its own.
    """
    data = TrainingData()
    pending: list = []
    for file in data_files(path or DATA_DIR):
        part, raw = _load_file(file)
        data.merge(part)
        pending.extend(raw)
    synonyms = dict(synonyms_from.synonyms) if synonyms_from is not None else {}
    synonyms.update(data.synonyms)
    data.examples.extend(_resolve(pending, synonyms))
    return data


def fingerprint(path: Path | None = None) -> str:
    """sha256 over the training files' names and contents."""
    digest = hashlib.sha256()
    base = path or DATA_DIR
    for file in data_files(base) + need_files(base):
        digest.update(str(file.relative_to(base) if file != base else file.name).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()

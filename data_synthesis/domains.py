"""Domain vocabularies: parses the catalog DSL into typed field specs, and renders key names in styles.

Kept separate from schema building so that the vocabulary (what a real schema in a domain looks like)
can grow without touching structural logic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from data_synthesis.domain_catalog import DOMAINS, SHARED


@dataclass(frozen=True)
class FieldSpec:
    """A scalar field: label words (e.g. "order date"), value generator, description, aliases, unit."""

    words: str
    gen: str
    desc: str = ""
    aliases: tuple[str, ...] = ()
    unit: str = ""


@dataclass(frozen=True)
class ListSpec:
    """An array of scalars whose elements come from `gen`."""

    words: str
    gen: str
    desc: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemsSpec:
    """An array of objects; `item_words` names one element (e.g. "line item")."""

    words: str
    item_words: str
    desc: str = ""
    aliases: tuple[str, ...] = ()
    fields: tuple[FieldSpec, ...] = ()


@dataclass(frozen=True)
class Domain:
    """A domain: its entity name and the vocabulary a schema for it may draw from."""

    name: str
    entity: str
    fields: tuple[FieldSpec, ...]
    lists: tuple[ListSpec, ...] = ()
    items: tuple[ItemsSpec, ...] = ()
    objects: tuple[str, ...] = ()


@dataclass
class _Builder:
    name: str
    entity: str
    fields: list[FieldSpec] = field(default_factory=list)
    lists: list[ListSpec] = field(default_factory=list)
    items: list[ItemsSpec] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)


_SEP = re.compile(r"\s+\|\s+")


def _split(line: str, n: int) -> list[str]:
    """Split a DSL line on " | " (spaced pipes); bare "|" separates enum/pick alternatives."""
    parts = [p.strip() for p in _SEP.split(line.strip())]
    return parts + [""] * (n - len(parts))


def _aliases(text: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in text.split(",") if a.strip())


def _field(line: str) -> FieldSpec:
    words, gen, desc, aliases, unit = _split(line, 5)[:5]
    return FieldSpec(words, gen, desc, _aliases(aliases), unit)


def _parse(text: str) -> tuple[dict[str, Domain], dict[str, tuple[FieldSpec, ...]]]:
    domains: dict[str, Domain] = {}
    shared: dict[str, list[FieldSpec]] = {}
    cur: _Builder | None = None
    cur_shared: list[FieldSpec] | None = None
    cur_items: tuple[str, str, str, tuple[str, ...], list[FieldSpec]] | None = None

    def flush_items() -> None:
        nonlocal cur_items
        if cur_items is not None and cur is not None:
            w, iw, d, a, fs = cur_items
            cur.items.append(ItemsSpec(w, iw, d, a, tuple(fs)))
        cur_items = None

    def flush() -> None:
        flush_items()
        if cur is not None:
            domains[cur.name] = Domain(cur.name, cur.entity, tuple(cur.fields), tuple(cur.lists),
                                       tuple(cur.items), tuple(cur.objects))

    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("@"):
            flush()
            name, entity = (s.strip() for s in line[1:].split(":", 1))
            cur, cur_shared = _Builder(name, entity), None
        elif line.startswith("%"):
            flush()
            cur = None
            cur_shared = shared.setdefault(line[1:].strip(), [])
        elif line.startswith("  ") and cur_items is not None:
            cur_items[4].append(_field(line.strip()))
        elif line.startswith("obj:") and cur is not None:
            flush_items()
            cur.objects.extend(s.strip() for s in line[4:].split(",") if s.strip())
        elif line.startswith("[]") and cur is not None:
            flush_items()
            f = _field(line[2:].strip())
            cur.lists.append(ListSpec(f.words, f.gen, f.desc, f.aliases))
        elif line.startswith("{}") and cur is not None:
            flush_items()
            head, desc, aliases = _split(line[2:], 3)[:3]
            w, iw = (s.strip() for s in head.split("/", 1))
            cur_items = (w, iw, desc, _aliases(aliases), [])
        elif cur_shared is not None:
            cur_shared.append(_field(line.strip()))
        elif cur is not None:
            flush_items()
            cur.fields.append(_field(line.strip()))
    flush()
    return domains, {k: tuple(v) for k, v in shared.items()}


DOMAIN_MAP, SHARED_OBJECTS = _parse(DOMAINS + "\n" + SHARED)
DOMAIN_NAMES: tuple[str, ...] = tuple(sorted(DOMAIN_MAP))

# ---------------------------------------------------------------- key naming styles

NAMING_STYLES: tuple[str, ...] = ("snake", "camel", "pascal", "kebab", "title", "lower_space", "upper_snake")


def _tokens(words: str) -> list[str]:
    return [t for t in re.split(r"[^0-9A-Za-z]+", words) if t]


@lru_cache(maxsize=8192)
def style_key(words: str, style: str) -> str:
    """Render label words ("order date") as a JSON key in a naming style (orderDate, order_date...)."""
    toks = _tokens(words) or ["field"]
    low = [t.lower() for t in toks]
    if style == "snake":
        return "_".join(low)
    if style == "upper_snake":
        return "_".join(t.upper() for t in toks)
    if style == "kebab":
        return "-".join(low)
    if style == "camel":
        return low[0] + "".join(t[:1].upper() + t[1:] for t in low[1:])
    if style == "pascal":
        return "".join(t[:1].upper() + t[1:] for t in low)
    if style == "title":
        return " ".join(t[:1].upper() + t[1:] for t in low)
    return " ".join(low)


_CAMEL_SPLIT = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@lru_cache(maxsize=8192)
def humanize(key: str) -> str:
    """Turn any JSON key (orderDate, order_date, Order-Date) back into lower-case label words."""
    spaced = _CAMEL_SPLIT.sub(" ", key)
    toks = _tokens(spaced)
    return " ".join(t.lower() for t in toks) or key

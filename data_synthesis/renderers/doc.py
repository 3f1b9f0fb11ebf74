"""The document model every renderer formats: labelled, already value-formatted entries.

Building it once per example fixes the choices that must be consistent inside one text (labels,
aliases, field order, value formats) and guarantees that every present gold leaf gets an entry, so
no renderer can forget a value or mention an absent optional field.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from data_synthesis.domains import humanize
from data_synthesis.instances import gen_value
from data_synthesis.plan import Node, join_path
from data_synthesis.renderers.values import ValueFormatter


@dataclass
class Entry:
    """kind: "scalar" (text), "group" (entries), "list" (texts) or "table" (rows of entries)."""

    kind: str
    path: str
    label: str
    key: str
    text: str = ""
    raw: Any = None
    is_bool: bool = False
    is_null: bool = False
    entries: list[Entry] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    rows: list[list[Entry]] = field(default_factory=list)
    item_label: str = ""


@dataclass
class Doc:
    entity: str
    entries: list[Entry]
    distractors: list[str]
    fmt: ValueFormatter
    key_mode: str
    shuffled: bool


_DISTRACTORS = (
    "{person} from {company} called earlier about an unrelated matter.",
    "The office in {city} will be closed next {weekday}.",
    "Reference {code} belongs to a different case and can be ignored.",
    "Unrelated, but the weather in {city} was {n} degrees and sunny.",
    "Reminder: the quarterly review is scheduled for next {weekday}.",
    "Our team in {city} handled {n} similar requests last month.",
    "{person} will be out of office until {weekday}.",
    "As a side note, the printer on the third floor is broken again.",
    "Last year's figures were archived by {person}.",
)


def make_distractors(rng: random.Random, k: int) -> list[str]:
    out = []
    for tpl in rng.sample(_DISTRACTORS, k):
        out.append(tpl.format(person=gen_value("person", rng), company=gen_value("company", rng),
                              city=gen_value("city", rng), code=gen_value("code:REF-####", rng),
                              n=rng.randint(3, 40), weekday=rng.choice(("Monday", "Tuesday", "Friday"))))
    return out


class _Labeler:
    def __init__(self, rng: random.Random, key_mode: str) -> None:
        self.rng = rng
        self.key_mode = key_mode

    def __call__(self, node: Node | None, key: str, is_bool: bool = False) -> str:
        words = node.words if node is not None and node.words else humanize(key)
        if self.key_mode == "raw":
            return key
        # Booleans keep their own name more often: "refundable: no" needs the field named.
        p = 0.2 if is_bool else 0.7
        if self.key_mode == "alias" and node is not None and node.aliases and self.rng.random() < p:
            return self.rng.choice(node.aliases)
        return words


def _child(node: Node | None, key: str) -> Node | None:
    if node is None or node.kind != "object":
        return None
    for c in node.children:
        if c.key == key:
            return c
    return None


def _leaf_info(node: Node | None) -> tuple[str, str, bool]:
    if node is None:
        return "", "", False
    ls = node.leaf_schema
    return node.unit, str(ls.get("format", "")), "enum" in ls


def build_doc(plan: Node, instance: dict[str, Any], rng: random.Random, *, key_mode: str,
              reformat_prob: float, bool_words: bool, shuffle: bool, n_distractors: int) -> Doc:
    """Turn (plan, instance) into a Doc of labelled, formatted entries."""
    fmt = ValueFormatter(rng, reformat_prob, bool_words)
    label = _Labeler(rng, key_mode)

    def scalar(node: Node | None, key: str, value: Any, path: str) -> Entry:
        unit, f, is_enum = _leaf_info(node)
        return Entry("scalar", path, label(node, key, isinstance(value, bool)), key, text=fmt(value, path, unit, f, is_enum), raw=value,
                     is_bool=isinstance(value, bool), is_null=value is None)

    def obj(node: Node | None, value: dict[str, Any], path: str, top: bool = False) -> list[Entry]:
        keys = list(value)
        if shuffle and (top or rng.random() < 0.5):
            rng.shuffle(keys)
        return [entry(_child(node, k), k, value[k], join_path(path, k)) for k in keys]

    def entry(node: Node | None, key: str, value: Any, path: str) -> Entry:
        if isinstance(value, dict):
            return Entry("group", path, label(node, key), key, entries=obj(node, value, path))
        if isinstance(value, list):
            item = node.item if node is not None else None
            if value and all(isinstance(v, dict) for v in value):
                rows = [obj(item, v, join_path(path, i)) for i, v in enumerate(value)]
                item_label = item.words if item is not None and item.words else "item"
                return Entry("table", path, label(node, key), key, rows=rows, item_label=item_label)
            texts = []
            for i, v in enumerate(value):
                unit, f, is_enum = _leaf_info(item)
                texts.append(fmt(v, join_path(path, i), unit, f, is_enum))
            return Entry("list", path, label(node, key), key, texts=texts, raw=value)
        return scalar(node, key, value, path)

    entries = obj(plan, instance, "", top=True)
    return Doc(entity=plan.words or "record", entries=entries, distractors=make_distractors(rng, n_distractors),
               fmt=fmt, key_mode=key_mode, shuffled=shuffle)

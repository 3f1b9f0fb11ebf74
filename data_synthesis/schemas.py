"""Synthetic JSON Schema generator: realistic schemas per domain at 7 complexity levels.

A schema is first built as a plan (plan.Node tree, which keeps labels/aliases/generators for the
instance and text steps) and then emitted as Draft 2020-12 JSON Schema.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from data_synthesis.domains import (DOMAIN_MAP, DOMAIN_NAMES, NAMING_STYLES, SHARED_OBJECTS, Domain,
                                    FieldSpec, ItemsSpec, ListSpec, style_key)
from data_synthesis.instances import leaf_schema_for
from data_synthesis.plan import Node

LEVELS: tuple[str, ...] = ("flat_basic", "flat_typed", "optional_nullable", "nested", "arrays", "refs",
                           "comprehensive")
_STYLE_WEIGHTS = (0.3, 0.28, 0.1, 0.08, 0.1, 0.06, 0.08)
_DESC_PROB = dict(zip(LEVELS, (0.1, 0.3, 0.4, 0.5, 0.5, 0.6, 0.7)))
_QUALIFIERS = {
    "address": ("shipping", "billing", "home", "office", "mailing"),
    "contact": ("primary", "emergency", "billing", "technical"),
    "person": ("owner", "guardian", "applicant"),
    "organization": ("partner", "sponsor", "parent"),
    "location": ("pickup", "site", "meeting"),
    "period": ("coverage", "validity", "campaign"),
    "payment": ("deposit", "final"),
    "dimensions": ("package", "box"),
}
_GENERIC_LISTS = (
    ListSpec("tags", "pick:urgent|internal|archived|follow-up|vip|new|priority|review", "Free-form labels", ("labels",)),
    ListSpec("notes", "sentence", "Short notes", ("remarks", "comments")),
)
_LISTABLE = ("contact", "person", "location", "address")
_NESTABLE = {"address", "contact", "location", "dimensions"}
_SIMPLE_HEADS = ("person", "first", "last", "company", "city", "country", "street", "zip", "phone", "job",
                 "code", "pick", "enum", "int", "year", "color", "sentence")


def _title(words: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in words.split())


class _Builder:
    """Holds the per-schema choices (naming style, description rate) while the plan is built."""

    def __init__(self, rng: random.Random, level: str) -> None:
        self.rng = rng
        self.level = level
        self.style = rng.choices(NAMING_STYLES, weights=_STYLE_WEIGHTS)[0]
        self.desc_prob = _DESC_PROB[level]
        self.bounds = rng.random() < 0.3
        self.optional_rate = {"optional_nullable": 0.4, "comprehensive": 0.3}.get(level, 0.12 if LEVELS.index(level) >= 3 else 0.0)
        self.nullable_rate = {"optional_nullable": 0.3, "comprehensive": 0.2}.get(level, 0.08 if LEVELS.index(level) >= 3 else 0.0)

    def key(self, words: str) -> str:
        return style_key(words, self.style)

    def desc(self, text: str) -> str:
        return text if text and self.rng.random() < self.desc_prob else ""

    def mark_optional(self, node: Node) -> Node:
        if self.rng.random() < self.optional_rate:
            node.required = False
        if self.rng.random() < self.nullable_rate:
            node.nullable = True
        return node

    def leaf(self, spec: FieldSpec, words: str | None = None) -> Node:
        gen = spec.gen
        if self.level == "flat_basic" and gen.startswith("enum:"):
            gen = "pick:" + gen[5:]
        w = words or spec.words
        return Node(key=self.key(w), words=w, kind="leaf", gen=gen, aliases=spec.aliases, unit=spec.unit,
                    desc=self.desc(spec.desc), leaf_schema=leaf_schema_for(gen, self.rng, self.bounds))

    def scalars(self, domain: Domain, lo: int, hi: int, simple: bool = False) -> list[Node]:
        pool = [f for f in domain.fields if not simple or f.gen.partition(":")[0] in _SIMPLE_HEADS]
        n = min(len(pool), self.rng.randint(lo, hi))
        idx = sorted(self.rng.sample(range(len(pool)), n))
        return [self.mark_optional(self.leaf(pool[i])) for i in idx]

    def obj(self, name: str, words: str, fields: tuple[FieldSpec, ...], min_fields: int = 2) -> Node:
        n = self.rng.randint(min(min_fields, len(fields)), len(fields))
        idx = sorted(self.rng.sample(range(len(fields)), n))
        children = [self.leaf(fields[i]) for i in idx]
        return Node(key=self.key(words), words=words, kind="object", children=children,
                    type_name=_title(name), desc=self.desc(f"{name.capitalize()} details"))

    def shared_obj(self, domain: Domain, exclude: set[str]) -> tuple[str, Node] | None:
        names = [o for o in domain.objects if o not in exclude] or [o for o in SHARED_OBJECTS if o not in exclude]
        if not names:
            return None
        name = self.rng.choice(names)
        words = name
        if self.rng.random() < 0.4 and name in _QUALIFIERS:
            words = f"{self.rng.choice(_QUALIFIERS[name])} {name}"
        return name, self.obj(name, words, SHARED_OBJECTS[name])

    def list_node(self, domain: Domain) -> Node:
        spec = self.rng.choice(domain.lists or _GENERIC_LISTS)
        item = Node(key="", words=spec.words, kind="leaf", gen=spec.gen,
                    leaf_schema=leaf_schema_for(spec.gen, self.rng, False))
        mx = min(4, len(spec.gen.split("|"))) if spec.gen.startswith("pick:") else 3
        return Node(key=self.key(spec.words), words=spec.words, kind="array", item=item, aliases=spec.aliases,
                    desc=self.desc(spec.desc), min_items=1, max_items=max(1, mx))

    def items_node(self, domain: Domain, nested_obj: bool) -> Node:
        if domain.items:
            spec: ItemsSpec = self.rng.choice(domain.items)
            item = self.obj(spec.item_words, spec.item_words, spec.fields)
            words, aliases, desc = spec.words, spec.aliases, spec.desc
        else:  # lists of people or places read naturally in any domain
            name = self.rng.choice([o for o in domain.objects if o in _LISTABLE] or ["contact"])
            item = self.obj(name, name, SHARED_OBJECTS[name])
            words = name + ("es" if name.endswith("ss") else "s")
            aliases, desc = (), f"List of {words}"
        if nested_obj:
            got = self.shared_obj(domain, set(SHARED_OBJECTS) - _NESTABLE)
            if got is not None and got[1].key not in {c.key for c in item.children}:
                item.children.append(got[1])
        item.key = ""
        return Node(key=self.key(words), words=words, kind="array", item=item, aliases=aliases,
                    desc=self.desc(desc), min_items=1, max_items=3)


def build_plan(rng: random.Random, domain_name: str | None = None, level: str | None = None) -> tuple[Node, str, str]:
    """Build a schema plan; returns (root node, domain name, complexity level)."""
    domain = DOMAIN_MAP[domain_name or rng.choice(DOMAIN_NAMES)]
    level = level or rng.choice(LEVELS)
    b = _Builder(rng, level)
    li = LEVELS.index(level)
    root = Node(key="", words=domain.entity, kind="object", type_name=_title(domain.entity))
    if level == "flat_basic":
        root.children = b.scalars(domain, 3, 5, simple=True)
    elif level in ("flat_typed", "optional_nullable"):
        root.children = b.scalars(domain, 5, 8) if level == "flat_typed" else b.scalars(domain, 6, 10)
    else:
        root.children = b.scalars(domain, 3, 6 if li < 6 else 9)
        used: set[str] = set()
        n_obj = {"nested": b.rng.randint(1, 2), "arrays": b.rng.randint(0, 1), "refs": 0,
                 "comprehensive": 2}[level]
        for _ in range(n_obj):
            got = b.shared_obj(domain, used)
            if got:
                used.add(got[0])
                root.children.append(b.mark_optional(got[1]))
        if level == "refs":
            # The same object type in two places (billing + shipping address) -> one $defs entry.
            name = b.rng.choice(domain.objects or ("address",))
            base = b.obj(name, name, SHARED_OBJECTS[name])
            quals = b.rng.sample(_QUALIFIERS.get(name, ("primary", "secondary")), 2)
            for q in quals:
                twin = copy.deepcopy(base)
                twin.words = f"{q} {name}"
                twin.key = b.key(twin.words)
                root.children.append(twin)
        if level in ("arrays", "refs", "comprehensive"):
            root.children.append(b.list_node(domain))
            root.children.append(b.items_node(domain, nested_obj=level == "comprehensive"))
        if level == "nested" and b.rng.random() < 0.5:
            root.children.append(b.list_node(domain))
    _dedupe_keys(root)
    return root, domain.name, level


def _dedupe_keys(node: Node) -> None:
    if node.kind == "object":
        seen: set[str] = set()
        kept = []
        for c in node.children:
            if c.key not in seen:
                seen.add(c.key)
                kept.append(c)
                _dedupe_keys(c)
        node.children = kept
    elif node.item is not None:
        _dedupe_keys(node.item)


def emit_schema(root: Node, rng: random.Random, level: str) -> dict[str, Any]:
    """Emit Draft 2020-12 JSON Schema for a plan (uses $defs/$ref at the refs/comprehensive levels)."""
    use_refs = level in ("refs", "comprehensive")
    null_style = rng.choice(("type_list", "anyOf"))
    strict = rng.random() < 0.75
    defs: dict[str, Any] = {}

    def nullable(s: dict[str, Any]) -> dict[str, Any]:
        if null_style == "type_list" and "type" in s and "enum" not in s and "$ref" not in s:
            return {**s, "type": [s["type"], "null"]}
        return {"anyOf": [s, {"type": "null"}]}

    def emit(node: Node, top: bool = False) -> dict[str, Any]:
        if node.kind == "leaf":
            s = dict(node.leaf_schema)
        elif node.kind == "array":
            assert node.item is not None
            s = {"type": "array", "items": emit(node.item)}
            if node.min_items and rng.random() < 0.5:
                s["minItems"] = node.min_items
        else:
            s = {"type": "object", "properties": {c.key: emit(c) for c in node.children},
                 "required": [c.key for c in node.children if c.required]}
            if strict:
                s["additionalProperties"] = False
            if use_refs and not top and node.type_name:
                name = node.type_name
                if name in defs and defs[name] != s:
                    name = f"{name}{len(defs)}"
                defs[name] = s
                s = {"$ref": f"#/$defs/{name}"}
        if node.desc:
            s = {**s, "description": node.desc} if "$ref" not in s or rng.random() < 0.5 else s
        return nullable(s) if node.nullable else s

    body = emit(root, top=True)
    out: dict[str, Any] = {}
    if rng.random() < 0.3:
        out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    if rng.random() < 0.5:
        out["title"] = root.type_name
    out.update(body)
    if defs:
        out["$defs"] = defs
    return out

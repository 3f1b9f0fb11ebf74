"""Long documents with deep nesting: report-like texts of 1,000-4,000 characters, schemas of depth 4-7 with
arrays of objects, and a gold JSON in which every list item the text states is extracted (issues 25 and 26).

Why: the short synthetic and E2E rows never make the model read a long text or fill nested lists, and the
benchmarks never time a long prompt. The six document kinds (long_docs_catalog.py: organisation reports,
tour itineraries, plant catalogues, clinical trial status reports, housing condition surveys, regatta results)
share no domain with domain_catalog.py, so the rows also serve as an out-of-distribution split. They are for
evaluation only: ``domains="train"`` (``--domains train``) builds the same kind of rows from six other domains
(long_docs_train_catalog.py: school timetables, shipping manifests, film festival programmes, software release
notes, conference programmes, orchestra seasons), for training on long documents while the six above stay unseen.

Depth counts nested objects and arrays, the root object being 1 (``{"a": [{"b": 1}]}`` has depth 3): each
level of the domain's chain adds an array and its item object (2), and a level's *extra* (a string array or a
nested object) adds 1 more where it sits at the deepest level (depth 7 = three levels, no extras; 6 = two levels
and the extra; 5 = two levels; 4 = one level and its extra). Row ``i`` gets domain ``i mod 6`` and a depth
in 4..7 that cycles so that every domain sees every depth; the rest is drawn from ``random.Random`` seeded by
(seed, i), so rows are a pure function of (seed, index). Every string leaf of the gold occurs in the text
(case-insensitive), every number is written as digits, booleans are stated in wording, absent optional fields
are never mentioned; :func:`missing_from_text` checks it, and every gold is validated with jsonschema.
Background sentences that state no value are mixed in, and the gold is kept under ``MAX_GOLD_CHARS`` so the
answer fits the service's default ``max_tokens``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from data_synthesis.domains import style_key
from data_synthesis.instances import gen_value, pool
from data_synthesis.long_docs_catalog import LONG_DOMAINS, VOCAB, Group, Leaf, Level, LongDomain
from data_synthesis.long_docs_train_catalog import TRAIN_LONG_DOMAINS, TRAIN_VOCAB
from data_synthesis.plan import iter_leaves

__all__ = ["MIN_CHARS", "MAX_CHARS", "MAX_GOLD_CHARS", "MIN_DEPTH", "MAX_DEPTH", "DOMAIN_NAMES", "TRAIN_DOMAIN_NAMES",
           "DOMAIN_SETS", "schema_depth", "missing_from_text", "make_row", "long_doc_rows",
           "LongDocSummary", "write_long_docs"]

MIN_CHARS, MAX_CHARS = 1000, 4000
MIN_DEPTH, MAX_DEPTH = 4, 7
DOMAIN_NAMES = tuple(d.name for d in LONG_DOMAINS)
TRAIN_DOMAIN_NAMES = tuple(d.name for d in TRAIN_LONG_DOMAINS)
_SETS: dict[str, tuple[tuple[LongDomain, ...], dict[str, tuple[str, ...]]]] = {
    "eval": (LONG_DOMAINS, VOCAB), "train": (TRAIN_LONG_DOMAINS, TRAIN_VOCAB)}
"""``eval``: the six domains of long_docs_catalog.py (evaluation only); ``train``: the six of
long_docs_train_catalog.py (training rows; disjoint domains, key words and vocabulary). Each with its vocabulary."""
DOMAIN_SETS = tuple(_SETS)
_ATTEMPTS = 60
_COUNTS = {1: ((4, 7),), 2: ((2, 3), (2, 3)), 3: ((2, 2), (2, 2), (2, 2))}
"""Items per list, by the number of levels in the row's chain (top level first); at least 2, so every count
the text states reads as a plural."""
MAX_GOLD_CHARS = 1300
"""Longest gold (compact JSON, about 430 tokens of SmolLM2), so every answer fits the default max_tokens (512)."""
_DEEPEST_LEAVES = 2
"""With three levels, the deepest level states only its name, its first leaves and (optional) extra."""
_PRONOUN = 0.35
"""Share of an item's later sentences that call it "it" (items that are no person) instead of by name."""
_DISTINCT = frozenset({"person", "landmark", "cultivar", "site", "building", "flat", "company", "vocab:team",
                       "vocab:department", "vocab:category",
                       "vocab:form", "vocab:film", "vocab:session", "vocab:talk", "vocab:work", "vocab:concert"})
"""Generators whose values are kept distinct across a whole document (so every sentence is unambiguous); the
second line holds training-domain generators (long_docs_train_catalog.py)."""
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")


def _domain_set(domains: str) -> tuple[tuple[LongDomain, ...], dict[str, tuple[str, ...]]]:
    """The document kinds of ``domains`` ("eval" or "train") and their vocabulary; a ValueError names the choices
    otherwise."""
    if domains not in _SETS:
        raise ValueError(f"domains must be one of {', '.join(DOMAIN_SETS)}, got {domains!r}")
    return _SETS[domains]


def schema_depth(schema: Any) -> int:
    """Nesting depth of objects and arrays (root object = 1, a scalar = 0); see the module docstring."""
    if not isinstance(schema, dict):
        return 0
    if schema.get("type") == "object":
        return 1 + max((schema_depth(s) for s in schema.get("properties", {}).values()), default=0)
    if schema.get("type") == "array":
        return 1 + schema_depth(schema.get("items"))
    return 0


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}" if round(value, 1) != value else f"{value:.1f}"
    return str(int(value)) if isinstance(value, float) else str(value)


def missing_from_text(text: str, gold: Any) -> list[str]:
    """JSON Pointers of gold leaves the text does not state: a string not in it (case-insensitive), a number
    not written as digits (as a whole number token). Booleans and nulls are not checked (stated in wording)."""
    lowered = text.lower()
    numbers = {float(m) for m in _NUMBER.findall(text)}
    missing = []
    for path, value in iter_leaves(gold):
        if isinstance(value, str) and value.lower() not in lowered:
            missing.append(path)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and float(value) not in numbers:
            missing.append(path)
    return missing


def _join(values: list[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def _leaf_schema(leaf: Leaf, rng: random.Random, titles: float) -> dict[str, Any]:
    head, _, arg = leaf.gen.partition(":")
    s: dict[str, Any]
    if head == "int":
        lo, hi = (int(x) for x in arg.split(":"))
        s = {"type": "integer", "minimum": lo, "maximum": hi}
    elif head == "seq":
        s = {"type": "integer", "minimum": 1}
    elif head in ("num", "money"):
        s = {"type": "number", "minimum": 0}
    elif head == "enum":
        s = {"type": "string", "enum": arg.split("|")}
    elif head == "bool":
        s = {"type": "boolean"}
    elif head in ("date", "seqdate"):
        s = {"type": "string", "format": "date"}
    elif head == "time":
        s = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}
    elif head == "list":
        s = {"type": "array", "items": {"type": "string"}, "minItems": 1}
    else:
        s = {"type": "string"}
    if rng.random() < titles:
        s = {"title": leaf.words[:1].upper() + leaf.words[1:], **s}
    if leaf.desc and rng.random() < 0.7:
        s["description"] = leaf.desc
    return s


@dataclass
class _Doc:
    """The choices of one row while it is built: naming style, schema decoration, values used so far."""

    rng: random.Random
    style: str
    titles: float
    closed: bool
    base_date: dt.date
    used: set[str]
    asides: list[str]
    """The domain's background sentences not used yet, shuffled (each said at most once)."""
    vocab: dict[str, tuple[str, ...]]
    """Where ``vocab:NAME`` and ``list:NAME`` look up NAME (VOCAB or TRAIN_VOCAB, by domain set)."""

    def key(self, words: str) -> str:
        return style_key(words, self.style)

    def obj(self, props: dict[str, Any], required: list[str], **extra: Any) -> dict[str, Any]:
        s: dict[str, Any] = {**extra, "type": "object", "properties": props, "required": required}
        if self.closed:
            s["additionalProperties"] = False
        return s

    def value(self, leaf: Leaf, index: int, *, distinct: set[Any] | None = None) -> Any:
        """A value for ``leaf`` at list position ``index`` (distinct from ``distinct`` and, for names of
        people and places, from every value used in the document so far)."""
        for _ in range(200):
            v = self._draw(leaf.gen, index)
            taken = (distinct is not None and v in distinct) or (
                isinstance(v, str) and (leaf.gen in _DISTINCT or leaf.gen.partition(":")[0] in _DISTINCT)
                and v.lower() in self.used)
            if not taken:
                break
        if isinstance(v, str):
            self.used.add(v.lower())
        elif isinstance(v, list) and leaf.gen == "list:person":
            self.used.update(x.lower() for x in v)
        return v

    def _draw(self, gen: str, index: int) -> Any:
        rng = self.rng
        head, _, arg = gen.partition(":")
        if head == "seq":
            return index + 1
        if head == "seqdate":
            return (self.base_date + dt.timedelta(days=index)).isoformat()
        if head == "time":
            return f"{rng.randrange(6, 21):02d}:{rng.randrange(0, 60, 5):02d}"
        if head == "vocab":
            return rng.choice(self.vocab[arg])
        if head == "list":
            source = pool("person") if arg == "person" else self.vocab[arg]
            want = rng.randint(2, min(4, len(source)))
            picked: list[str] = []
            while len(picked) < want:
                v = rng.choice(source)
                if v not in picked and not (arg == "person" and v.lower() in self.used):
                    picked.append(v)
            return picked
        last = rng.choice(pool("last"))
        custom = {
            "tourname": lambda: f"{rng.choice(pool('city'))} {rng.choice(('Discovery', 'Heritage', 'Explorer'))} Tour",
            "landmark": lambda: f"{last} {rng.choice(VOCAB['landmark_kind'])}",
            "cultivar": lambda: f"{rng.choice(VOCAB['genus'])} {rng.choice(VOCAB['cultivar'])}",
            "site": lambda: f"{rng.choice(pool('city'))} {rng.choice(VOCAB['site_kind'])}",
            "cooperative": lambda: f"{last} Housing Cooperative",
            "building": lambda: f"{rng.choice(pool('last'))} {rng.choice(VOCAB['building_kind'])}",
            "flat": lambda: f"Flat {rng.randint(1, 12)}{rng.choice('ABCDEF')}",
            "regatta": lambda: f"{rng.choice(pool('city'))} {rng.choice(VOCAB['regatta'])}",
            "club": lambda: f"{last} Yacht Club",
        }
        if head in custom:
            return custom[head]()
        return gen_value(gen, rng)

    def say(self, leaf: Leaf, name: Any, value: Any, *, it: bool = False) -> str:
        """The sentence stating ``value`` of ``leaf`` about the item called ``name`` (as "it" where ``it`` and
        the sentence starts with the name)."""
        shown = ""
        if isinstance(value, bool):
            template = leaf.says[0] if value else leaf.says[1]
        else:
            template = self.rng.choice(leaf.says)
            if isinstance(value, list):
                shown = _join(value)
            elif isinstance(value, (int, float)):
                shown = _number_text(value)
            else:
                shown = str(value)
        return self.finish(template, name, it, v=shown)

    def finish(self, template: str, name: Any, it: bool, /, **values: Any) -> str:
        """A template filled in and capitalised, its leading name replaced by "it" where asked."""
        if values.get("v", "")[:1].lower() in tuple("aeiou"):
            template = template.replace(" a {v}", " an {v}")
        if it:
            for head, pronoun in (("{n}'s ", "its "), ("The {n}'s ", "its "), ("{n} ", "it "), ("The {n} ", "it ")):
                if template.startswith(head):
                    template = pronoun + template[len(head):]
                    break
        text = template.format(n=name, **values)
        return text[:1].upper() + text[1:]


def _fields(doc: _Doc, leaves: tuple[Leaf, ...], name: Any, index: int, props: dict[str, Any],
            required: list[str], item: dict[str, Any], sentences: list[str], *, thing: bool = False) -> None:
    """Schema, value and sentence of each leaf of an item (``thing``: it may be called "it")."""
    for leaf in leaves:
        key = doc.key(leaf.words)
        props[key] = _leaf_schema(leaf, doc.rng, doc.titles)
        if leaf.optional and doc.rng.random() > 0.6:
            continue
        if not leaf.optional:
            required.append(key)
        item[key] = doc.value(leaf, index)
        sentences.append(doc.say(leaf, name, item[key], it=thing and doc.rng.random() < _PRONOUN))


def _extra(doc: _Doc, extra: Leaf | Group, name: Any, index: int, props: dict[str, Any], required: list[str],
           item: dict[str, Any], sentences: list[str], *, thing: bool = False) -> None:
    """The level's extra (a string array or a nested object) of an item, like ``_fields``."""
    it = thing and doc.rng.random() < _PRONOUN
    key = doc.key(extra.words)
    required.append(key)
    if isinstance(extra, Leaf):
        props[key] = _leaf_schema(extra, doc.rng, doc.titles)
        item[key] = doc.value(extra, index)
        sentences.append(doc.say(extra, name, item[key], it=it))
        return
    sub_props: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for leaf in extra.leaves:
        sub_props[doc.key(leaf.words)] = _leaf_schema(leaf, doc.rng, doc.titles)
        values[leaf.words] = doc.value(leaf, index)
    decoration = {"description": extra.desc} if extra.desc and doc.rng.random() < 0.7 else {}
    props[key] = doc.obj(sub_props, list(sub_props), **decoration)
    item[key] = {doc.key(w): v for w, v in values.items()}
    shown = {w: _number_text(v) if isinstance(v, (int, float)) else v for w, v in values.items()}
    sentences.append(doc.finish(doc.rng.choice(extra.says), name, it, **shown))


def _items(doc: _Doc, chain: tuple[Level, ...], extras: tuple[bool, ...], count: int,
           ranges: tuple[tuple[int, int], ...], paragraphs: list[list[str]], depth_in_chain: int,
           split_below: int, *, deepest_trim: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The array schema and ``count`` items of ``chain[0]`` (sub-lists sized by ``ranges``); sentences go to
    ``paragraphs`` (a new paragraph per item at chain depth < ``split_below``)."""
    level, rest = chain[0], chain[1:]
    item_props: dict[str, Any] = {}
    item_required: list[str] = []
    items: list[dict[str, Any]] = []
    names: set[Any] = set()
    for index in range(count):
        if depth_in_chain < split_below:
            paragraphs.append([])
        sentences = paragraphs[-1]
        props: dict[str, Any] = {}
        required: list[str] = []
        name = doc.value(level.name, index, distinct=names)
        names.add(name)
        name_key = doc.key(level.name.words)
        props[name_key] = _leaf_schema(level.name, doc.rng, doc.titles)
        required.append(name_key)
        item: dict[str, Any] = {name_key: name}
        sentences.append(doc.say(level.name, name, name))
        said: list[str] = []
        thing = level.it and level.name.gen not in ("person", "seq")
        leaves = level.leaves[:_DEEPEST_LEAVES] if deepest_trim and not rest else level.leaves
        _fields(doc, leaves, name, index, props, required, item, said, thing=thing)
        if extras[0]:
            _extra(doc, level.extra, name, index, props, required, item, said, thing=thing)
        if doc.asides and doc.rng.random() < 0.45:
            said.append(doc.asides.pop())
        doc.rng.shuffle(said)
        sentences.extend(said)
        if rest:
            k = doc.rng.randint(*ranges[0])
            listing = doc.rng.choice(rest[0].listing).format(n=name, k=k)
            sentences.append(listing[:1].upper() + listing[1:])
            child_schema, children = _items(doc, rest, extras[1:], k, ranges[1:], paragraphs, depth_in_chain + 1,
                                            split_below, deepest_trim=deepest_trim)
            key = doc.key(rest[0].words)
            props[key] = child_schema
            required.append(key)
            item[key] = children
        items.append(item)
        item_props, item_required = props, required  # every item builds the same schema
    decoration = {"description": level.desc} if level.desc and doc.rng.random() < 0.8 else {}
    order = list(item_props)
    schema = {**decoration, "type": "array", "minItems": 1,
              "items": doc.obj(item_props, [k for k in order if k in item_required])}
    return schema, items


def _attempt(domain: LongDomain, depth: int, rng: random.Random,
             vocab: dict[str, tuple[str, ...]]) -> tuple[dict[str, Any], dict[str, Any], str, list[str]]:
    levels = {7: 3, 6: 2, 5: 2, 4: 1}[depth]
    start = rng.randrange(0, 3 - levels + 1)
    chain = domain.levels[start:start + levels]
    # depth 7 leaves the extras out (its three levels are deep enough, and the answer must stay short)
    extras = tuple([depth != 7] * (levels - 1) + [depth in (4, 6)])
    doc = _Doc(rng=rng, style=rng.choice(("snake", "snake", "camel")), titles=rng.choice((0.0, 0.3, 0.6)),
               closed=rng.random() < 0.5, base_date=dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(700)),
               used=set(), asides=rng.sample(domain.asides, len(domain.asides)), vocab=vocab)
    ranges = _COUNTS[levels]
    top = rng.randint(*ranges[0])
    props: dict[str, Any] = {}
    required: list[str] = []
    gold: dict[str, Any] = {}
    opening: list[str] = []
    root_name = doc.value(domain.root[0], 0)
    key = doc.key(domain.root[0].words)
    props[key] = _leaf_schema(domain.root[0], rng, doc.titles)
    required.append(key)
    gold[key] = root_name
    opening.append(doc.say(domain.root[0], root_name, root_name))
    said: list[str] = []
    _fields(doc, domain.root[1:], root_name, 0, props, required, gold, said)
    rng.shuffle(said)
    opening += said
    opening.append(doc.asides.pop())
    opening.append(rng.choice(("The {noun} lists {k} {w}.", "This {noun} covers {k} {w}.")).format(
        noun=domain.noun, k=top, w=chain[0].words))
    paragraphs: list[list[str]] = [opening]
    list_schema, items = _items(doc, chain, extras, top, ranges[1:], paragraphs, 0, 2 if levels == 3 else 1,
                                deepest_trim=levels == 3)
    list_key = doc.key(chain[0].words)
    props[list_key] = list_schema
    required.append(list_key)
    gold[list_key] = items
    closing = [rng.choice(domain.closing)] if rng.random() < 0.7 else []
    closing += [doc.asides.pop() for _ in range(min(len(doc.asides), rng.randint(1, 2)))]
    if closing:
        paragraphs.append(closing)
    schema = {"title": domain.title}
    if rng.random() < 0.7:
        schema["description"] = domain.desc
    schema = doc.obj(props, required, **schema)
    text = "\n\n".join(" ".join(p) for p in paragraphs if p)
    return schema, gold, text, [level.words for level in chain]


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_row(index: int, seed: int = 0, domains: str = "eval") -> dict[str, Any]:
    """Row ``index`` of the set for ``seed``: ``{id, input_text, json_schema, gold, meta}``. ``domains="train"``
    draws from the training domains, with its own random stream, ids ``longtrain-...`` and ``meta.domains``
    (eval rows are unchanged: ids ``long-...``, no ``meta.domains``)."""
    kinds, vocab = _domain_set(domains)
    domain = kinds[index % len(kinds)]
    depth = MIN_DEPTH + (index + index // len(kinds)) % (MAX_DEPTH - MIN_DEPTH + 1)
    train = domains == "train"
    rng = random.Random(f"long-docs-train:{seed}:{index}" if train else f"long-docs:{seed}:{index}")
    for _ in range(_ATTEMPTS):
        schema, gold, text, chain = _attempt(domain, depth, rng, vocab)
        if MIN_CHARS <= len(text) <= MAX_CHARS and len(_compact(gold)) <= MAX_GOLD_CHARS:
            break
    else:
        raise RuntimeError(f"long-docs row {index} (seed {seed}): no text of {MIN_CHARS}-{MAX_CHARS} characters")
    errors = [e.message for e in Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(gold)]
    missing = missing_from_text(text, gold)
    if errors or missing or schema_depth(schema) != depth:
        raise AssertionError(f"long-docs row {index}: errors {errors[:3]}, missing {missing[:3]}, "
                             f"depth {schema_depth(schema)} != {depth}")
    marker = {"domains": domains} if train else {}
    return {"id": f"{'longtrain' if train else 'long'}-{seed}-{index:05d}", "input_text": text,
            "json_schema": schema, "gold": gold,
            "meta": {"source": "long_docs", **marker, "domain": domain.name, "complexity": "long_deep",
                     "depth": depth, "levels": chain, "chars": len(text), "gold_chars": len(_compact(gold)),
                     "n_leaves": sum(1 for _ in iter_leaves(gold)), "seed": seed, "index": index}}


def long_doc_rows(n: int, seed: int = 0, domains: str = "eval") -> list[dict[str, Any]]:
    """The first ``n`` rows for ``seed`` from the ``domains`` set ("eval" or "train")."""
    return [make_row(i, seed, domains) for i in range(n)]


@dataclass(frozen=True)
class LongDocSummary:
    """What a written file holds."""

    rows: int
    domains: dict[str, int]
    depths: dict[int, int]
    chars_p50: float
    chars_max: int
    set_name: str = "eval"
    """Which domain set the rows come from ("eval" or "train")."""

    def line(self, out: str | Path) -> str:
        which = "" if self.set_name == "eval" else f" ({self.set_name} domains)"
        return (f"wrote {self.rows} long-document rows{which} to {out}: text characters p50 {self.chars_p50:.0f}, "
                f"max {self.chars_max}; depths {self.depths}; domains {self.domains}")


def write_long_docs(out: str | Path, n: int, seed: int = 0, domains: str = "eval") -> LongDocSummary:
    """Write ``n`` rows of the ``domains`` set ("eval" or "train") as JSONL to ``out``; returns the summary."""
    if n <= 0:
        raise ValueError(f"--n must be a positive integer, got {n}")
    rows = long_doc_rows(n, seed, domains)  # an unknown domain set fails here, before the file is opened
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    chars = [row["meta"]["chars"] for row in rows]
    counts: dict[str, int] = {}
    depths: dict[int, int] = {}
    for row in rows:
        counts[row["meta"]["domain"]] = counts.get(row["meta"]["domain"], 0) + 1
        depths[row["meta"]["depth"]] = depths.get(row["meta"]["depth"], 0) + 1
    return LongDocSummary(len(rows), counts, dict(sorted(depths.items())), statistics.median(chars), max(chars),
                          domains)

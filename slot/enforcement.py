"""What enforces each keyword of a schema: the grammar, post-validation only, or nothing (listed, never silent).

A response must say how far its guarantee goes. Each constraint keyword the schema uses falls in one list:

- ``grammar_keywords``: the grammar enforces it while decoding (a backend's ``enforces`` set, less what its
  compile reported relaxed);
- ``post_checked_keywords``: only the jsonschema post-validation checks it (``valid=false`` when broken), and
  every keyword inside one the grammar leaves out (``const`` inside ``if``, ``enum`` inside ``not``): a keyword the
  grammar enforces at some paths and that also sits inside such a keyword is in both lists;
- ``ignored_keywords``: nothing checks it: keywords the draft's validator does not know (``contentMediaType``,
  a newer draft's keyword under an older ``$schema``, a misspelt or custom keyword) and ``format:NAME`` for
  format names no checker knows.

Pure annotations (``title``, ``description``, ``examples``...) and vendor extensions (``x-...``) carry no
constraint and are left out. ``closed_object_paths`` lists the objects the grammar was compiled closed
(``slot.closed_objects``): there the grammar refuses keys the schema would allow. ``relaxed_keywords`` names the
post-checked keywords the grammar approximates (``oneOf`` compiled as ``anyOf``, ``not`` or ``if``/``then``/``else``
left out...): a request served relaxed (the default) may be decoded again when its output breaks them
(``Structurer``), and a strict request refuses the schema for them (``slot.grammar.cache``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from slot.schema import FORMAT_CHECKER, Schema, subschemas

ANNOTATIONS = frozenset({
    "title", "description", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly",
    "$schema", "$id", "id", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$vocabulary", "$defs", "definitions",
    # common non-standard annotations (editors' hints, SchemaStore's vocabulary)
    "markdownDescription", "markdownEnumDescriptions", "enumDescriptions", "deprecationMessage", "errorMessage",
    "defaultSnippets", "doNotSuggest", "allowTrailingCommas", "allowComments",
})
"""Keywords that constrain nothing (metadata, identifiers, containers of definitions)."""

COMPANIONS = {"then": "if", "else": "if", "minContains": "contains", "maxContains": "contains",
              "exclusiveMinimum": "minimum", "exclusiveMaximum": "maximum"}
"""Keywords a validator checks inside another keyword's check (draft 4's boolean bounds, ``then``/``else``)."""

GRAMMAR_KEYWORDS = frozenset({
    "type", "enum", "const", "multipleOf", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "pattern", "format", "items", "prefixItems", "additionalItems", "minItems", "maxItems",
    "properties", "required", "additionalProperties", "patternProperties", "minProperties", "maxProperties",
    "allOf", "anyOf", "oneOf", "$ref",
})
"""What llguidance's JSON grammar enforces unless its compile says otherwise (``oneOf`` is reported relaxed when
it is compiled as ``anyOf``); other keywords it refuses, reports relaxed, or does not know."""

STRICT_POST_CHECKED = frozenset({"uniqueItems", "contains", "minContains", "maxContains", "propertyNames", "format"})
"""Post-checked keywords a strict request still accepts (never in ``relaxed_keywords``): checks on values the grammar
writes anyway (array items, key names, string formats) that no grammar here holds, served this way before relaxed
serving existed. Every other post-checked keyword is a relaxation (``dependentRequired`` included: it is
``dependencies`` with a list, which was refused)."""


@dataclass(frozen=True)
class Enforcement:
    """Which keywords of a schema the grammar enforces, which only post-validation checks, and which nothing does."""

    grammar_keywords: list[str] = field(default_factory=list)
    post_checked_keywords: list[str] = field(default_factory=list)
    closed_object_paths: list[str] = field(default_factory=list)
    """JSON Pointers (in the schema) of the objects compiled with ``additionalProperties: false``."""
    ignored_keywords: list[str] = field(default_factory=list)
    relaxed_keywords: list[str] = field(default_factory=list)
    """Post-checked keywords the grammar approximates (all but ``STRICT_POST_CHECKED``); empty without a grammar."""

    @property
    def relaxed(self) -> bool:
        """Whether the grammar was relaxed: a strict request refuses the schema."""
        return bool(self.relaxed_keywords)

    def to_dict(self) -> dict[str, list[str]]:
        """The five lists by name (the proto message ``Enforcement`` has the same fields)."""
        return asdict(self)


def enforcement(schema: Schema, *, enforces: Iterable[str] | None = GRAMMAR_KEYWORDS,
                relaxed: Iterable[str] = (), unchecked: Iterable[str] = (),
                closed_paths: Iterable[str] = ()) -> Enforcement:
    """The enforcement of ``schema`` under a grammar that enforces ``enforces`` (None: no grammar) except the
    ``relaxed`` keywords, with ``unchecked`` entries (``format:NAME``) that nothing checks."""
    relaxed = [*relaxed, *schema.relaxed]  # what the pointer-only document left out (slot.local_refs)
    grammar_set = frozenset(enforces or ()) - frozenset(relaxed)
    checked = frozenset(schema.validator_class.VALIDATORS)
    grammar: set[str] = set()
    post: set[str] = set()
    approximated: set[str] = set()  # post-checked where a grammar could act (not additionalItems beside one items)
    ignored: set[str] = set(unchecked)
    for node, inside_post_checked in _nodes(schema.document, grammar_set):
        for keyword in node:
            if keyword in ANNOTATIONS or keyword.startswith("x-"):
                continue
            if keyword == "format" and (f"format:{node[keyword]}" in ignored or not grammar_set and
                                        str(node[keyword]) not in FORMAT_CHECKER.checkers):
                ignored.add(f"format:{node[keyword]}")
                continue  # a format name nothing knows
            if keyword in grammar_set and _grammar_applies(keyword, node) and not inside_post_checked:
                grammar.add(keyword)
            elif keyword in checked or COMPANIONS.get(keyword) in checked:
                post.add(keyword)
                if enforces is not None and _grammar_applies(keyword, node) and not inside_post_checked:
                    approximated.add(keyword)  # (inside a post-checked keyword, that keyword is what is relaxed)
            else:
                ignored.add(keyword)
    reported = {k for k in relaxed if k in checked or COMPANIONS.get(k) in checked} - grammar
    post |= reported
    approximated |= reported
    return Enforcement(grammar_keywords=sorted(grammar), post_checked_keywords=sorted(post),
                       closed_object_paths=list(closed_paths), ignored_keywords=sorted(ignored),
                       relaxed_keywords=sorted(approximated - STRICT_POST_CHECKED))


def _grammar_applies(keyword: str, node: dict[str, Any]) -> bool:
    """Whether the grammar acts on this occurrence: ``additionalItems`` only beside a list of ``items``."""
    return keyword != "additionalItems" or isinstance(node.get("items"), list)


TRANSPARENT = frozenset({"$defs", "definitions", "oneOf"})
"""Keywords whose subschemas the grammar holds as it holds their parent: definitions (reached through ``$ref``) and
``oneOf`` branches (compiled as ``anyOf`` when relaxed: each branch's keywords still bind the branch decoded)."""


def _nodes(document: Any, grammar_set: frozenset[str]) -> Iterable[tuple[dict[str, Any], bool]]:
    """Every schema object of a document (subschemas of every keyword that holds them), without recursion, each with
    whether it lies inside a keyword the grammar does not enforce (``not``, ``if``/``then``/``else``,
    ``dependentSchemas``, ``contains``...): keywords there are checked after decoding only, whatever they are."""
    stack: list[tuple[Any, bool]] = [(document, False)]
    while stack:
        node, inside = stack.pop()
        if not isinstance(node, dict):
            continue
        yield node, inside
        for sub, path in subschemas(node):
            keyword = path.split("/", 2)[1]
            stack.append((sub, inside or not (keyword in grammar_set or keyword in TRANSPARENT)))

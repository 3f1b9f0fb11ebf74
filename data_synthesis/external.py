"""External (user) schemas: loading a folder of .json files or a JSONL, and turning any schema into
a plan whose value generators are guessed from key names, types and formats.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from data_synthesis.domains import humanize
from data_synthesis.filters import check_schema
from data_synthesis.plan import Node


class ConfigError(ValueError):
    """A bad configuration or input file; the CLI prints it as one line and exits with code 2."""


def load_schemas(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """(name, schema) pairs from a folder of *.json files (sorted by name) or a JSONL file.

    A JSONL line may be a schema or an object with a "json_schema" / "schema" member."""
    p = Path(path)
    out: list[tuple[str, dict[str, Any]]] = []
    if p.is_dir():
        files = sorted(p.glob("*.json"))
        if not files:
            raise ConfigError(f"no .json schema files in folder {p}")
        for f in files:
            try:
                schema = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
                raise ConfigError(f"bad schema file {f}: {e}") from None
            out.append((f.stem, _checked(schema, str(f))))
    elif p.is_file():
        try:
            lines = p.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read schemas file {p}: {e}") from None
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ConfigError(f"bad JSON in {p} line {i}: {e}") from None
            if isinstance(obj, dict) and isinstance(obj.get("json_schema", obj.get("schema")), dict):
                obj = obj.get("json_schema", obj.get("schema"))
            out.append((f"{p.stem}:{i}", _checked(obj, f"{p} line {i}")))
        if not out:
            raise ConfigError(f"no schemas in {p}")
    else:
        raise ConfigError(f"schemas path does not exist: {p}")
    return out


def _checked(schema: Any, where: str) -> dict[str, Any]:
    problem = check_schema(schema)
    if problem is None and schema.get("type", "object") != "object" and "properties" not in schema:
        problem = "the top level must be an object schema"
    if problem:
        raise ConfigError(f"bad schema in {where}: {problem}")
    return schema


# ---------------------------------------------------------------- schema -> plan

_NAME_GENS = (
    (r"e ?mail", "email"), (r"\b(url|website|homepage|link|uri)\b", "url"), (r"phone|mobile|\btel\b", "phone"),
    (r"first name|given name|forename", "first"), (r"last name|surname|family name", "last"),
    (r"company|organi[sz]ation|employer|vendor|brand|merchant|publisher|label\b", "company"),
    (r"\bcity\b|\btown\b", "city"), (r"country|nation", "country"), (r"\bstate\b|province|region", "state"),
    (r"street|address", "street"), (r"zip|postal|postcode", "zip"), (r"job|position|occupation|role", "job"),
    (r"colou?r", "color"), (r"\bip\b", "ipv4"), (r"uuid|guid", "uuid"), (r"iban", "iban"),
    (r"description|notes?|comment|summary|remarks?|message|reason", "sentence"),
    (r"\b(id|code|number|ref|reference|sku|key)\b", "code:??-######"),
    (r"name|author|owner|customer|patient|person|contact|manager|user|guest|driver|director", "person"),
)
_INT_GENS = ((r"\bage\b", "int:18:90"), (r"year", "year"), (r"rating|stars|score", "int:1:5"),
             (r"percent|pct|humidity", "int:0:100"), (r"quantity|qty|count|number|num|total", "int:1:50"))
_NUM_GENS = ((r"price|cost|amount|total|fee|salary|budget|revenue", "money:5:5000"),
             (r"lat", "num:-60:70:4"), (r"lon|lng", "num:-170:170:4"), (r"rating|score", "num:1:5:1"),
             (r"percent|rate", "num:0:100:1"))


def _resolve(schema: dict[str, Any], root: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and depth < 20:
        target: Any = root
        for tok in ref[2:].split("/"):
            target = target.get(tok.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _resolve(merged, root, depth + 1)
    return schema


def _strip_null(schema: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(the non-null part of a schema, whether null is allowed)."""
    s = _resolve(schema, root)
    for comb in ("anyOf", "oneOf"):
        if isinstance(s.get(comb), list):
            branches = [_resolve(b, root) for b in s[comb] if isinstance(b, dict)]
            non_null = [b for b in branches if b.get("type") != "null"]
            if non_null:
                rest = {k: v for k, v in s.items() if k != comb}
                return {**non_null[0], **rest}, len(non_null) < len(branches)
    t = s.get("type")
    if isinstance(t, list):
        types = [x for x in t if x != "null"]
        return {**s, "type": types[0] if types else "string"}, "null" in t
    return s, False


def _guess(words: str, s: dict[str, Any]) -> str:
    if "enum" in s and s["enum"]:
        vals = [v for v in s["enum"] if isinstance(v, str) and "|" not in v]
        if vals:
            return "enum:" + "|".join(vals)
    t = s.get("type", "string")
    fmt = s.get("format")
    if t == "boolean":
        return "bool"
    if t == "integer":
        lo, hi = s.get("minimum"), s.get("maximum")
        if lo is not None or hi is not None:
            lo = int(lo) if lo is not None else 0
            return f"int:{lo}:{int(hi) if hi is not None else lo + 100}"
        return next((g for pat, g in _INT_GENS if re.search(pat, words)), "int:1:500")
    if t == "number":
        if s.get("minimum") is not None and s.get("maximum") is not None:
            return f"num:{s['minimum']}:{s['maximum']}:2"
        return next((g for pat, g in _NUM_GENS if re.search(pat, words)), "num:0:1000:2")
    if fmt in ("date", "date-time", "email", "uri"):
        return {"date": "date:recent", "date-time": "datetime", "email": "email", "uri": "url"}[fmt]
    if re.search(r"date|birthday|\bdob\b", words):
        return "date:recent"
    return next((g for pat, g in _NAME_GENS if re.search(pat, words)), "word")


def plan_from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None, key: str = "",
                     depth: int = 0) -> Node:
    """A plan for an arbitrary object schema (local $refs inlined, anyOf/oneOf -> first non-null)."""
    root = root or schema
    s, nullable = _strip_null(schema, root)
    words = humanize(key) if key else str(s.get("title") or "record").lower()
    t = s.get("type") or ("object" if "properties" in s else "array" if "items" in s else "string")
    if t == "object" and depth < 8:
        req = set(s.get("required", []))
        children = []
        for k, sub in (s.get("properties") or {}).items():
            if isinstance(sub, dict):
                c = plan_from_schema(sub, root, k, depth + 1)
                c.required = k in req
                c.present_prob = 0.7
                children.append(c)
        return Node(key=key, words=words, kind="object", children=children, nullable=nullable,
                    desc=str(s.get("description", "")))
    if t == "array" and isinstance(s.get("items"), dict):
        item = plan_from_schema(s["items"], root, key.rstrip("s") or "item", depth + 1)
        item.key = ""
        lo = int(s.get("minItems", 1) or 1)
        return Node(key=key, words=words, kind="array", item=item, nullable=nullable, min_items=lo,
                    max_items=max(lo, min(int(s.get("maxItems", 3)), lo + 2)))
    if "const" in s:
        gen = "enum:" + str(s["const"]) if isinstance(s["const"], str) else "word"
    else:
        gen = _guess(words, s)
    return Node(key=key, words=words, kind="leaf", gen=gen, nullable=nullable, leaf_schema=dict(s),
                desc=str(s.get("description", "")))

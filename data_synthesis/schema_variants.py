"""Schema variants of a training row: the same text and values under the schema shapes callers write.

Why: the E2E rows always come with one shape (every key a required string), and the synthetic rows leave
nullable and optional keys empty about a third of the time. A model trained on them learns "nullable means
null" and "a key the E2E file lacks does not exist": on the README's sample (``near`` typed string-or-null,
"near Café Rouge" in the text) a trial adapter answered ``"near": null``. Varying the schema while keeping
what the text says teaches that the text decides, not the schema's shape:

- a key the text fills becomes nullable (``["string", "null"]``) or optional, and the gold keeps its value;
- a flat venue row gains keys its text never states, nullable (gold ``null``) or optional (gold omits them),
  so null stays the answer exactly when the text is silent;
- yes/no flags become booleans, a few string keys enums that hold the gold value among others, and some keys
  get a short description.

Only object schemas whose properties are plain ``{"type": "string"}`` leaves are reshaped key by key; nested
synthetic schemas get the nullable/optional treatment at their top level only, where the gold shows which
keys the text fills.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping
from typing import Any

__all__ = ["VENUE_KEYS", "vary_row"]

VENUE_KEYS: dict[str, str] = {
    "name": "name of the venue", "eatType": "kind of venue", "food": "kind of food served",
    "priceRange": "price range", "customer rating": "rating given by customers", "area": "part of town",
    "familyFriendly": "whether children are welcome", "near": "a landmark the venue is close to",
}
"""E2E's keys with a short description each (the description is added to some variants)."""

_CUES: dict[str, tuple[str, ...]] = {
    "name": ("",),
    "eatType": ("restaurant", "pub", "coffee", "café", "cafe", "bar", "shop", "bistro", "diner", "place", "venue"),
    "food": ("food", "serve", "cuisine", "dish", "meal"),
    "priceRange": ("price", "£", "cheap", "expensive", "cost", "afford"),
    "customer rating": ("rat", "star", "review", "score"),
    "area": ("centre", "center", "riverside", "river", "area", "town", "located", "city"),
    "familyFriendly": ("famil", "child", "kid"),
    "near": ("near", "close", "next to", "by the", "beside"),
}
"""Words that may state a venue key even where E2E's meaning representation lacks it: such a key is not added as
an unstated one (E2E texts sometimes say "restaurant" with no eatType in the MR)."""
_FLAGS = {"yes": True, "no": False}
_ENUM_FILLERS = {
    "area": ("city centre", "riverside", "harbour", "old town", "university quarter"),
    "eatType": ("pub", "restaurant", "coffee shop", "bistro", "food truck"),
    "priceRange": ("cheap", "moderate", "high", "less than £20", "£20-25", "more than £30"),
    "customer rating": ("low", "average", "high", "1 out of 5", "3 out of 5", "5 out of 5"),
}


def _is_plain_string(node: Any) -> bool:
    return isinstance(node, dict) and node.get("type") == "string" and set(node) <= {"type", "description"}


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    out = dict(node)
    kind = out.get("type")
    if isinstance(kind, str) and kind != "null":
        out["type"] = [kind, "null"]
    return out


def vary_row(row: Mapping[str, Any], rng: random.Random, *, fill_share: float = 0.5, extra_keys: float = 0.6,
             reshape: float = 0.3) -> dict[str, Any] | None:
    """A copy of ``row`` under a varied schema with the gold adjusted, or None when its schema has no top-level
    ``properties`` to vary. ``fill_share``: chance that each key the gold fills turns nullable or optional;
    ``extra_keys``: chance that a flat venue row gains one or two keys its text does not state; ``reshape``: chance
    that each plain string key becomes a boolean flag, an enum or gets a description."""
    schema = copy.deepcopy(row.get("json_schema"))
    gold = copy.deepcopy(row.get("gold"))
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict) or not isinstance(gold, dict):
        return None
    props: dict[str, Any] = schema["properties"]
    required = [k for k in schema.get("required", []) if k in props]
    venue = set(props) <= set(VENUE_KEYS) and all(_is_plain_string(p) for p in props.values())
    for key in list(props):
        value = gold.get(key)
        if key not in gold or value is None:
            continue
        if venue and rng.random() < reshape:
            props[key], gold[key] = _reshape(key, props[key], value, rng)
        if rng.random() < fill_share:
            if rng.random() < 0.5 and key in required:
                required.remove(key)
            elif isinstance(props[key], dict) and "type" in props[key]:
                props[key] = _nullable(props[key])
    if venue and rng.random() < extra_keys:
        text = str(row.get("input_text", "")).casefold()
        absent = [k for k in VENUE_KEYS if k not in props and not any(cue in text for cue in _CUES[k])]
        for key in rng.sample(absent, min(len(absent), rng.choice((1, 1, 2)))):
            node: dict[str, Any] = {"type": "boolean" if key == "familyFriendly" else "string"}
            if rng.random() < reshape:
                node["description"] = VENUE_KEYS[key]
            position = rng.randrange(len(props) + 1)
            items = list(props.items())
            items.insert(position, (key, node))
            props.clear()
            props.update(items)
            if rng.random() < 0.5:
                props[key] = _nullable(node)
                required.append(key)
                gold[key] = None
    schema["required"] = [k for k in props if k in required]
    if not schema["required"]:
        del schema["required"]
    ordered = {k: gold[k] for k in props if k in gold}
    meta = dict(row.get("meta") or {})
    meta["schema_variant"] = True
    return {**dict(row), "id": f"{row.get('id', 'row')}-sv", "json_schema": schema, "gold": ordered, "meta": meta}


def _reshape(key: str, node: dict[str, Any], value: Any, rng: random.Random) -> tuple[dict[str, Any], Any]:
    """A boolean for a yes/no flag, an enum holding the value among E2E-like others, or a description."""
    if isinstance(value, str) and value.casefold() in _FLAGS and key == "familyFriendly":
        return {"type": "boolean"}, _FLAGS[value.casefold()]
    fillers = _ENUM_FILLERS.get(key)
    if fillers and isinstance(value, str) and rng.random() < 0.6:
        others = [f for f in fillers if f.casefold() != value.casefold()]
        choices = rng.sample(others, min(len(others), rng.randint(2, 4))) + [value]
        rng.shuffle(choices)
        return {"type": "string", "enum": choices}, value
    return {**node, "description": VENUE_KEYS.get(key, key)}, value

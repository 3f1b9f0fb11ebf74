"""Follow rate: the share of counterfactually swapped values that a system's outputs reproduce.

Rows built by ``data_synthesis.counterfactual`` carry ``meta.swapped``, a list of ``{path, old, new,
kind}``: the text states ``new`` where the original said ``old``. A faithful system writes ``new``; one
that learnt its training data's values writes ``old`` or something else. Reported overall, per key
(the JSON Pointer with list indices as ``*``) and per value kind, with a few misses per key.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from slot.leaves import field_path, split_pointer

__all__ = ["same_value", "swap_key", "follow_rate", "has_swaps"]


def _norm(value: Any) -> Any:
    return " ".join(value.casefold().split()) if isinstance(value, str) else value


def same_value(predicted: Any, expected: Any) -> bool:
    """One value followed: strings equal up to case and spacing, other values by JSON equality."""
    if isinstance(predicted, bool) != isinstance(expected, bool):
        return False
    return _norm(predicted) == _norm(expected)


def swap_key(pointer: str) -> str:
    """The key a swap is reported under: its path with list indices replaced by ``*``."""
    return field_path(pointer) or "/"


def has_swaps(rows: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any row records swapped values (a counterfactual set)."""
    return any((row.get("meta") or {}).get("swapped") for row in rows if isinstance(row.get("meta"), dict))


def _at(doc: Any, pointer: str) -> tuple[bool, Any]:
    node = doc
    for token in split_pointer(pointer):
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            return False, None
    return True, node


def follow_rate(rows: Iterable[Mapping[str, Any]], outputs: Mapping[str, str]) -> dict[str, Any]:
    """Share of swapped values reproduced: ``{rate, n, by_key, by_kind, misses}``.

    A row without an output, or whose output is not JSON, misses every one of its swapped values.
    """
    hits: dict[str, Counter[str]] = defaultdict(Counter)
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    misses: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        meta = row.get("meta") if isinstance(row.get("meta"), dict) else {}
        swaps = meta.get("swapped") or []
        try:
            predicted = json.loads(outputs.get(str(row["id"]), ""))
        except (json.JSONDecodeError, TypeError, RecursionError):
            predicted = None
        for swap in swaps:
            found, value = _at(predicted, swap["path"]) if predicted is not None else (False, None)
            ok = found and same_value(value, swap["new"])
            key = swap_key(swap["path"])
            for group, name in (("all", "all"), ("key", key), ("kind", str(swap.get("kind", "?")))):
                totals[group][name] += 1
                hits[group][name] += int(ok)
            if not ok and len(misses[key]) < 3:
                misses[key].append({"id": str(row["id"]), "expected": swap["new"], "old": swap["old"],
                                    "got": value if found else None})

    def rates(group: str) -> dict[str, dict[str, float | int]]:
        return {name: {"rate": hits[group][name] / n, "n": n} for name, n in sorted(totals[group].items())}

    n_all = totals["all"]["all"]
    return {"rate": hits["all"]["all"] / n_all if n_all else 0.0, "n": n_all, "by_key": rates("key"),
            "by_kind": rates("kind"), "misses": dict(misses)}

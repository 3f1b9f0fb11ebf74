"""Counterfactual (value-swap) rows: the same text and schema with the stated values replaced.

Why: a model trained on a file with a narrow value distribution (the E2E dev file: one eatType, two
foods) learns the values instead of reading them. Swapping every value that the text states, in the
text and the gold alike, for a value never seen with that key makes the text the only source of the
answer. The same code builds training augmentation and the evaluation that measures copying, from two
disjoint vocabularies: ``pool="train"`` and ``pool="eval"`` never share a value, so an evaluation row's
values are never trained on.

Only string leaves the text writes verbatim (whole words, case-insensitive) and integers it writes as
digits are swapped; enums, consts, patterns and formats are left alone (the schema fixes them), and so
are values the text paraphrases (E2E's "5 out of 5"). Each swapped leaf is recorded in
``meta.swapped`` as ``{path, old, new, kind}``; :func:`slot.eval.follow.follow_rate` scores outputs
against them. With ``open_share`` the train pool also builds venue kinds, cuisines and areas from common
and invented words (never containing an eval-pool value), so no closed list stands in for reading.
"""

from __future__ import annotations

import json
from pathlib import Path
import random
import re
from collections.abc import Mapping
from typing import Any

from data_synthesis.held_out import CURATED, eval_pool_values
from data_synthesis.open_vocab import common_words, invented_word, pool_of
from slot.grounding.schema_paths import subschemas_at
from slot.leaves import iter_leaves, set_at, split_pointer

__all__ = ["POOLS", "KINDS", "kind_of", "eval_pool_values", "Swapper", "swap_row", "write_counterfactuals"]

POOLS = ("train", "eval")
"""The two disjoint vocabularies: training augmentation and measurement."""

# Closed vocabularies (E2E's normalised ratings and price ranges): a value is swapped for another of
# its own group, in both pools alike, since the set has no unseen members. Reported as their own kinds.
_CLOSED: dict[str, tuple[tuple[str, ...], ...]] = {
    "rating": (("low", "average", "high"), ("1 out of 5", "3 out of 5", "5 out of 5")),
    "price": (("cheap", "moderate", "high"), ("less than £20", "£20-25", "more than £30")),
}

_KEY_KINDS: dict[str, str] = {
    "customerrating": "rating", "rating": "rating", "pricerange": "price",
    "eattype": "venue_kind", "venuetype": "venue_kind", "food": "cuisine", "cuisine": "cuisine",
    "area": "area", "neighbourhood": "area", "neighborhood": "area", "district": "area",
    "name": "name", "near": "landmark", "landmark": "landmark",
}

KINDS = ("venue_kind", "cuisine", "area", "name", "landmark", "rating", "price", "email", "number", "proper",
         "word")
"""Value kinds the follow rate is reported by."""

_FLAGS = frozenset({"yes", "no", "true", "false", "y", "n", "none", "n/a"})
"""Strings that stand for booleans or absence: never swapped (the text implies them, not states them)."""

_ADJ = ("Copper", "Silver", "Crooked", "Velvet", "Amber", "Hidden", "Jolly", "Rusty", "Painted", "Golden",
        "Blue", "Wandering", "Little", "Salty", "Lucky", "Quiet", "Red", "Iron", "Wild", "Green", "Brass")
_NOUN = ("Kettle", "Lantern", "Anchor", "Fox", "Heron", "Barrel", "Spoon", "Compass", "Otter", "Mill", "Oak",
         "Pelican", "Thistle", "Ladle", "Badger", "Harp", "Crown", "Wheel", "Falcon", "Pear", "Bell")
_PLACES = ("Hall", "Hotel", "Market", "Bridge", "Gallery", "Museum", "Station", "Park", "Theatre", "Tower",
           "Library", "Cinema", "Square", "Chapel", "Arms")


_KIND_HEADS = ("bar", "house", "kitchen", "shop", "room", "hall", "lounge", "stand", "parlour", "cellar",
               "joint", "counter", "garden", "club", "tavern", "canteen", "diner", "cafe")
_AREA_HEADS = ("quarter", "side", "district", "end", "green", "park", "gate", "row", "heights", "fields",
               "point", "bay", "hill", "cross", "square", "corner", "wharf", "common", "area", "village")
_CUISINE_ENDS = ("ian", "ese", "ish", "i", "an", "ic")


def _open_value(kind: str, rng: random.Random, words: tuple[str, ...]) -> str:
    """A value of a curated kind outside its curated list: real words and invented ones in the kind's shape,
    so training sees values no list could enumerate (the model must copy, not pick from a vocabulary)."""
    word = rng.choice(words) if rng.random() < 0.7 else invented_word(rng)
    if kind == "venue_kind":
        return rng.choice((f"{word} {rng.choice(_KIND_HEADS)}",) * 3 + (word, f"{rng.choice(words)} {word}"))
    if kind == "area":
        return rng.choice((f"{word} {rng.choice(_AREA_HEADS)}",) * 3 + (word, f"{rng.choice(words)} {word}"))
    stem = invented_word(rng).rstrip("aeiou") or "zan"
    return rng.choice((f"{stem.capitalize()}{rng.choice(_CUISINE_ENDS)}", word.capitalize()))


def _invent(kind: str, old: str, rng: random.Random) -> str:
    """One fresh value of ``kind`` shaped like ``old`` (word count, capitals)."""
    word = invented_word(rng)
    if kind == "name":
        forms = (f"The {rng.choice(_ADJ)} {rng.choice(_NOUN)}", word.capitalize(), f"{word.capitalize()} House",
                 f"{word.capitalize()}'s", f"The {word.capitalize()}", f"Casa {word.capitalize()}")
        return rng.choice(forms)
    if kind == "landmark":
        forms = (f"The {word.capitalize()} {rng.choice(_PLACES)}", f"{word.capitalize()} {rng.choice(_PLACES)}",
                 f"The {rng.choice(_ADJ)} {rng.choice(_NOUN)}", f"{word.capitalize()} Café")
        return rng.choice(forms)
    if kind == "email":
        return f"{word}.{invented_word(rng)}@{invented_word(rng)}.{rng.choice(('com', 'org', 'net', 'io'))}"
    words = [invented_word(rng) for _ in range(max(1, len(old.split())))]
    if kind == "proper" or old[:1].isupper():
        words = [w.capitalize() for w in words]
    return " ".join(words)


def _number_like(old: int, rng: random.Random, bounds: tuple[float, float]) -> int:
    """An integer with as many digits as ``old``, inside the schema's ``bounds`` when it has them."""
    digits = len(str(abs(old)))
    low = 0 if digits == 1 else 10 ** (digits - 1)
    value = rng.randint(low, 10 ** digits - 1) * (-1 if old < 0 else 1)
    if not bounds[0] <= value <= bounds[1]:
        span = 10 * max(1, abs(old))
        low, high = max(bounds[0], 0 if old >= 0 else old - span), min(bounds[1], old + span)
        value = rng.randint(int(low), int(high)) if low <= high else old
    return value


def kind_of(pointer: str, value: Any) -> str | None:
    """The kind of a leaf by its key and value, or None when it is not swapped."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return "number"
    if not isinstance(value, str) or not value.strip() or value.strip().casefold() in _FLAGS:
        return None
    tokens = split_pointer(pointer)
    key = re.sub(r"[^a-z]", "", tokens[-1].lower()) if tokens else ""
    if key in _KEY_KINDS:
        kind = _KEY_KINDS[key]
        if kind in _CLOSED and not any(value in group for group in _CLOSED[kind]):
            return None
        return kind
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", value):
        return "email"
    if not re.search(r"[A-Za-z]", value) or re.search(r"\d", value) or len(value.split()) > 4:
        return None  # codes, dates, phone numbers and sentences keep their value
    return "proper" if value[:1].isupper() else "word"


def _schema_fixes(schema: Mapping[str, Any] | None, pointer: str) -> bool:
    """Whether the schema pins the leaf's value (enum, const, pattern or format)."""
    for sub in subschemas_at(dict(schema) if schema else None, pointer):
        if any(k in sub for k in ("enum", "const", "pattern", "format")):
            return True
    return False


def _bounds(schema: Mapping[str, Any] | None, pointer: str) -> tuple[float, float]:
    """The inclusive integer range the schema allows at ``pointer`` (infinite where it sets none)."""
    low, high = float("-inf"), float("inf")
    for sub in subschemas_at(dict(schema) if schema else None, pointer):
        for key, value in sub.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if key == "minimum":
                low = max(low, value)
            elif key == "exclusiveMinimum":
                low = max(low, value + 1)
            elif key == "maximum":
                high = min(high, value)
            elif key == "exclusiveMaximum":
                high = min(high, value - 1)
    return low, high


def _occurs(text: str, value: str) -> re.Pattern[str] | None:
    pattern = re.compile(r"(?<![\w@.])" + re.escape(value) + r"(?![\w@])", re.IGNORECASE)
    return pattern if pattern.search(text) else None


class Swapper:
    """Draws replacement values from one pool, never reusing a value within a row."""

    def __init__(self, pool: str, seed: int = 0, open_share: float = 0.0) -> None:
        """``open_share``: the share of venue kinds, cuisines and areas drawn outside the curated lists
        (built from common words and invented ones; training pool only, never an eval-pool value)."""
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        if open_share and pool != "train":
            raise ValueError("open values are for the train pool only (the eval pool stays curated)")
        self.pool = pool
        self.open_share = open_share
        self.rng = random.Random(f"{pool}:{seed}")
        self._words = common_words() if open_share else ()
        self._eval_values = tuple(eval_pool_values())

    def draw(self, kind: str, old: Any, taken: set[str], text: str,
             bounds: tuple[float, float] = (float("-inf"), float("inf"))) -> Any:
        """A new value of ``kind`` from this pool, not in ``taken`` and not already in ``text``
        (numbers inside ``bounds``)."""
        for _ in range(200):
            if kind == "number":
                new: Any = _number_like(int(old), self.rng, bounds)
                if new != old and not re.search(rf"(?<!\d){new}(?!\d)", text):
                    return new
                continue
            if kind in _CLOSED:
                group = next(g for g in _CLOSED[kind] if old in g)
                new = self.rng.choice([v for v in group if v != old])
                if new.casefold() not in taken:
                    return new
                continue
            if kind in CURATED and self.open_share and self.rng.random() < self.open_share:
                new = _open_value(kind, self.rng, self._words)
                if pool_of(new) != self.pool or any(v in new.casefold() for v in self._eval_values):
                    continue
            elif kind in CURATED:
                new = self.rng.choice(CURATED[kind][self.pool])
            else:
                new = _invent(kind, str(old), self.rng)
                if pool_of(new) != self.pool:
                    continue
            if new.casefold() != str(old).casefold() and new.casefold() not in taken \
                    and new.casefold() not in text.casefold():
                return new
        raise RuntimeError(f"no fresh {kind} value left in pool {self.pool!r}")


def swap_row(row: Mapping[str, Any], swapper: Swapper, *, suffix: str = "cf") -> dict[str, Any] | None:
    """A counterfactual copy of ``row`` (new id ``<id>-<suffix>``), or None when no value can be swapped.

    Every occurrence of a swapped value in the text is replaced in one pass (longest values first, so a
    value inside another is not replaced twice); the same old value at several paths gets one new value.
    """
    text = str(row["input_text"])
    gold = json.loads(json.dumps(row["gold"]))
    schema = row.get("json_schema") if isinstance(row.get("json_schema"), dict) else None
    chosen: dict[str, tuple[Any, str]] = {}  # old value's text (casefolded) -> (new value, kind)
    swaps: list[dict[str, Any]] = []
    taken = {str(v).casefold() for _, v in iter_leaves(gold)}
    for pointer, value in iter_leaves(gold):
        kind = kind_of(pointer, value)
        if kind is None or _schema_fixes(schema, pointer):
            continue
        needle = str(value)
        if kind == "number":
            if not re.search(rf"(?<![\d.,]){re.escape(needle)}(?![\d]|[.,]\d)", text):
                continue
        elif _occurs(text, needle) is None:
            continue
        key = needle.casefold()
        if key in chosen and chosen[key][1] != kind:
            continue  # one text span cannot carry two kinds' new values
        if key not in chosen:
            try:
                new = swapper.draw(kind, value, taken, text, _bounds(schema, pointer))
            except RuntimeError:
                continue  # e.g. a number whose bounds leave no other value
            taken.add(str(new).casefold())
            chosen[key] = (new, kind)
        new, kind = chosen[key]
        set_at(gold, pointer, new)
        swaps.append({"path": pointer, "old": value, "new": new, "kind": kind})
    if not swaps:
        return None
    olds = sorted(chosen, key=len, reverse=True)
    alternation = "|".join(re.escape(o) for o in olds)
    pattern = re.compile(rf"(?<![\w@.]){'(?:' + alternation + ')'}(?![\w@])", re.IGNORECASE)
    new_text = pattern.sub(lambda m: str(chosen[m.group(0).casefold()][0]), text)
    meta = dict(row.get("meta") or {}) if isinstance(row.get("meta"), dict) else {}
    meta.update({"counterfactual_of": str(row["id"]), "pool": swapper.pool, "swapped": swaps})
    out = {k: v for k, v in row.items() if k not in ("id", "input_text", "gold", "meta")}
    return {"id": f"{row['id']}-{suffix}", "input_text": new_text, **out, "gold": gold, "meta": meta}


def write_counterfactuals(src: str | Path, dst: str | Path, *, pool: str, seed: int = 0, copies: int = 1,
                          limit: int = 0) -> tuple[int, int]:
    """Write ``copies`` swapped versions of every row of ``src`` to ``dst``; returns (written, unswappable).

    A row that is not JSON or lacks ``id``/``input_text``/``gold`` raises ``ConfigError`` naming its line.
    """
    from data_synthesis.external import ConfigError

    swapper = Swapper(pool, seed)
    written = unswappable = 0
    with open(src, encoding="utf-8") as fin, open(dst, "w", encoding="utf-8") as fout:
        for number, line in enumerate(fin, 1):
            if not line.strip():
                continue
            if limit and number > limit:
                break
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{src}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or not {"id", "input_text", "gold"} <= row.keys():
                raise ConfigError(f"{src}:{number}: a row needs id, input_text and gold")
            if isinstance(row.get("json_schema"), str):
                row["json_schema"] = json.loads(row["json_schema"])
            made = [swap_row(row, swapper, suffix=f"cf{i}" if copies > 1 else "cf") for i in range(copies)]
            if made[0] is None:
                unswappable += 1
                continue
            for item in made:
                fout.write(json.dumps(item, ensure_ascii=False) + "\n")
                written += 1
    return written, unswappable

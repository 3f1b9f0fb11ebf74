"""Quality filters: schema validity, groundedness of every gold leaf, length bounds, and exact /
near-duplicate removal (MinHash-LSH, order-independent so that sharded runs merge exactly).

Groundedness uses SLOT's own `slot.grounding.ground` when it is importable (the same normaliser the
service uses at inference), else a simple normalised-substring fallback kept here.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from data_synthesis.plan import iter_leaves
from data_synthesis.renderers.values import MONTHS, NUMBER_WORDS

# ---------------------------------------------------------------- schema validity


@lru_cache(maxsize=4096)
def _validator_for(canonical_schema: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(canonical_schema), format_checker=Draft202012Validator.FORMAT_CHECKER)


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def schema_errors(instance: Any, schema: dict[str, Any], canonical: str | None = None) -> list[str]:
    """Validation error messages (Draft 2020-12, formats checked); validators are cached per schema."""
    v = _validator_for(canonical or canonical_json(schema))
    return [e.message for e in v.iter_errors(instance)]


def check_schema(schema: Any) -> str | None:
    """None when `schema` is a valid Draft 2020-12 schema, else a one-line reason."""
    from jsonschema import Draft202012Validator, SchemaError

    if not isinstance(schema, dict):
        return "a schema must be a JSON object"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as e:
        return f"invalid JSON Schema: {e.message}"
    return None


# ---------------------------------------------------------------- groundedness


def normalise(text: str) -> str:
    """NFKC, casefold, unify quotes/dashes, treat _ and - as spaces, collapse whitespace."""
    t = unicodedata.normalize("NFKC", text).casefold()
    t = t.translate(_TRANS)
    return " ".join(t.split())


_TRANS = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": " ", "—": " ", "_": " ", "-": " ",
                        "*": " ", "`": " "})
_NUM = re.compile(r"(?<![\w.])(-?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s?(k|thousand|million|m|bn|billion)(?![a-z]))?")
_MONTH_RE = "|".join(m.lower() for m in MONTHS) + "|" + "|".join(m[:3].lower() for m in MONTHS)
_MONTH_NUM = {m.lower(): i + 1 for i, m in enumerate(MONTHS)} | {m[:3].lower(): i + 1 for i, m in enumerate(MONTHS)}
_ISO = re.compile(r"(\d{4})[-/. ](\d{1,2})[-/. ](\d{1,2})")
_MDY = re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})")
_DMY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})\.?,?\s+(\d{{4}})")
_NUMERIC_DMY = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})")
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})(?::\d{2})?\s*(am|pm)?")
_MULT = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}
_TRUE = re.compile(r"\b(yes|true|y)\b")
_FALSE = re.compile(r"\b(no|false|n|not)\b")
_ISO_DATE_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DT_VALUE = re.compile(r"^(\d{4}-\d{2}-\d{2})[tT ](\d{2}):(\d{2})")


class _TextFacts:
    """Everything the fallback grounder derives from one text, built once."""

    def __init__(self, text: str) -> None:
        # Keep "-" and "/" in a separate copy for dates/numbers; the plain normal form drops them.
        self.norm = normalise(text)
        low = unicodedata.normalize("NFKC", text).casefold().replace("−", "-")
        self.numbers: set[float] = set()
        for m in _NUM.finditer(low):
            base = float(m.group(1) + m.group(2).replace(",", "") + (m.group(3) or ""))
            self.numbers.add(round(base, 6))
            if m.group(4):
                self.numbers.add(round(base * _MULT[m.group(4)], 6))
        words = set(re.findall(r"[a-z]+", low))
        self.numbers.update(float(i) for i, w in enumerate(NUMBER_WORDS) if w in words)
        self.dates: set[str] = set()
        for y, mo, d in _ISO.findall(low):
            self._add_date(int(y), int(mo), int(d))
        for mon, d, y in _MDY.findall(low):
            self._add_date(int(y), _MONTH_NUM[mon], int(d))
        for d, mon, y in _DMY.findall(low):
            self._add_date(int(y), _MONTH_NUM[mon], int(d))
        for a, b, y in _NUMERIC_DMY.findall(low):
            self._add_date(int(y), int(b), int(a))
            self._add_date(int(y), int(a), int(b))
        self.times: set[str] = set()
        for h, mi, ap in _TIME.findall(low):
            hh = int(h) % 12 + (12 if ap == "pm" else 0) if ap else int(h)
            self.times.add(f"{hh:02d}:{mi}")

    def _add_date(self, y: int, m: int, d: int) -> None:
        if 1 <= m <= 12 and 1 <= d <= 31:
            self.dates.add(f"{y:04d}-{m:02d}-{d:02d}")

    def has(self, value: Any) -> bool:
        if isinstance(value, bool):
            return bool((_TRUE if value else _FALSE).search(self.norm))
        if isinstance(value, (int, float)):
            return round(float(value), 6) in self.numbers
        if isinstance(value, str):
            nv = normalise(value)
            if not nv or nv in self.norm:
                return True
            if _ISO_DATE_VALUE.match(value):
                return value in self.dates
            m = _ISO_DT_VALUE.match(value)
            if m:
                return m.group(1) in self.dates and f"{m.group(2)}:{m.group(3)}" in self.times
            return False
        return True  # null: carries no claim about the text


def simple_ungrounded(gold: Any, text: str) -> list[str]:
    """Fallback grounder: paths of gold leaves not found in the text after normalisation."""
    facts = _TextFacts(text)
    return [p for p, v in iter_leaves(gold) if v is not None and v != "" and not facts.has(v)]


@lru_cache(maxsize=1)
def _slot_ground() -> Any:
    try:
        from slot.grounding import ground
    except Exception:  # not installed / not written yet / broken while someone edits it
        return None
    return ground


def grounder_name(mode: str = "auto") -> str:
    """Which grounder `_is_grounded` uses for a mode ("auto" prefers slot.grounding)."""
    if mode == "simple" or (mode == "auto" and _slot_ground() is None):
        return "simple"
    return "slot"


def _is_grounded(gold: Any, text: str, schema: dict[str, Any] | None, mode: str = "auto") -> list[str]:
    """Ungrounded gold leaf paths (JSON Pointers); empty means every value is recoverable."""
    if grounder_name(mode) == "slot":
        ground = _slot_ground()
        if ground is None:
            raise RuntimeError("slot.grounding is not importable")
        return list(ground(gold, text, schema).ungrounded_paths)
    return simple_ungrounded(gold, text)


# ---------------------------------------------------------------- length


@dataclass(frozen=True)
class LengthBounds:
    min_chars: int = 20
    max_chars: int = 6000

    def ok(self, text: str) -> bool:
        return self.min_chars <= len(text) <= self.max_chars


# ---------------------------------------------------------------- duplicates

_PERMS = 36
_BANDS, _ROWS = 6, 6
_PRIME = 4294967291
_A = [zlib.crc32(f"a{i}".encode()) % (_PRIME - 1) + 1 for i in range(_PERMS)]
_B = [zlib.crc32(f"b{i}".encode()) % _PRIME for i in range(_PERMS)]


def text_signature(text: str) -> tuple[str, list[int]]:
    """(exact key, MinHash over word 3-shingles) of a text; both deterministic across processes."""
    words = re.findall(r"\w+", text.casefold())
    exact = hashlib.blake2b(" ".join(words).encode(), digest_size=12).hexdigest()
    shingles = {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}
    hs = [zlib.crc32(s.encode()) for s in shingles]
    try:
        import numpy as np

        x = np.asarray(hs, dtype=np.uint64)
        a = np.asarray(_A, dtype=np.uint64)[:, None]
        b = np.asarray(_B, dtype=np.uint64)[:, None]
        mins = ((a * x[None, :] + b) % np.uint64(_PRIME)).min(axis=1)
        return exact, [int(v) for v in mins]
    except ImportError:  # same arithmetic in Python ints, same result
        return exact, [min((a * h + b) % _PRIME for h in hs) for a, b in zip(_A, _B)]


@dataclass
class Deduper:
    """Drops a text if any *earlier* candidate (kept or not) is an exact or near duplicate.

    Comparing against every earlier candidate, not only kept ones, makes the decision depend only on
    the set of candidates and their order, so per-shard dedup followed by a global pass in `merge`
    gives exactly the unsharded result. Near = MinHash agreement >= threshold, found via LSH bands.
    """

    threshold: float = 0.8
    exact: set[str] = field(default_factory=set)
    buckets: dict[tuple[int, tuple[int, ...]], list[int]] = field(default_factory=dict)
    sigs: list[list[int]] = field(default_factory=list)

    def check_and_add(self, exact: str, mins: list[int]) -> str | None:
        verdict: str | None = None
        if exact in self.exact:
            verdict = "exact_duplicate"
        keys = [(b, tuple(mins[b * _ROWS : (b + 1) * _ROWS])) for b in range(_BANDS)]
        if verdict is None:
            seen: set[int] = set()
            for k in keys:
                for j in self.buckets.get(k, ()):
                    if j in seen:
                        continue
                    seen.add(j)
                    other = self.sigs[j]
                    if sum(x == y for x, y in zip(mins, other)) / _PERMS >= self.threshold:
                        verdict = "near_duplicate"
                        break
                if verdict:
                    break
        self.exact.add(exact)
        idx = len(self.sigs)
        self.sigs.append(mins)
        for k in keys:
            self.buckets.setdefault(k, []).append(idx)
        return verdict


FILTER_NAMES = ("schema_invalid", "ungrounded", "length", "exact_duplicate", "near_duplicate", "teacher_rejected",
                "teacher_error")

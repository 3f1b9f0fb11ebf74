"""Realistic JSON instances for a plan: value generators keyed by a small spec language.

Generators (`gen` strings):
  person, first, last, company, city, country, street, zip, phone, job, email, url, color, iban,
  ipv4, sentence, word, uuid          realistic strings (Faker pools, built once per process)
  code:PAT                            '#' -> digit, '?' -> upper-case letter (ORD-#####)
  pick:a|b|c                          free string drawn from a list (not an enum in the schema)
  enum:a|b|c                          string enum
  date:past|recent|future|dob         ISO date;  datetime: ISO date-time, seconds 00
  int:lo:hi, year, num:lo:hi:dp, money:lo:hi, bool
Faker is slow per call (~100 us for a name), so values come from per-kind pools generated once
with a fixed seed; picks use the caller's seeded random.Random, which keeps everything deterministic.
With a `vocabulary.Vocabulary` (open share > 0) the draws are wider (multi-locale pools, new words,
sentences and pick items; enums untouched) and never hold an eval-pool value; without one (or at share
0) every draw is today's, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
import zlib
from functools import lru_cache
from typing import Any, Callable

from data_synthesis.held_out import holds_eval_value
from data_synthesis.plan import Node
from data_synthesis.vocabulary import Vocabulary

POOL_SIZE = 400
_EPOCH = dt.date(1970, 1, 1).toordinal()

_SENTENCES = (
    "Please call before delivery.", "Water leaked from the upstairs bathroom overnight.",
    "Requested a ground-floor room near the elevator.", "The rear bumper was scratched in the car park.",
    "Customer prefers contact by email after 5 pm.", "Needs an invoice addressed to the company.",
    "Arriving late, around midnight.", "Allergic to peanuts.", "Window cracked during the storm.",
    "Would like the order split into two shipments.", "Asked for a quiet table by the window.",
    "Laptop was stolen from a locked office.", "Prefers a follow-up call on Monday morning.",
)
_WORDS = ("alpha", "harbor", "summit", "cedar", "orbit", "maple", "vertex", "lumen", "falcon", "ember",
          "granite", "willow", "nova", "atlas", "coral", "pioneer")

_DATE_RANGES = {
    "past": (dt.date(2000, 1, 1), dt.date(2024, 12, 31)),
    "recent": (dt.date(2023, 1, 1), dt.date(2025, 12, 31)),
    "future": (dt.date(2025, 6, 1), dt.date(2027, 12, 31)),
    "dob": (dt.date(1940, 1, 1), dt.date(2010, 12, 31)),
}


@lru_cache(maxsize=None)
def _faker() -> Any:
    from faker import Faker

    return Faker("en_US")


@lru_cache(maxsize=None)
def pool(kind: str) -> tuple[str, ...]:
    """A fixed pool of realistic values of one kind, identical in every process (seeded by name)."""
    fake = _faker()
    fake.seed_instance(zlib.crc32(kind.encode()))
    makers: dict[str, Callable[[], str]] = {
        "person": fake.name, "first": fake.first_name, "last": fake.last_name, "company": fake.company,
        "city": fake.city, "country": fake.country, "street": fake.street_address, "zip": fake.postcode,
        "phone": fake.phone_number, "job": fake.job, "color": fake.color_name, "iban": fake.iban,
        "free_email": fake.free_email_domain, "tld": fake.tld, "state": fake.state,
    }
    out: list[str] = []
    seen: set[str] = set()
    for _ in range(POOL_SIZE * 3):
        v = makers[kind]()
        if v not in seen:
            seen.add(v)
            out.append(v)
        if len(out) >= POOL_SIZE:
            break
    return tuple(out)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower().split(",")[0].split(" and ")[0]) or "example"


def _ascii_slug(text: str) -> str:
    """A name as an email's local part: accents dropped, letters only ("Björn" -> "bjorn")."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z]+", "", plain) or "user"


def _code(pattern: str, rng: random.Random) -> str:
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(str(rng.randrange(10)))
        elif ch == "?":
            out.append(chr(65 + rng.randrange(26)))
        else:
            out.append(ch)
    return "".join(out)


def _date(kind: str, rng: random.Random) -> dt.date:
    lo, hi = _DATE_RANGES.get(kind, _DATE_RANGES["past"])
    return dt.date.fromordinal(rng.randint(lo.toordinal(), hi.toordinal()))


def _nice_int(lo: int, hi: int, rng: random.Random) -> int:
    v = rng.randint(lo, hi)
    if hi - lo >= 5000 and rng.random() < 0.6:
        step = 1000 if hi - lo >= 100000 else 100
        v = max(lo, min(hi, round(v / step) * step))
    return v


def _money(lo: float, hi: float, rng: random.Random) -> float | int:
    x = rng.uniform(lo, hi)
    if hi >= 10000:
        return max(int(lo), min(int(hi), int(round(x, -2))))
    if hi >= 1000 and rng.random() < 0.5:
        return int(round(x))
    if rng.random() < 0.3:
        return float(int(x)) + 0.99 if int(x) + 0.99 <= hi else round(x, 2)
    return round(x, 2)


_REDRAWS = 50


def _active(vocab: Vocabulary | None) -> Vocabulary | None:
    return vocab if vocab is not None and vocab.open_share > 0 else None


def gen_value(gen: str, rng: random.Random, vocab: Vocabulary | None = None) -> Any:
    """Draw one value for a generator spec (from the wide vocabulary when given, redrawn while it holds
    an eval-pool value; the pipeline drops a row whose gold still holds one)."""
    vocab = _active(vocab)
    value = _draw(gen, rng, vocab)
    if vocab is None:
        return value
    for _ in range(_REDRAWS):
        if not (isinstance(value, str) and holds_eval_value(value)):
            break
        value = _draw(gen, rng, vocab)
    return value


def _draw(gen: str, rng: random.Random, vocab: Vocabulary | None) -> Any:
    head, _, arg = gen.partition(":")

    def faker(kind: str) -> str:
        return vocab.faker_value(kind, rng) if vocab is not None else rng.choice(pool(kind))

    if head in ("person", "first", "last", "company", "city", "country", "street", "zip", "phone",
                "job", "color", "iban", "state"):
        return faker(head)
    if head == "email":
        first, last = faker("first"), faker("last")
        sep = rng.choice((".", "_", ""))
        dom = faker("free_email") if rng.random() < 0.5 else _slug(faker("company")) + ".com"
        if vocab is not None:
            first, last = _ascii_slug(first), _ascii_slug(last)
        return f"{first.lower()}{sep}{last.lower()}@{dom}"
    if head == "url":
        host = _slug(faker("company"))
        path = rng.choice(("", "/about", "/products", "/contact", f"/p/{rng.randrange(1000, 99999)}"))
        return f"https://www.{host}.{rng.choice(('com', 'io', 'org', 'net', 'co.uk'))}{path}"
    if head == "code":
        return _code(arg, rng)
    if head == "pick" and vocab is not None and vocab.opens(rng):
        return vocab.open_item(arg.split("|"), rng)
    if head in ("pick", "enum"):
        return rng.choice(arg.split("|"))
    if head == "date":
        return _date(arg or "past", rng).isoformat()
    if head == "datetime":
        d = _date(arg or "recent", rng)
        h, m = rng.randrange(6, 23), rng.randrange(0, 60, 5)
        tz = "Z" if rng.random() < 0.8 else rng.choice(("+01:00", "+02:00", "-05:00", "+05:30"))
        return f"{d.isoformat()}T{h:02d}:{m:02d}:00{tz}"
    if head == "int":
        lo, hi = (int(x) for x in arg.split(":"))
        return _nice_int(lo, hi, rng)
    if head == "year":
        return rng.randint(1960, 2025)
    if head == "num":
        lo, hi, dp = arg.split(":")
        return round(rng.uniform(float(lo), float(hi)), int(dp))
    if head == "money":
        lo, hi = (float(x) for x in arg.split(":"))
        return _money(lo, hi, rng)
    if head == "bool":
        return rng.random() < 0.5
    if head == "ipv4":
        return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    if head == "uuid":
        return "%08x-%04x-4%03x-a%03x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                                rng.getrandbits(12), rng.getrandbits(48))
    if head == "sentence":
        if vocab is not None and vocab.opens(rng):
            return vocab.open_sentence(rng)
        return rng.choice(_SENTENCES)
    if head == "word":
        if vocab is not None and vocab.opens(rng):
            return vocab.open_word(rng)
        return rng.choice(_WORDS)
    raise ValueError(f"unknown generator {gen!r}")


def leaf_schema_for(gen: str, rng: random.Random, with_bounds: bool) -> dict[str, Any]:
    """The JSON Schema fragment that every value of `gen` satisfies."""
    head, _, arg = gen.partition(":")
    if head == "enum":
        return {"type": "string", "enum": arg.split("|")}
    if head in ("int", "year"):
        s: dict[str, Any] = {"type": "integer"}
        if with_bounds and head == "int":
            lo, hi = (int(x) for x in arg.split(":"))
            s["minimum"] = lo
            if rng.random() < 0.5:
                s["maximum"] = hi
        return s
    if head in ("num", "money"):
        s = {"type": "number"}
        if with_bounds:
            s["minimum"] = min(0, float(arg.split(":")[0]))
        return s
    if head == "bool":
        return {"type": "boolean"}
    fmt = {"date": "date", "datetime": "date-time", "email": "email", "url": "uri"}.get(head)
    if fmt:
        return {"type": "string", "format": fmt}
    s = {"type": "string"}
    if with_bounds and rng.random() < 0.3:
        s["minLength"] = 1
    return s


def instance_for(node: Node, rng: random.Random, vocab: Vocabulary | None = None) -> Any:
    """A value for a plan node; optional children may be absent, nullable ones null. ``vocab``: the wide
    vocabulary (None or open share 0: today's draws)."""
    vocab = _active(vocab)
    if node.kind == "leaf":
        return gen_value(node.gen, rng, vocab)
    if node.kind == "array":
        assert node.item is not None
        n = rng.randint(node.min_items, node.max_items)
        if node.item.kind == "leaf" and node.item.gen.startswith(("pick:", "enum:")):
            alts = node.item.gen.partition(":")[2].split("|")
            picked = rng.sample(alts, min(n, len(alts)))
            if vocab is not None and node.item.gen.startswith("pick:"):
                picked = vocab.widen_items(picked, alts, rng)
            return picked
        out: list[Any] = []
        for _ in range(n * 3):
            v = instance_for(node.item, rng, vocab)
            if v not in out:
                out.append(v)
            if len(out) >= n:
                break
        return out
    obj: dict[str, Any] = {}
    for child in node.children:
        if not child.required and rng.random() > child.present_prob:
            continue
        if child.nullable and rng.random() < child.null_prob:
            obj[child.key] = None
        else:
            obj[child.key] = instance_for(child, rng, vocab)
    return obj

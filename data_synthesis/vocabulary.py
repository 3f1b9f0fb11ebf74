"""Wide value vocabularies for synthesis: multi-locale Faker pools and open-vocabulary strings.

Why (issue 25): with narrow pools (one locale, 400 values a kind, a handful of `pick:` items) a model
learns which values a key takes instead of reading them from the text. A :class:`Vocabulary` with
``open_share`` > 0 draws Faker kinds from pools of up to ``WIDE_POOL_SIZE`` values over ``LOCALES``, and
replaces that share of `word`, `sentence` and `pick:` draws by values no list holds: common and invented
words, template sentences filled from the wide pools, new items in the shape of a pick list's items.
No value it returns contains an eval-pool value (``held_out.holds_eval_value``), and every invented
word lies on the train side of ``open_vocab.pool_of``. Everything is drawn from the caller's seeded
``random.Random`` and from pools seeded by name, so output stays a pure function of the seed.
``open_share`` 0 is not handled here: instances.py then takes today's path, byte for byte.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from data_synthesis.held_out import holds_eval_value
from data_synthesis.open_vocab import common_words, invented_word, pool_of

__all__ = ["DEFAULT_OPEN_SHARE", "LOCALES", "WIDE_KINDS", "WIDE_POOL_SIZE", "Vocabulary", "wide_pool"]

DEFAULT_OPEN_SHARE = 0.5
"""`generate --open-share` default: half of word/sentence/pick draws are new values, half listed ones."""

WIDE_POOL_SIZE = 4000
"""Most distinct values a wide pool holds per Faker kind (today's single-locale pools hold 400)."""

LOCALES = ("en_US", "en_GB", "en_IE", "en_NZ", "en_IN", "en_NG", "de_DE", "de_AT", "fr_FR", "it_IT", "es_ES",
           "es_MX", "nl_NL", "pt_BR", "pt_PT", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "cs_CZ", "hu_HU",
           "ro_RO", "tr_TR", "hr_HR", "id_ID")
"""Latin-script Faker locales the wide pools mix (all installed with Faker; nothing is downloaded)."""

_ENGLISH = ("en_US", "en_GB", "en_IE", "en_NZ", "en_IN", "en_NG")
# Kinds that the English texts should name in English (a German country or colour name would read as a
# translation); job titles mix English with a few locales whose titles read well in English text.
_KIND_LOCALES: dict[str, tuple[str, ...]] = {
    "country": ("en_US",), "color": ("en_US",),
    "job": _ENGLISH + ("de_DE", "fr_FR", "es_ES", "pt_BR", "pl_PL"),
}
_MAKERS: dict[str, tuple[str, ...]] = {
    "person": ("name",), "first": ("first_name",), "last": ("last_name",), "company": ("company",),
    "city": ("city",), "country": ("country",), "street": ("street_address",), "zip": ("postcode",),
    "phone": ("phone_number",), "job": ("job",), "color": ("color_name",), "iban": ("iban",),
    "free_email": ("free_email_domain",), "tld": ("tld",), "state": ("state", "administrative_unit"),
}
WIDE_KINDS = tuple(_MAKERS)
"""The Faker kinds with a wide pool (the same kinds as ``instances.pool``)."""

_SENTENCE_TEMPLATES = (
    "Please call {first} before delivering to {street}.",
    "{first} asked for the {noun} to be sent to {city}.",
    "Leave the {adj} {noun} at the front desk with {first}.",
    "Requested a follow-up from {company} on {weekday}.",
    "The {noun} was damaged on the way from {city}.",
    "Prefers contact after {hour} on weekdays.",
    "Needs {count} copies of the {noun} report by {weekday}.",
    "Arriving from {city} around {hour}.",
    "Invoice to be addressed to {company}, attention {person}.",
    "Asked whether the {adj} {noun} can be collected in {city}.",
    "Reported a problem with the {noun} near {street}.",
    "Gave {word} as the password hint for the booking.",
    "{person} will sign for the {noun} on {weekday} morning.",
    "Prefers the {adj} {noun} to the standard one.",
    "Works as {job} and travels to {city} every {weekday}.",
    "Mentioned that {company} changed its {noun} last month.",
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_REDRAWS = 50


@lru_cache(maxsize=None)
def _faker(locale: str) -> Any:
    from faker import Faker

    return Faker(locale)


def _clean(value: str) -> str:
    """One line, single spaces ("Flat 6\\nJenkins Trafficway" -> "Flat 6, Jenkins Trafficway")."""
    return ", ".join(" ".join(line.split()) for line in value.splitlines() if line.strip())


def _maker(fake: Any, kind: str) -> Any:
    for name in _MAKERS[kind]:
        try:
            maker = getattr(fake, name)
            maker()
            return maker
        except AttributeError:
            continue
    return None


@lru_cache(maxsize=None)
def wide_pool(kind: str) -> tuple[str, ...]:
    """Up to WIDE_POOL_SIZE distinct values of one Faker kind over several locales, identical in every
    process (each locale seeded by kind and locale name), none holding an eval-pool value."""
    locales = _KIND_LOCALES.get(kind, LOCALES)
    quota = -(-WIDE_POOL_SIZE // len(locales))
    out: list[str] = []
    seen: set[str] = set()
    for locale in locales:
        fake = _faker(locale)
        fake.seed_instance(zlib.crc32(f"{kind}:{locale}".encode()))
        maker = _maker(fake, kind)
        if maker is None:
            continue
        fake.seed_instance(zlib.crc32(f"{kind}:{locale}".encode()))
        added = misses = 0
        while added < quota and misses < 300:  # 300 misses in a row: the locale has no more values
            value = _clean(str(maker()))
            if not value or value in seen or holds_eval_value(value):
                misses += 1
                continue
            seen.add(value)
            out.append(value)
            added, misses = added + 1, 0
    return tuple(out[:WIDE_POOL_SIZE])


@lru_cache(maxsize=None)
def _nouns() -> tuple[str, ...]:
    from faker.providers.company.en_US import Provider

    return tuple(w for w in Provider.catch_phrase_words[2] if w.isalpha())


@lru_cache(maxsize=None)
def _adjectives() -> tuple[str, ...]:
    from faker.providers.company.en_US import Provider

    return tuple(w.lower() for w in Provider.catch_phrase_words[0] if w.isalpha())


def _shaped(token: str, like: str) -> str:
    """``token`` with the capitals of ``like`` (all upper, capitalised or lower)."""
    if like.isupper() and len(like) > 1:
        return token.upper()
    return token.capitalize() if like[:1].isupper() else token


@dataclass(frozen=True)
class Vocabulary:
    """Wide draws for instances.py; ``open_share`` is the share of word/sentence/pick draws that are new."""

    open_share: float = DEFAULT_OPEN_SHARE

    def opens(self, rng: random.Random) -> bool:
        """Whether this draw takes a new value (one rng call, always made, so sequences stay aligned)."""
        return rng.random() < self.open_share

    def faker_value(self, kind: str, rng: random.Random) -> str:
        """A value of a Faker kind from its wide pool."""
        return rng.choice(wide_pool(kind))

    def invented(self, rng: random.Random) -> str:
        """An invented word on the train side of ``pool_of`` (never one an eval swap could draw)."""
        for _ in range(_REDRAWS):
            word = invented_word(rng)
            if pool_of(word) == "train" and not holds_eval_value(word):
                return word
        return "brailox"

    def open_word(self, rng: random.Random) -> str:
        """A word outside the `word` list: a common English word, a noun, or an invented word."""
        r = rng.random()
        if r < 0.4:
            return rng.choice(common_words())
        if r < 0.6:
            return rng.choice(_nouns())
        return self.invented(rng)

    def open_sentence(self, rng: random.Random) -> str:
        """A short note from a template, its slots filled from the wide pools and open words."""
        template = rng.choice(_SENTENCE_TEMPLATES)
        noun = rng.choice(_nouns()) if rng.random() < 0.6 else self.open_word(rng)
        slots = {
            "first": self.faker_value("first", rng), "person": self.faker_value("person", rng),
            "city": self.faker_value("city", rng), "street": self.faker_value("street", rng),
            "company": self.faker_value("company", rng), "job": self.faker_value("job", rng).lower(),
            "noun": noun, "adj": rng.choice(_adjectives()), "word": self.invented(rng),
            "weekday": rng.choice(_WEEKDAYS), "hour": f"{rng.randint(1, 11)} {rng.choice(('am', 'pm'))}",
            "count": str(rng.randint(2, 40)),
        }
        return template.format(**slots)

    def open_item(self, items: list[str], rng: random.Random) -> str:
        """A new item in the shape of a pick list's items: each word of a listed item replaced by a word
        of the same form (digits, a code in capitals, an invented word, a noun, a common or a wide-pool
        word in the same capitals); in half the multi-word cases the last word (the head: "desk",
        "Agreement") is kept."""
        model = rng.choice(items)
        tokens = model.split(" ")
        keep_head = len(tokens) > 1 and rng.random() < 0.5
        out = [self._like(t, rng) for t in (tokens[:-1] if keep_head else tokens)]
        return " ".join(out + ([tokens[-1]] if keep_head else []))

    def _like(self, token: str, rng: random.Random) -> str:
        """One new word of the same form as ``token``."""
        if token.isdigit():
            return str(rng.randint(1 if len(token) > 1 else 0, 9)) + "".join(
                str(rng.randrange(10)) for _ in range(len(token) - 1))
        if token.isalpha() and token.isupper() and len(token) <= 5:
            return "".join(chr(65 + rng.randrange(26)) for _ in range(len(token)))
        if token[:1].isupper() and rng.random() < 0.3:
            return self.faker_value(rng.choice(("last", "city")), rng).split(" ")[0]
        r = rng.random()
        if r < 0.45:
            return _shaped(self.invented(rng), token)
        word = rng.choice(_nouns()) if r < 0.8 else rng.choice(common_words())
        return _shaped(word, token)

    def widen_items(self, picked: list[str], items: list[str], rng: random.Random) -> list[str]:
        """The items of a pick-list array, each replaced by a new item at ``open_share``; still unique."""
        out: list[str] = []
        for value in picked:
            if self.opens(rng):
                for _ in range(_REDRAWS):
                    new = self.open_item(items, rng)
                    if new not in out and new not in picked and not holds_eval_value(new):
                        value = new
                        break
            if value not in out:
                out.append(value)
        return out

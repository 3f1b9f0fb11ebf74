"""SNIPS NLU requests recast as request -> function-arguments rows (issue 25, "request-to-arguments").

Why: real user requests with a function's parameter schema teach and measure what synthetic texts do not:
numbers written in words, a flag implied by wording, and optional arguments left out when the request
does not give them. Each intent becomes one function whose parameters are the intent's slot types.

Decisions (counts over the 13,784 train + 700 validate requests of ../shared/data/snips):

- Integers: the count and score slots (BookRestaurant party_size_number, RateBook rating_value and
  best_rating) are integers; their spans are digits or number words ("four" -> 4), every one clean
  (20 + 12 + 1 distinct values). A span that is no clean number ("a couple") skips the row, counted:
  leaving the argument out would teach that a stated argument is absent. PlayMusic year stays a string:
  318 of its spans are decades ("sixties"), not years.
- Boolean: GetWeather current_location is the one flag. Its spans are "here" or "current location /
  position / place / spot" (287 of 290), all saying "where I am now", so the argument is ``true`` or
  left out. The other 3 are a bare "current" that means "now" (a mislabel): those rows are skipped
  (2 for this; the third also repeats a slot type).
  BookRestaurant facility stays a string: its 8 values (pool, wifi, parking...) are choices, not a flag.
- Repeated slots: 61 requests (all train, none in validate; at most 27 of BookRestaurant's 1,973) name
  one slot type twice. They are skipped, counted, rather than turning a property into an array for
  every row of the intent.
- Strings are the span verbatim, stripped; the request text is the chunks joined, unchanged.

Every gold is checked with Draft202012Validator; a row that fails is skipped and counted, never kept.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from data_synthesis.external import ConfigError

__all__ = ["SPLITS", "INTEGER_SLOTS", "FLAG_SLOTS", "number_value", "read_requests", "intent_files",
           "slot_types", "intent_schema", "convert_file", "convert_dir", "pick_per_intent", "write_snips",
           "Summary"]

SPLITS = ("train", "validate")
_FILE = re.compile(r"^(?:train_(?P<train>\w+?)_full|validate_(?P<validate>\w+))\.json$")

INTEGER_SLOTS = frozenset({("BookRestaurant", "party_size_number"), ("RateBook", "rating_value"),
                           ("RateBook", "best_rating")})
"""(intent, slot) pairs whose values are counts or scores: integer arguments."""

FLAG_SLOTS = {("GetWeather", "current_location"): re.compile(
    r"here|current (?:location|position|place|spot)", re.IGNORECASE)}
"""(intent, slot) pairs that are boolean flags, with the phrasings that clearly set them."""

_FUNCTIONS = {
    "AddToPlaylist": "Add a song, album or artist to a playlist.",
    "BookRestaurant": "Book a table at a restaurant.",
    "GetWeather": "Get the weather forecast.",
    "PlayMusic": "Play music.",
    "RateBook": "Rate a book or another work.",
    "SearchCreativeWork": "Search for a creative work (book, song, show, game...).",
    "SearchScreeningEvent": "Find movie showtimes.",
}

_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "AddToPlaylist": {
        "artist": "artist to add, or whose music to add",
        "entity_name": "name of the song, album or other item to add",
        "music_item": "kind of item to add (song, album, artist...)",
        "playlist": "name of the playlist",
        "playlist_owner": "whose playlist it is (e.g. my, Anna's)",
    },
    "BookRestaurant": {
        "city": "city of the restaurant",
        "country": "country of the restaurant",
        "cuisine": "kind of food or cuisine",
        "facility": "facility the place must have (e.g. parking, wifi)",
        "party_size_description": "who the table is for, as said (e.g. me and my wife)",
        "party_size_number": "number of people",
        "poi": "place to be at or near (landmark, street, someone's home)",
        "restaurant_name": "name of the restaurant",
        "restaurant_type": "kind of place (restaurant, pub, bar...)",
        "served_dish": "dish the restaurant should serve",
        "sort": "preference such as best or top-rated",
        "spatial_relation": "how close it should be (e.g. nearby, within walking distance)",
        "state": "state or region of the restaurant",
        "timeRange": "when the booking is for (date, time or meal)",
    },
    "GetWeather": {
        "city": "city to get the weather for",
        "condition_description": "weather condition asked about (e.g. rain, snow, sunny)",
        "condition_temperature": "temperature asked about (e.g. hot, colder)",
        "country": "country to get the weather for",
        "current_location": "true when the user asks about where they are now ('here')",
        "geographic_poi": "named place such as a park, lake or mountain",
        "spatial_relation": "how the place relates to the location (e.g. near, far from)",
        "state": "state or region to get the weather for",
        "timeRange": "when the forecast is for",
    },
    "PlayMusic": {
        "album": "album to play",
        "artist": "artist to play",
        "genre": "music genre",
        "music_item": "kind of item to play (song, album, track...)",
        "playlist": "playlist to play",
        "service": "music service to play it on (e.g. Spotify)",
        "sort": "which ones, such as newest or top ten",
        "track": "song title",
        "year": "year or decade of the music, as said (e.g. 1999, sixties)",
    },
    "RateBook": {
        "best_rating": "top of the rating scale (the 6 in 'four out of 6')",
        "object_name": "title of the work to rate",
        "object_part_of_series_type": "kind of series it belongs to (e.g. saga, chronicle)",
        "object_select": "which work, when not named (e.g. this, current, next)",
        "object_type": "kind of work (e.g. book, novel, essay)",
        "rating_unit": "unit of the rating (e.g. stars, points)",
        "rating_value": "rating given",
    },
    "SearchCreativeWork": {
        "object_name": "title of the work",
        "object_type": "kind of work (e.g. movie, song, TV show, game)",
    },
    "SearchScreeningEvent": {
        "location_name": "cinema or cinema chain",
        "movie_name": "title of the movie",
        "movie_type": "kind of movie (e.g. animated movies)",
        "object_location_type": "kind of venue (e.g. cinema, movie theatre)",
        "object_type": "what is looked for (e.g. movie schedule, movie times)",
        "spatial_relation": "how close the cinema should be (e.g. nearest, nearby)",
        "timeRange": "when the screening is",
    },
}
"""Hand-written parameter descriptions; a slot type missing here gets its name in words."""

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}


def number_value(text: str) -> int | None:
    """The integer a span states in digits or English words ("4", "four", "twenty-one"), else None."""
    t = text.strip().lower()
    if re.fullmatch(r"\d+", t):
        return int(t)
    words = re.split(r"[\s-]+", t)
    if len(words) == 1:
        return _UNITS.get(words[0], _TENS.get(words[0]))
    if len(words) == 2 and words[0] in _TENS and 0 < _UNITS.get(words[1], 0) < 10:
        return _TENS[words[0]] + _UNITS[words[1]]
    return None


def read_requests(path: str | Path) -> tuple[str, list[list[dict[str, str]]]]:
    """(intent, requests as chunk lists) of one SNIPS file; joins the CESU-8 emoji pair (see its README)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="surrogatepass")
        data = json.loads(text.encode("utf-16", "surrogatepass").decode("utf-16"))
    except (OSError, UnicodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"bad SNIPS file {p}: {e}") from None
    if not isinstance(data, dict) or len(data) != 1:
        raise ConfigError(f"bad SNIPS file {p}: expected one key, the intent name")
    (intent, records), = data.items()
    if not isinstance(records, list) or not all(isinstance(r, dict) and isinstance(r.get("data"), list)
                                                for r in records):
        raise ConfigError(f"bad SNIPS file {p}: expected a list of {{\"data\": [chunk, ...]}} records")
    return intent, [r["data"] for r in records]


def _split_of(path: Path) -> tuple[str, str] | None:
    m = _FILE.match(path.name)
    if m is None:
        return None
    split = "train" if m["train"] else "validate"
    return m[split], split


def intent_files(input_dir: str | Path) -> dict[str, dict[str, Path]]:
    """intent -> split -> file, from the file names of a SNIPS folder (sorted by intent)."""
    d = Path(input_dir)
    if not d.is_dir():
        raise ConfigError(f"input folder not found: {d}")
    found: dict[str, dict[str, Path]] = {}
    for f in sorted(d.glob("*.json")):
        named = _split_of(f)
        if named is not None:
            found.setdefault(named[0], {})[named[1]] = f
    if not found:
        raise ConfigError(f"no SNIPS files (train_<Intent>_full.json, validate_<Intent>.json) in {d}")
    return dict(sorted(found.items()))


def slot_types(files: dict[str, Path]) -> list[str]:
    """The slot types used in an intent's files, sorted."""
    return sorted({chunk["entity"] for path in files.values() for request in read_requests(path)[1]
                   for chunk in request if "entity" in chunk})


def intent_schema(intent: str, slots: list[str]) -> dict[str, Any]:
    """The function's parameters: one optional, described property per slot type, closed."""
    described = _DESCRIPTIONS.get(intent, {})
    properties: dict[str, Any] = {}
    for slot in sorted(slots):
        kind = "integer" if (intent, slot) in INTEGER_SLOTS else "boolean" if (intent, slot) in FLAG_SLOTS \
            else "string"
        words = re.sub(r"(?<=[a-z])(?=[A-Z])|_", " ", slot).lower()
        properties[slot] = {"type": kind, "description": described.get(slot, words)}
    schema = {"type": "object", "description": _FUNCTIONS.get(intent, f"Handle a {intent} request."),
              "properties": properties, "additionalProperties": False}
    Draft202012Validator.check_schema(schema)
    return schema


def _gold(intent: str, request: list[dict[str, str]]) -> tuple[dict[str, Any] | None, str]:
    """The arguments a request gives, or (None, why it is skipped)."""
    spans: dict[str, str] = {}
    for chunk in request:
        if "entity" not in chunk:
            continue
        slot, value = chunk["entity"], chunk["text"].strip()
        if slot in spans:
            return None, "repeated slot type"
        if not value:
            return None, "empty slot span"
        spans[slot] = value
    gold: dict[str, Any] = {}
    for slot, value in sorted(spans.items()):
        if (intent, slot) in INTEGER_SLOTS:
            number = number_value(value)
            if number is None:
                return None, "count not a clean number"
            gold[slot] = number
        elif (intent, slot) in FLAG_SLOTS:
            if not FLAG_SLOTS[intent, slot].fullmatch(value):
                return None, "unclear flag phrasing"
            gold[slot] = True
        else:
            gold[slot] = value
    return gold, ""


def convert_file(path: str | Path, schema: dict[str, Any], skipped: Counter[str]) -> Iterator[dict[str, Any]]:
    """Rows of one intent file against its intent's schema; counts each skipped row in ``skipped``."""
    p = Path(path)
    named = _split_of(p)
    if named is None:
        raise ConfigError(f"not a SNIPS file name (train_<Intent>_full.json, validate_<Intent>.json): {p}")
    intent, requests = read_requests(p)
    if intent != named[0]:
        raise ConfigError(f"bad SNIPS file {p}: intent {intent!r} does not match its name")
    validator = Draft202012Validator(schema)
    for index, request in enumerate(requests):
        gold, why = _gold(intent, request)
        if gold is not None and not validator.is_valid(gold):
            gold, why = None, "invalid against schema"
        if gold is None:
            skipped[why] += 1
            continue
        yield {"id": f"snips-{intent}-{named[1]}-{index}", "input_text": "".join(c["text"] for c in request),
               "json_schema": schema, "gold": gold, "meta": {"source": "snips", "intent": intent, "split": named[1]}}


@dataclass
class Summary:
    """What a conversion wrote and skipped."""

    rows: dict[str, int] = field(default_factory=dict)
    properties: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, Counter[str]] = field(default_factory=dict)

    def line(self, out: str | Path) -> str:
        per_intent = ", ".join(f"{k} {v}" for k, v in self.rows.items())
        reasons: Counter[str] = Counter()
        for counts in self.skipped.values():
            reasons.update(counts)
        why = ", ".join(f"{r} {n}" for r, n in sorted(reasons.items())) or "none"
        return (f"wrote {sum(self.rows.values())} SNIPS rows to {out} ({per_intent}); "
                f"skipped {sum(reasons.values())} ({why})")


def convert_dir(input_dir: str | Path, split: str = "both") -> tuple[dict[str, list[dict[str, Any]]], Summary]:
    """intent -> rows of the chosen split(s) ("train", "validate" or "both"), and what was skipped."""
    if split not in (*SPLITS, "both"):
        raise ConfigError(f"--split must be train, validate or both, got {split!r}")
    rows: dict[str, list[dict[str, Any]]] = {}
    summary = Summary()
    for intent, files in intent_files(input_dir).items():
        schema = intent_schema(intent, slot_types(files))
        skipped: Counter[str] = Counter()
        rows[intent] = [row for s in SPLITS if s in files and split in (s, "both")
                        for row in convert_file(files[s], schema, skipped)]
        summary.properties[intent] = len(schema["properties"])
        summary.skipped[intent] = skipped
    return rows, summary


def pick_per_intent(rows: list[dict[str, Any]], n: int, rng: random.Random) -> list[dict[str, Any]]:
    """``n`` rows drawn at random across the whole list (all when it has no more), in file order."""
    if n <= 0 or n >= len(rows):
        return rows
    return [rows[i] for i in sorted(rng.sample(range(len(rows)), n))]


def write_snips(input_dir: str | Path, out: str | Path, split: str = "both", per_intent: int = 0,
                seed: int = 0, intents: list[str] | None = None) -> Summary:
    """Writes the rows of every intent, or of ``intents`` only (``per_intent`` of each when > 0, seeded), to a
    JSONL file; choosing intents keeps whole functions out of training, for evaluation on unseen functions."""
    if per_intent < 0:
        raise ConfigError(f"--per-intent must be >= 0 (0: all rows), got {per_intent}")
    by_intent, summary = convert_dir(input_dir, split)
    if intents:
        unknown = sorted(set(intents) - by_intent.keys())
        if unknown:
            raise ConfigError(f"unknown intents {unknown}; known: {', '.join(sorted(by_intent))}")
        by_intent = {name: rows for name, rows in by_intent.items() if name in intents}
    rng = random.Random(seed)
    target = Path(out)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            for intent, rows in by_intent.items():
                chosen = pick_per_intent(rows, per_intent, rng)
                summary.rows[intent] = len(chosen)
                handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in chosen)
    except OSError as e:
        raise ConfigError(f"cannot write {target}: {e}") from None
    return summary

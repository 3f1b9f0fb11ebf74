"""Value forms: dates and numbers of the input text in the form a JSON output writes them, for drafts.

Copying only drafts what the text spells the way the output does. Dates are the common exception: the text
says ``Tuesday, July 11, 2024`` or ``18 May 2024`` and the output ``2024-07-11``, and the model writes those
tokens one pass each (a fifth of the decoding passes on synthetic rows). Numbers written ``1,250`` come out
as ``1250``, and a number whose label the text words differently (``the mass is 35.48 kg`` for ``weight``)
is not found by the label lookup. Here each date and number of the text is rendered as JSON would hold it,
and ``form_continuation`` proposes the rest of the one the output has begun, or, at a value's start, of the
one the key's label in the text introduces. As every draft, it is only a proposal that the model verifies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_MONTHS = {name: number for number, names in enumerate(
    (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
     ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
     ("november", "nov"), ("december", "dec")), start=1) for name in names}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATES = (
    (re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(\d{4})\b", re.IGNORECASE), "dmy"),
    (re.compile(r"\b" + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", re.IGNORECASE), "mdy"),
    (re.compile(r"\b(\d{4})([/.-])(\d{1,2})\2(\d{1,2})\b"), "ymd"),
)
_TIME = re.compile(r"(?:\s*,|\s+at|\s*T|\s)\s*(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\b\.?)?")
_NUMBER = re.compile(r"(?<![\w.,:])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\w|:\d)")
"""A number of the text, ``1,250`` thousands included; not the parts of a time (``6:30``) or of a word."""
_PARTIAL = re.compile(r'(?:"((?:[^"\\]|\\.){1,64})":|[\[,])("?)([^"{}\[\],:]{0,24})$')
"""The output ends inside a value: after a key (or as an array item), an opening quote or not, what it has."""
LABEL_WINDOW = 40
"""How far after a key's label in the text a value's form is looked for at the value's start."""


@dataclass(frozen=True)
class Form:
    """A date or number of the text: where it starts, and its JSON rendering (``quoted``: a string)."""

    start: int
    text: str
    quoted: bool


def _date(kind: str, groups: tuple[str, ...]) -> str | None:
    if kind == "dmy":
        day, month, year = int(groups[0]), _MONTHS[groups[1].lower()], int(groups[2])
    elif kind == "mdy":
        month, day, year = _MONTHS[groups[0].lower()], int(groups[1]), int(groups[2])
    else:
        year, month, day = int(groups[0]), int(groups[2]), int(groups[3])
    if not (1 <= month <= 12 and 1 <= day <= 31 and 1000 <= year <= 2999):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _time(source: str, at: int) -> str:
    """``THH:MM:SS`` for a time right after position ``at`` (``6:30 PM``, ``at 18:40``), else ""."""
    found = _TIME.match(source, at)
    if found is None:
        return ""
    hour, minute, second, half = int(found.group(1)), int(found.group(2)), int(found.group(3) or 0), found.group(4)
    if half:
        hour = hour % 12 + (12 if half.lower() == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return ""
    return f"T{hour:02d}:{minute:02d}:{second:02d}"


@lru_cache(maxsize=64)
def forms(source: str) -> tuple[Form, ...]:
    """The dates (ISO 8601, with the time that follows them) and numbers of ``source``, in text order."""
    found: list[Form] = []
    taken: list[tuple[int, int]] = []
    for pattern, kind in _DATES:
        for match in pattern.finditer(source):
            iso = _date(kind, match.groups())
            if iso is not None and not any(a < match.end() and match.start() < b for a, b in taken):
                found.append(Form(match.start(), iso + _time(source, match.end()), True))
                taken.append(match.span())
    for match in _NUMBER.finditer(source):
        if not any(a <= match.start() < b for a, b in taken):
            found.append(Form(match.start(), match.group().replace(",", ""), False))
    return tuple(sorted(found, key=lambda form: form.start))


def label_pattern(key: str) -> re.Pattern[str] | None:
    """The key's words (``postalCode``, ``postal_code``, ``Postal Code``) as a case-insensitive pattern."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", key)
    if not words:
        return None
    return re.compile(r"[\s_\-]*".join(re.escape(word) for word in words), re.IGNORECASE)


def _label_ends(key: str, source: str) -> list[int]:
    """Where each mention of ``key`` as a label in ``source`` ends."""
    pattern = label_pattern(key)
    return [found.end() for found in pattern.finditer(source)] if pattern is not None else []


def form_continuation(output_text: str, source: str) -> str:
    """The rest of the date or number of ``source`` the output's last value has begun (at its start: the one
    the key's label introduces), followed by the character that ends it; "" when none fits."""
    match = _PARTIAL.search(output_text[-120:])
    if match is None or not source:
        return ""
    key, quote, partial = match.group(1), bool(match.group(2)), match.group(3)
    if not partial and key is None:
        return ""
    candidates = [form for form in forms(source) if form.quoted == quote and form.text.startswith(partial)
                  and len(form.text) > len(partial)]
    if not candidates:
        return ""
    # a value the output already holds is rarely the next one (the second of two locations' latitudes)
    pool = [form for form in candidates if (('"' if quote else "") + form.text) not in output_text] or candidates
    labels = _label_ends(key, source) if key else []
    near = [form for form in pool if any(label <= form.start <= label + LABEL_WINDOW for label in labels)]
    if near:
        chosen = near[0]
    elif not partial or (quote and len(partial) < 2):
        return ""  # nothing begun and no label: any guess is a wild one
    else:
        chosen = pool[0]
    rest = chosen.text[len(partial):]
    if chosen.quoted:
        return rest + ('"' if "T" not in chosen.text else "")
    return rest + ","

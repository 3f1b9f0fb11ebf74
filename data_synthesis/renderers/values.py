"""Value formatting for texts: canonical forms plus the reformattings a real LLM answer would use
(dates spelled out, thousands separators, "1.2k", number words, units and currency, yes/no).

Every reformatted form is one that a reasonable normaliser can map back to the gold value
(see filters.py for the fallback normaliser that proves it).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
                "nineteen", "twenty")
_CURRENCY_SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£"}
NULL_FORMS = ("none", "N/A", "not provided", "not specified", "null", "unknown")


def canonical(value: Any) -> str:
    """The plain text form of a gold value (what a verbatim copy would show)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def fmt_date(iso: str, style: str) -> str:
    d = dt.date.fromisoformat(iso)
    m = MONTHS[d.month - 1]
    if style == "long_us":
        return f"{m} {d.day}, {d.year}"
    if style == "long_eu":
        return f"{d.day} {m} {d.year}"
    if style == "abbr_us":
        return f"{m[:3]} {d.day}, {d.year}"
    if style == "abbr_eu":
        return f"{d.day} {m[:3]} {d.year}"
    if style == "slash_ymd":
        return f"{d.year}/{d.month:02d}/{d.day:02d}"
    if style == "weekday":
        return f"{WEEKDAYS[d.weekday()]}, {m} {d.day}, {d.year}"
    return iso


DATE_STYLES = ("long_us", "long_eu", "abbr_us", "abbr_eu", "slash_ymd", "weekday")


def fmt_datetime(iso: str, style: str) -> str:
    date_part, time_part = iso.split("T")
    hhmm = time_part[:5]
    tz = time_part[8:]
    tz_text = "UTC" if tz == "Z" else f"UTC{tz}"
    if style == "space":
        return f"{date_part} {hhmm} {tz_text}"
    if style == "long_24":
        return f"{fmt_date(date_part, 'long_us')} at {hhmm} {tz_text}"
    if style == "long_12":
        h, mi = int(hhmm[:2]), hhmm[3:]
        suffix = "AM" if h < 12 else "PM"
        return f"{fmt_date(date_part, 'long_eu')}, {(h % 12) or 12}:{mi} {suffix} {tz_text}"
    return iso


DATETIME_STYLES = ("space", "long_24", "long_12")


def _thousands(v: float | int, decimals: int | None = None) -> str:
    if decimals is None:
        if isinstance(v, int) or float(v).is_integer():
            return f"{int(v):,}"
        text = repr(float(v))
        ip, _, fp = text.partition(".")
        return f"{int(ip):,}.{fp}" if "e" not in text else text
    return f"{v:,.{decimals}f}"


def fmt_number(value: int | float, unit: str, style: str) -> str:
    """Render a number in a style: plain, thousands, k (1.2k), words, money, unit."""
    is_int = isinstance(value, int) or float(value).is_integer()
    if style == "words" and is_int and 0 <= value <= 20:
        text = NUMBER_WORDS[int(value)]
    elif style == "k" and is_int and abs(value) >= 1000 and int(value) % 100 == 0:
        v = int(value)
        text = f"{v / 1_000_000:g} million" if abs(v) >= 1_000_000 and v % 100_000 == 0 else f"{v / 1000:g}k"
    elif style == "thousands" and abs(value) >= 1000:
        text = _thousands(value)
    else:
        text = canonical(value) if not isinstance(value, float) or not value.is_integer() else canonical(value)
    if unit in _CURRENCY_SYMBOL and style in ("money", "thousands", "k"):
        if style == "money":
            cents = not is_int or abs(value) < 1000
            text = _thousands(value, 2 if cents else 0)
        return f"{_CURRENCY_SYMBOL[unit]}{text}" if style != "k" else f"{_CURRENCY_SYMBOL[unit]}{text}"
    if unit and style in ("unit", "thousands", "money", "words", "k"):
        sep = "" if unit in ("%", "°C") else " "
        return f"{text}{sep}{unit}"
    return text


NUMBER_STYLES = ("thousands", "k", "words", "money", "unit")


class ValueFormatter:
    """Formats leaf values for one text; records the paths whose text differs from the gold literal."""

    def __init__(self, rng: random.Random, reformat_prob: float, bool_words: bool) -> None:
        self.rng = rng
        self.reformat_prob = reformat_prob
        self.bool_words = bool_words  # prose-like texts say yes/no rather than true/false
        self.reformatted: list[str] = []
        self.null_form = rng.choice(NULL_FORMS)
        self.date_style = rng.choice(DATE_STYLES)

    def __call__(self, value: Any, path: str, unit: str = "", fmt: str = "", is_enum: bool = False) -> str:
        text = self._format(value, unit, fmt, is_enum)
        if value is not None and canonical(value) not in text:
            self.reformatted.append(path)
        return text

    def _format(self, value: Any, unit: str, fmt: str, is_enum: bool) -> str:
        rng = self.rng
        change = rng.random() < self.reformat_prob
        if value is None:
            return self.null_form
        if isinstance(value, bool):
            if self.bool_words or change:
                return ("yes" if value else "no") if rng.random() < 0.8 else canonical(value)
            return canonical(value)
        if isinstance(value, (int, float)):
            if not change:
                return fmt_number(value, unit, "unit") if unit and rng.random() < 0.5 else canonical(value)
            return fmt_number(value, unit, rng.choice(NUMBER_STYLES))
        if isinstance(value, str):
            if change and fmt == "date":
                return fmt_date(value, self.date_style if rng.random() < 0.7 else rng.choice(DATE_STYLES))
            if change and fmt == "date-time":
                return fmt_datetime(value, rng.choice(DATETIME_STYLES))
            if is_enum and "_" in value and (change or rng.random() < 0.5):
                return value.replace("_", " ")
            return value
        return json.dumps(value)

"""Dates and times in text, indexed by calendar value.

Text forms: "2024-03-05", "2024/03/05", "05/03/2024" and "05.03.24" (both day-month and
month-day readings), "March 5, 2024", "Mar 5th 2024", "5 March 2024", "5th of March, 2024",
optionally after a weekday; times "14:30", "2:30 pm", "3pm", "noon", "midnight" and ISO
"T10:30:00Z". A date-time value is grounded when its date and its clock time (time zones ignored)
are both written close together.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slot.grounding.text_index import TextIndex

__all__ = ["parse_date_value", "DateIndex"]

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORD = r"(?:st|nd|rd|th)?"
_DATE_PATTERNS = [
    re.compile(r"(?<!\d)(?P<year>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<day>\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<year>\d{4}|\d{2})(?!\d)"),
    re.compile(r"\b" + _MONTH + r"\s+(?P<day>\d{1,2})" + _ORD + r",?\s+(?P<year>\d{4})(?!\d)"),
    re.compile(r"(?<!\d)(?P<day>\d{1,2})" + _ORD + r"\s+(?:of\s+)?" + _MONTH + r",?\s+(?P<year>\d{4})(?!\d)"),
]
_AMPM = r"(?P<ap>(?:am|pm|a\.m\.|p\.m\.)(?![a-z]))"
_TIME = re.compile(
    r"(?<!\d)(?P<h>\d{1,2})(?:(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?)\s*" + _AMPM + r"?|\s*"
    + _AMPM.replace("ap", "ap2") + r")"
    r"|\b(?P<word>noon|midday|midnight)\b"
)
_WINDOW = 40  # max characters between a date and its time


def _make_date(year: int, month: int, day: int) -> date | None:
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _dates_of(m: re.Match[str]) -> set[date]:
    g = m.groupdict()
    year = int(g["year"])
    if g.get("a") is not None:  # dd/mm/yyyy or mm/dd/yyyy: keep both readings
        a, b = int(g["a"]), int(g["b"])
        return {d for d in (_make_date(year, b, a), _make_date(year, a, b)) if d}
    month = _MONTHS[g["month"]] if g.get("month") else int(g["m"])
    d = _make_date(year, month, int(g["day"]))
    return {d} if d else set()


def _times_of(m: re.Match[str]) -> time | None:
    if m.group("word"):
        return time(0, 0) if m.group("word") == "midnight" else time(12, 0)
    ap = (m.group("ap") or m.group("ap2") or "").replace(".", "")
    if m.group("mi") is None and not ap:
        return None  # a bare number is not a time
    hour, minute = int(m.group("h")), int(m.group("mi") or 0)
    if ap == "pm" and hour < 12:
        hour += 12
    elif ap == "am" and hour == 12:
        hour = 0
    try:
        return time(hour, minute, int(m.group("s") or 0))
    except ValueError:
        return None


def parse_date_value(value: str) -> tuple[set[date], time | None] | None:
    """Dates (and the clock time, if any) a string value denotes, or None if it is not a date."""
    s = value.strip()
    try:
        dt = datetime.fromisoformat(s.replace("z", "Z"))
    except ValueError:
        dt = None
    if dt is not None and len(s) >= 10:
        has_time = len(s) > 10
        return {dt.date()}, (dt.time().replace(microsecond=0, tzinfo=None) if has_time else None)
    low = s.lower()
    for pattern in _DATE_PATTERNS:
        m = pattern.match(low)
        if m is None:
            continue
        dates = _dates_of(m)
        rest = low[m.end():].strip(" ,t")
        if not rest:
            return (dates, None) if dates else None
        tm = _TIME.fullmatch(rest.removeprefix("at").strip())
        t = _times_of(tm) if tm else None
        return (dates, t) if dates and t else None
    return None


class DateIndex:
    """Dates and clock times written in a text, with original spans."""

    def __init__(self, index: TextIndex) -> None:
        self._index = index
        self.dates: dict[date, list[tuple[int, int]]] = {}
        taken: list[tuple[int, int]] = []
        words = index.positions()
        has_month = any(m in words for m in _MONTHS)
        for pattern in _DATE_PATTERNS if has_month else _DATE_PATTERNS[:2]:
            for m in pattern.finditer(index.norm):
                if any(s < m.end() and m.start() < e for s, e in taken):
                    continue  # already read by an earlier (more specific) pattern
                taken.append(m.span())
                span = index.orig_span(*m.span())
                for d in _dates_of(m):
                    self.dates.setdefault(d, []).append(span)
        self.times: list[tuple[time, tuple[int, int]]] = []
        for m in _TIME.finditer(index.norm):
            t = _times_of(m)
            if t is not None and not any(s <= m.start() < e for s, e in taken):
                self.times.append((t, index.orig_span(*m.span())))

    def find(self, dates: set[date], clock: time | None) -> tuple[list[tuple[int, int]], bool]:
        """Spans for the value and whether its time was found too (always True without a time)."""
        date_spans = sorted({s for d in dates for s in self.dates.get(d, ())})
        if clock is None or not date_spans:
            return date_spans, clock is None and bool(date_spans)
        out: list[tuple[int, int]] = []
        for ds, de in date_spans:
            for t, (ts, te) in self.times:
                same = (t.hour, t.minute) == (clock.hour, clock.minute) and (
                    t.second == clock.second or t.second == 0)
                if same and (0 <= ts - de <= _WINDOW or 0 <= ds - te <= _WINDOW):
                    out.append((min(ds, ts), max(de, te)))
        return (sorted(set(out)), True) if out else (date_spans, False)

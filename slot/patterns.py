"""Schema regexes applied to model output, bounded in time: the ``regex`` module with a timeout.

JSON Schema ``pattern`` and ``patternProperties`` are checked against generated strings and keys after
decoding. Python's ``re`` backtracks without bound (``(a+)+b`` on 40 ``a``s runs for days) and holds
the GIL while it does, freezing the whole server. Here every search runs under a time budget; past it
:class:`PatternTimeout` is raised and the caller reports the output as unchecked, never hangs.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import time
from typing import Any, Iterator

import regex

BUDGET_S = 0.25
"""Seconds all pattern searches of one post-validation (or one grounding pass) may take together."""

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("slot_pattern_deadline", default=None)


class PatternTimeout(Exception):
    """A pattern search ran past the time budget."""

    def __init__(self, pattern: str) -> None:
        super().__init__(f"pattern {pattern!r} could not be checked within {BUDGET_S:g} s (it backtracks "
                         "too much on this value)")
        self.pattern = pattern


@contextlib.contextmanager
def time_budget(seconds: float = BUDGET_S) -> Iterator[None]:
    """All :func:`search` calls inside share one budget of ``seconds``."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def search(pattern: str, string: str, flags: int = 0) -> Any:
    """``re.search`` semantics (ECMA-like enough for JSON Schema); raises PatternTimeout past the budget.

    Outside :func:`time_budget` each call gets the whole budget to itself. The ``regex`` module also
    releases the GIL while it matches, so other threads (the event loop) keep running meanwhile.
    """
    deadline = _deadline.get()
    remaining = BUDGET_S if deadline is None else deadline - time.monotonic()
    if remaining <= 0:
        raise PatternTimeout(pattern)
    try:
        return regex.search(pattern, string, flags, timeout=remaining)
    except TimeoutError:
        raise PatternTimeout(pattern) from None


class _BoundedRe:
    """Stands in for ``re`` inside jsonschema's keyword modules: ``search`` is bounded, the rest is ``re``."""

    search = staticmethod(search)

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)


def bound_jsonschema() -> None:
    """Make jsonschema's regex keywords use the bounded :func:`search` (idempotent).

    jsonschema has no hook for its regex engine: ``pattern``, ``patternProperties``, and the
    ``additionalProperties`` / ``unevaluatedProperties`` bookkeeping call ``re.search`` from three
    modules. Replacing ``re`` there bounds all of them, for every draft, with one change; the hardening
    tests fail if a jsonschema upgrade moves those calls elsewhere.
    """
    from jsonschema import _keywords, _legacy_keywords, _utils

    for module in (_keywords, _legacy_keywords, _utils):
        setattr(module, "re", _BoundedRe())

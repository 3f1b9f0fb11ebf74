"""Where each value of a JSON text (or of a prefix of one) lies: its JSON Pointer, kind and characters.

Finish mode reads a cut output back with it (``slot.engine.cpu.guards.finish``: which values were open, which it wrote),
and per-field confidence maps token probabilities onto the leaves of a finished one (``slot.confidence``).
Lenient by design: an unfinished value ends where the text ends.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from slot.leaves import join_pointer

__all__ = ["Span", "value_spans"]


@dataclass(frozen=True)
class Span:
    """One value of a JSON text: its JSON Pointer, kind and ``[start, end)`` characters (the end of the text
    when the value is unfinished)."""

    pointer: str
    kind: str
    """object, array, string, number or literal (true, false, null)."""
    start: int
    end: int


_NUMBER = re.compile(r"-?[0-9.eE+\-]*")
_WORD = re.compile(r"[a-z]+")
_SPACE = re.compile(r"\s*")


def value_spans(text: str) -> list[Span]:
    """Every value of a JSON text (or of a prefix of one) with its pointer, in order of where it ends."""
    spans: list[Span] = []
    _value(text, 0, "", spans, depth=0)
    return spans


def _value(text: str, at: int, pointer: str, spans: list[Span], depth: int) -> int:
    """Scan the value at ``at``; returns where it ends."""
    at = _SPACE.match(text, at).end()  # type: ignore[union-attr] - matches ""
    if at >= len(text) or depth > 512:
        return at
    start, char = at, text[at]
    if char in "{[":
        kind, closer, index = ("object", "}", 0) if char == "{" else ("array", "]", 0)
        at += 1
        while True:
            at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
            if at >= len(text):
                break
            if text[at] == closer:
                at += 1
                break
            if text[at] == ",":
                at += 1
                continue
            if kind == "object":
                if text[at] != '"':
                    break
                key_end = _string_end(text, at)
                key = _key(text[at:key_end])
                at = _SPACE.match(text, key_end).end()  # type: ignore[union-attr]
                if at >= len(text) or text[at] != ":":
                    break
                at = _value(text, at + 1, join_pointer(pointer, key), spans, depth + 1)
            else:
                before = at
                at = _value(text, at, join_pointer(pointer, index), spans, depth + 1)
                index += 1
                if at == before:
                    break
    elif char == '"':
        kind, at = "string", _string_end(text, at)
    elif char in "-0123456789":
        kind, at = "number", _NUMBER.match(text, at).end()  # type: ignore[union-attr]
    else:
        kind, at = "literal", _WORD.match(text, at).end() if _WORD.match(text, at) else at  # type: ignore[union-attr]
    spans.append(Span(pointer, kind, start, at))
    return at


def _string_end(text: str, at: int) -> int:
    """Where the string that opens at ``at`` ends (after its closing quote; the text's end when unclosed)."""
    position = at + 1
    while position < len(text):
        char = text[position]
        if char == "\\":
            position += 2
            continue
        if char == '"':
            return position + 1
        position += 1
    return len(text)


def _key(quoted: str) -> str:
    try:
        key = json.loads(quoted)
        return key if isinstance(key, str) else quoted
    except ValueError:
        return quoted.strip('"')

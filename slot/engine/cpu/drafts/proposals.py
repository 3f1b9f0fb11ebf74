"""Draft proposals for speculative decoding: what the grammar forces, and what the input text continues.

A SLOT output is mostly keys and punctuation the grammar forces, and values copied from the input.
Drafts are only proposals: the decoding loop keeps the prefix the grammar accepts and the model agrees
with under greedy decoding, so the output is the same as plain greedy constrained decoding.

A copied span stops at the next punctuation of the input (values rarely run past a comma or a full
stop; a ``.`` or ``,`` between letters or digits, as in ``19.2`` or ``a.b@c.com``, is not such a stop), or
where the grammar stops accepting it (``182.5`` of ``182.5 cm`` in a number), and is followed by a guess
that the value ends there: the first closing token the grammar allows (``","``, ``"}``, ``,"`` ...) and
then whatever the grammar forces after it (the next key). When the guess is right, the end of one value
and the next key cost no pass of their own. At the start of a value, where the output has nothing yet to
match, the input is searched for the key as a label (``Postal code: 85055``, ``| PHONE | +1-266...``) and
the first few characters after it are drafted; once they are right the ordinary copy takes over. Dates and
numbers the text writes otherwise than JSON (``18 May 2024``, ``1,250``) are drafted in JSON's form
(``slot.engine.cpu.drafts.value_forms``); a list item is looked up after the previous item in the text (``large, manual
and reviewed``); a string value begun with 1-3 characters, after the first word of the text they begin. Forced text whose
tokenization llguidance leaves open (``":"`` after a key) is drafted as the tokenizer would write it.
Earlier outputs of the same schema (``slot.engine.cpu.drafts.output_memory``) fill in what the input cannot: the
value after a key, where a copied value ends, values the model rewrites. A draft runs on across values
and keys until ``limit`` or until nothing suggests the next token.
"""

from __future__ import annotations

import re
from typing import Any

from slot.engine.cpu.drafts.output_memory import SchemaMemory
from slot.engine.cpu.drafts.value_forms import form_continuation, label_pattern
from slot.grammar.base import Matcher

MAX_SUFFIX_CHARS = 32
MIN_SUFFIX_CHARS = 2
CONTINUATION_CHARS = 64
PLACES_TRIED = 8
"""How many places of a matched suffix in the input ``copy_continuation`` looks at for a value not used yet."""
LABEL_CHARS = 8
"""How much of the text after a key's label is drafted at a value's start: a wrong guess there wastes every
token fed after it, a right one lets the copy take over. In replays of 100 synthetic rows, 6 to 12 characters
took 0.185-0.192 passes per output token (0.213 without labels) and the least estimated time; 3 and 64 more."""
BOUNDARIES = frozenset(',.;!?()[]{}|"\n\t')
"""Characters of the input where a copied value most likely ends. A cut inside a value (749.99) costs one
pass more; measured on E2E and synthetic rows, cutting at every comma and full stop saves more than that."""
FORCED, COPIED, REMEMBERED = "forced", "copied", "remembered"
"""Where a draft token came from: the grammar, the input text, earlier outputs of the schema."""
CLOSERS = ('","', '"}', '",', '"]', '"', ',"', '}', ']', ',')
"""Tokens that end a value, most likely first; the first one the grammar allows is drafted."""

_closer_ids: dict[int, list[int]] = {}


def closer_ids(tokenizer: Any) -> list[int]:
    """Token ids of CLOSERS that are single tokens in this vocabulary (cached per tokenizer)."""
    key = id(tokenizer)
    if key not in _closer_ids:
        ids = [tokenizer.encode(text, add_special_tokens=False) for text in CLOSERS]
        _closer_ids[key] = [found[0] for found in ids if len(found) == 1]
    return _closer_ids[key]


_JOINER = re.compile(r"\s(?:and|or)\s")
"""A conjunction between words of the input: list items (``pad thai and tacos``) and clauses end there."""


def cut_at_boundary(continuation: str) -> tuple[str, bool]:
    """The continuation up to its first boundary character, and whether one was found. A ``.`` or ``,``
    between two letters or digits (``19.2``, ``carter.com``, ``1,000``) is part of a value, not a boundary."""
    joined = _JOINER.search(continuation)
    if joined is not None:
        continuation = continuation[:joined.start() + 1]
    for at, char in enumerate(continuation):
        if char in BOUNDARIES and not (char in ".," and 0 < at < len(continuation) - 1
                                       and continuation[at - 1].isalnum() and continuation[at + 1].isalnum()):
            return continuation[:at], True
    return continuation, joined is not None


def copy_continuation(output_text: str, source: str) -> str:
    """The text that follows, in ``source``, the longest suffix of ``output_text`` found there; of several
    places, the first whose value the output does not hold yet (a second address after the first)."""
    if not source or not output_text:
        return ""
    longest = min(MAX_SUFFIX_CHARS, len(output_text))
    for size in range(longest, MIN_SUFFIX_CHARS - 1, -1):
        suffix = output_text[-size:]
        at = source.find(suffix)
        first, tries = "", PLACES_TRIED
        while at >= 0 and tries:
            tries -= 1
            continuation = source[at + size:at + size + CONTINUATION_CHARS]
            value = cut_at_boundary(continuation)[0]
            if len(value) < 3 or suffix + value not in output_text:
                return continuation
            first = first or continuation
            at = source.find(suffix, at + 1)
        if first:
            return first
    return ""


_VALUE_START = re.compile(r'"((?:[^"\\]|\\.){1,64})":"?([^"{}\[\],:]{0,3})$')
"""The output ends at a value's start: ``"key":"`` or ``"key":`` and at most 3 characters of the value."""
_VALUE_START_CHARS = 2 + 2 * 64 + 2 + 3
"""The longest text ``_VALUE_START`` can match (64 escaped key characters): only this tail is searched, since a
search anchored at the end still tries every start (120 us on a 2,000-character output, 9 us on the tail)."""
_LABEL_GAP = re.compile(r"[\s|:=*\-\u2013\u2014\u2022]*(?:(?:is|are|was|were)\s+)?", re.IGNORECASE)
"""What separates a label from its value in text: spaces, ``:``, ``=``, ``|``, dashes, bullets, ``**``, and a
linking verb (``the full name is Joshua``)."""


def label_continuation(output_text: str, source: str) -> str:
    """At a value's start: the ``LABEL_CHARS`` characters that follow the key used as a label in ``source``
    (after its separators and what the value already has), or "" when the key is not found as a label."""
    match = _VALUE_START.search(output_text[-_VALUE_START_CHARS:])
    pattern = label_pattern(match.group(1)) if match else None
    if match is None or pattern is None:
        return ""
    partial = match.group(2)
    first = ""
    for found in pattern.finditer(source):
        at = _LABEL_GAP.match(source, found.end()).end()  # type: ignore[union-attr] - the pattern matches ""
        if at > found.end() and source.startswith(partial, at):
            rest = source[at + len(partial):at + len(partial) + LABEL_CHARS]
            if _unused(output_text, partial, rest):
                return rest
            first = first or rest
    return first


def _unused(output_text: str, partial: str, rest: str) -> bool:
    """Whether no string value of the output begins as ``partial`` + ``rest`` would (its first 4 characters
    after ``partial``): a value the output already holds is rarely the next one."""
    return '"' + partial + rest[:4] not in output_text


_NEXT_ITEM = re.compile(r'\["((?:[^"\\]|\\.){1,64})","$|"((?:[^"\\]|\\.){1,64})","$')
"""The output ends at the start of a string item after another one: ``["a","`` or ``...,"b","``."""
_ITEM_GAP = re.compile(r"[\s,;/|&*\-\u2022]*(?:(?:and|or)\s+)?[\s\"']*", re.IGNORECASE)
"""What separates items of a list in text: commas, slashes, bullets, a final ``and``, quotes."""
_WORD_START = re.compile(r'(?:":|[\[,])"([^"\\{}\[\],:]{1,3})$')
"""The output has begun a string value with 1-3 characters (too few for the copy's suffix search)."""


def item_continuation(output_text: str, source: str) -> str:
    """At the start of a string item after another: what follows that item in ``source`` past the separators
    of a list (``large, manual and reviewed``), or ""."""
    match = _NEXT_ITEM.search(output_text[-140:])
    if match is None:
        return ""
    previous = match.group(1) or match.group(2)
    at = source.find(previous)
    if at < 0:
        return ""
    start = _ITEM_GAP.match(source, at + len(previous)).end()  # type: ignore[union-attr] - matches ""
    return source[start:start + CONTINUATION_CHARS] if start > at + len(previous) else ""


def word_continuation(output_text: str, source: str) -> str:
    """After the first 1-3 characters of a string value: the ``LABEL_CHARS`` characters that follow them at
    the first word of ``source`` they begin whose text the output has not used yet, or ""."""
    match = _WORD_START.search(output_text[-8:])
    if match is None:
        return ""
    partial = match.group(1)
    for found in re.finditer(r"(?<!\w)" + re.escape(partial), source):
        rest = source[found.end():found.end() + LABEL_CHARS]
        if rest and _unused(output_text, partial, rest):
            return rest
    return ""


def forced_by_text(matcher: Matcher, tokenizer: Any) -> list[int]:
    """The grammar's forced text tokenized the usual way, when its forced tokens stop short of it (llguidance
    leaves ``":"`` after a key unforced because another tokenization could still follow)."""
    text = matcher.forced_text()
    if not text:
        return []
    tokens = tokenizer.encode(text, add_special_tokens=False)
    return tokens[:matcher.validate(tokens)]


def build_draft(matcher: Matcher | None, tokenizer: Any, output_ids: list[int], source: str,
                limit: int, memory: SchemaMemory | None = None) -> tuple[list[int], list[str]]:
    """Propose up to ``limit`` tokens after ``output_ids``; returns (draft, where each draft token came from:
    FORCED, COPIED or REMEMBERED).

    Forced text, copied text and value-end guesses alternate until the limit or the first point where
    neither the input nor ``memory`` (earlier outputs of the same schema) suggests anything. The matcher
    is advanced while drafting (forced tokens depend on what precedes them) and restored.
    """
    draft: list[int] = []
    kinds: list[str] = []
    consumed = 0

    def take(tokens: list[int], kind: str) -> list[int]:
        """Append the prefix of ``tokens`` the grammar accepts (all of them without a grammar); returns it."""
        nonlocal consumed
        if matcher is not None and tokens:
            tokens = tokens[:matcher.validate(tokens)]
            if tokens:
                matcher.consume(tokens)
                consumed += len(tokens)
        draft.extend(tokens)
        kinds.extend([kind] * len(tokens))
        return tokens

    try:
        while len(draft) < limit:
            room = limit - len(draft)
            forced = matcher.forced()[:room] if matcher is not None else []
            if not forced and matcher is not None:
                forced = forced_by_text(matcher, tokenizer)[:room]
            if forced:
                if not take(forced, FORCED):
                    break
                continue
            text = tokenizer.decode(output_ids + draft, skip_special_tokens=True)
            opened = memory.open_value(text) if memory is not None else None
            copied = form_continuation(text, source) or copy_continuation(text, source) \
                or label_continuation(text, source) or item_continuation(text, source) \
                or word_continuation(text, source)
            continuation, bounded, kind = _guess(opened, copied, source, memory)
            if continuation is None:
                remembered = memory.continuation(text) if memory is not None and matcher is not None \
                    and opened is None else ""
                if not remembered or not take(tokenizer.encode(remembered, add_special_tokens=False)[:room],
                                              REMEMBERED):
                    break
                continue
            encoded = tokenizer.encode(continuation, add_special_tokens=False) if continuation else []
            proposal = take(encoded[:room], kind)
            if len(proposal) < min(len(encoded), room):  # the grammar ends the value here (a unit after a number)
                bounded = True
            elif not bounded:
                break
            if matcher is None or len(draft) >= limit:
                break
            closer = next((token for token in closer_ids(tokenizer) if matcher.validate([token]) == 1), None)
            if closer is None:
                break
            matcher.consume([closer])
            consumed += 1
            draft.append(closer)
            kinds.append(kind)
    finally:
        if matcher is not None and consumed:
            matcher.rollback(consumed)
    return draft, kinds


def _guess(opened: tuple[str, str] | None, copied: str, source: str,
           memory: SchemaMemory | None) -> tuple[str | None, bool, str]:
    """The text to draft next, whether a value ends after it, and where it came from; None when there is no guess.

    Inside a string value the memory knows (``opened``: its key and the value so far), a remembered value
    decides: after the key, the value itself; within a copy, where the copy ends; with no copy, the rest of a
    remembered value. Otherwise the copy from the input runs to its next punctuation.
    """
    if opened is not None and memory is not None:
        key, partial = opened
        if not partial:
            value = memory.value_for(key, source)
            if value is not None:
                return value, True, REMEMBERED
        else:
            rest = memory.value_end(key, partial, copied)
            if rest is None and not copied:
                rest = memory.completion(key, partial, source)
            if rest is not None:
                return rest, True, REMEMBERED
    continuation, bounded = cut_at_boundary(copied)
    if not continuation and not bounded:
        return None, False, COPIED
    if bounded:  # a value does not end in the space before a bracket or a comma: "RX-1968510 (refill)"
        continuation = continuation.rstrip()
    return continuation, bounded, COPIED

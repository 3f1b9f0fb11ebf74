"""Draft proposals for speculative decoding: what the grammar forces, and what the input text continues.

A SLOT output is mostly keys and punctuation the grammar forces, and values copied from the input.
Drafts are only proposals: the decoding loop keeps the prefix the grammar accepts and the model agrees
with under greedy decoding, so the output is the same as plain greedy constrained decoding.
"""

from __future__ import annotations

from typing import Any

from slot.grammar.base import Matcher

MAX_SUFFIX_CHARS = 32
MIN_SUFFIX_CHARS = 2
CONTINUATION_CHARS = 64


def copy_continuation(output_text: str, source: str) -> str:
    """The text that follows, in ``source``, the longest suffix of ``output_text`` found there."""
    if not source or not output_text:
        return ""
    longest = min(MAX_SUFFIX_CHARS, len(output_text))
    for size in range(longest, MIN_SUFFIX_CHARS - 1, -1):
        suffix = output_text[-size:]
        at = source.find(suffix)
        if at >= 0:
            start = at + size
            return source[start:start + CONTINUATION_CHARS]
    return ""


def build_draft(matcher: Matcher | None, tokenizer: Any, output_ids: list[int], source: str,
                limit: int) -> tuple[list[int], list[bool]]:
    """Propose up to ``limit`` tokens after ``output_ids``; returns (draft, which draft tokens the grammar forced).

    The matcher is advanced while drafting (forced tokens depend on what precedes them) and restored.
    """
    draft: list[int] = []
    forced_flags: list[bool] = []
    consumed = 0
    try:
        while len(draft) < limit:
            room = limit - len(draft)
            forced = matcher.forced()[:room] if matcher is not None else []
            if forced:
                ok = matcher.validate(forced)
                forced = forced[:ok]
                if not forced:
                    break
                matcher.consume(forced)
                consumed += len(forced)
                draft += forced
                forced_flags += [True] * len(forced)
                continue
            text = tokenizer.decode(output_ids + draft, skip_special_tokens=True)
            continuation = copy_continuation(text, source)
            if not continuation:
                break
            proposal = tokenizer.encode(continuation, add_special_tokens=False)[:room]
            if matcher is not None:
                ok = matcher.validate(proposal)
                proposal = proposal[:ok]
                if not proposal:
                    break
                matcher.consume(proposal)
                consumed += len(proposal)
            draft += proposal
            forced_flags += [False] * len(proposal)
            if matcher is None or len(proposal) < room:
                break
    finally:
        if matcher is not None and consumed:
            matcher.rollback(consumed)
    return draft, forced_flags

"""Repetition guard: stop a JSON array once the model keeps emitting the same item.

A small model under a grammar can fall into a loop inside an array (``"notes": ["a", "a", "a", ...]``)
that only ends at ``max_tokens``, which truncates the JSON. When the item just completed occurs
``max_repeats`` times in its array, the guard forbids the ``,`` that would start one more, so the
array closes and decoding goes on with the rest of the object. It is part of the greedy choice itself
(plain decoding and draft verification both apply it), so speculation stays exact.
"""

from __future__ import annotations

from typing import Any


def comma_tokens(tokenizer: Any, vocab_size: int) -> list[int]:
    """Ids of the tokens whose text contains a comma (``,``, ``",``, ``"},{"`` ...): the tokens that can
    end one array item and open the next."""
    pieces = tokenizer.convert_ids_to_tokens(list(range(min(vocab_size, len(tokenizer)))))
    return [index for index, piece in enumerate(pieces) if isinstance(piece, str) and "," in piece]


def opens_repeated_item(context: str, piece: str, max_repeats: int) -> bool:
    """True when appending ``piece`` to ``context`` would add a separator comma after an array item that
    already occurs ``max_repeats`` times in that array."""
    comma = piece.find(",")
    return comma >= 0 and item_repeats(context + piece[:comma]) >= max_repeats


def item_repeats(text: str) -> int:
    """How often the item that ends a JSON prefix occurs in its array (the innermost open container), when
    a separator comma would come next.

    Counts every equal item of that array, not only adjacent ones, so ``a, b, a, b, a`` loops are caught too.
    0 when the prefix ends inside a string or the innermost open container is not an array.
    """
    stack: list[list[int] | None] = []  # None for an object, the item start offsets for an array
    in_string = escaped = False
    for position, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "[":
            stack.append([position + 1])
        elif char == "{":
            stack.append(None)
        elif char in "]}":
            if stack:
                stack.pop()
        elif char == "," and stack and stack[-1] is not None:
            stack[-1].append(position + 1)
    if in_string or not stack or stack[-1] is None:
        return 0
    starts = stack[-1]
    ends = [start - 1 for start in starts[1:]] + [len(text)]
    items = [text[start:end].strip() for start, end in zip(starts, ends)]
    if not items[-1]:
        return 0
    return items.count(items[-1])

"""List extension: a finished answer resumed with one more item opened in an array of objects, the item kept only
when it is a new item of the text (issue 25).

On long documents a small model closes lists of objects early, and confidently: 5-21 logits between ``]`` and the
best token that opens another item where the text still lists more, so no greedy margin can tell a premature close
from a real one. Yet with the next item opened for it, it writes the text's next item. So after a finished greedy
answer, each outermost array of objects (:func:`openings`), in output order, is resumed once with one more item
opened: the answer up to the array's last item, then ``,{`` (``GenerationRequest.written``). The resumed answer is
taken when its new item is new (:func:`is_new_item`): its first string value is in the text, and one of its string
values is in the text and not yet anywhere in the answer (values inside nested lists left out), and the model wrote
its first value with a confidence of at least ``MIN_CONFIDENCE``. Otherwise the resumption is given up as soon as
that is known (:class:`ItemWatch`) and the array stays as the model closed it. An array that gained an item is a
candidate again; the setting ``extend_lists`` bounds the resumptions per answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slot.json_spans import Span, value_spans
from slot.leaves import iter_leaves, join_pointer
from slot.resumption import Watch, normal

__all__ = ["MIN_CONFIDENCE", "OPEN_ITEMS", "Opening", "ItemWatch", "answer_strings", "array_at", "first_value_pointer",
           "is_new_item", "may_have_object_arrays", "openings", "own_strings"]

OPEN_ITEMS = (",{", ", {")
"""What may resume an array of objects after its last item: the item separator and an object, compact as SLOT's
llguidance grammar writes JSON, or spaced as other grammar engines may (the first the grammar takes is used)."""

MIN_CONFIDENCE = 0.5
"""A new item is kept only when the model wrote its first own string value with at least this confidence
(``slot.confidence``, the product of its token probabilities): on the rows the rule was set on, the items that
were right had 0.59-0.95, two distractor names of the text (an unrelated caller, a place name's last word) 0.08
and 0.24."""

@dataclass(frozen=True)
class Opening:
    """An array of objects in a finished output, where another item could be opened."""

    pointer: str
    items: int
    """How many items it has."""
    cut: int
    """Characters of the output kept when it is resumed: up to the end of its last item."""

    @property
    def item_pointer(self) -> str:
        """The pointer of the item a resumption opens."""
        return join_pointer(self.pointer, self.items)


def openings(text: str) -> list[Opening]:
    """The outermost non-empty arrays whose items are all objects in the JSON ``text`` (arrays inside no other
    array), in output order.

    Only the outermost: an array nested in an item of another (a plant's variants, a site's cohorts) gained the
    items of its parent's siblings, which are new items of the text too (a first trial on 12 long documents lost
    content similarity and much precision that way). An outer item the extension adds gets its nested arrays from
    the model itself."""
    spans = value_spans(text)
    kinds = {span.pointer: span for span in spans}
    arrays = [span.pointer for span in spans if span.kind == "array"]
    found: list[Opening] = []
    for span in spans:
        if span.kind != "array" or any(span.pointer.startswith(other + "/") for other in arrays):
            continue
        items: list[Any] = []
        while (item := kinds.get(join_pointer(span.pointer, len(items)))) is not None:
            items.append(item)
        if items and all(item.kind == "object" for item in items):
            found.append(Opening(span.pointer, len(items), items[-1].end))
    return sorted(found, key=lambda opening: opening.cut)


def own_strings(item: Any, pointer: str = "") -> list[tuple[str, str]]:
    """The string values of an object and of the objects inside it, lists left out (``(pointer, value)`` in
    document order): what tells one item from another, since a nested list may hold anything of the text."""
    found: list[tuple[str, str]] = []
    if isinstance(item, dict):
        for key, value in item.items():
            if isinstance(value, str):
                found.append((join_pointer(pointer, key), value))
            elif isinstance(value, dict):
                found += own_strings(value, join_pointer(pointer, key))
    return found


def _telling(item: Any) -> list[tuple[str, str]]:
    """The own strings of an item that can tell it apart (two characters at least, spacing aside)."""
    return [(pointer, value) for pointer, value in own_strings(item) if len(normal(value)) >= 2]


def first_value_pointer(item: Any, item_pointer: str) -> str | None:
    """The pointer of the item's first own string value, the one :func:`is_new_item` finds in the text first."""
    telling = _telling(item)
    return item_pointer + telling[0][0] if telling else None


def answer_strings(value: Any) -> set[str]:
    """Every string value of a parsed answer, normalised as :func:`is_new_item` compares them."""
    return {normal(leaf) for _, leaf in iter_leaves(value) if isinstance(leaf, str)}


def is_new_item(item: Any, known: set[str], text: str) -> bool:
    """Whether ``item``, opened after the last item of an array, is a new item of ``text``: an object whose first own
    string value (:func:`own_strings`) occurs in the text (case and spacing aside), and one of whose own string
    values occurs in the text and is not yet in the answer it extends (``known``, :func:`answer_strings`). Values
    inside nested lists do not count (a repeated site with one new visit in it is not a new site), nor values the
    answer already has elsewhere (a tag written again as an achievement's name is not a new achievement)."""
    if not isinstance(item, dict):
        return False
    strings = [normal(value) for _, value in _telling(item)]
    haystack = normal(text)
    if not strings or strings[0] not in haystack:
        return False
    return any(value in haystack and value not in known for value in strings)


def array_at(value: Any, pointer: str) -> list[Any] | None:
    """The array at JSON Pointer ``pointer`` in the parsed answer ``value``, or None."""
    target: Any = value
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and token in target:
            target = target[token]
        elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
            target = target[int(token)]
        else:
            return None
    return target if isinstance(target, list) else None


def may_have_object_arrays(document: Any) -> bool:
    """Whether a schema document has an ``items`` schema that is an object (so an answer may have an array of
    objects to extend): decides whether the first decoding keeps its key/value states for resumptions."""
    if isinstance(document, dict):
        if isinstance(document.get("items"), dict):
            return True
        return any(may_have_object_arrays(child) for child in document.values())
    if isinstance(document, list):
        return any(may_have_object_arrays(child) for child in document)
    return False


class ItemWatch(Watch):
    """Watches a resumed answer as it is decoded (``on_delta``) and gives it up (``give_up``) as soon as its new item
    cannot be new: its first own string value is written and is not in the text, or the item is written and is not
    new (:func:`is_new_item`). A refused resumption costs part of one item, not the rest of the answer."""

    def __init__(self, written_text: str, opening: Opening, known: set[str], source_text: str) -> None:
        super().__init__(written_text)
        self.opening = opening
        self.known = known
        """The string values of the answer being extended (:func:`answer_strings`)."""
        self.source_text = source_text
        self.haystack = normal(source_text)

    def judge(self) -> bool | None:
        spans = {span.pointer: span for span in value_spans(self.text)}
        span = spans.get(self.opening.item_pointer)
        if span is None:
            return None
        if span.end >= len(self.text):  # not written to its end yet
            return False if self._first_string_invented(spans) else None
        try:
            item = json.loads(self.text[span.start:span.end])
        except ValueError:
            return False
        return is_new_item(item, self.known, self.source_text)

    def _first_string_invented(self, spans: dict[str, Span]) -> bool:
        """Whether the new item's first own string value (as :func:`is_new_item` picks it) is written to its end and
        does not occur in the text."""
        base = self.opening.item_pointer
        strings = sorted((span for pointer, span in spans.items()
                          if span.kind == "string" and pointer.startswith(base + "/") and _own(pointer, base, spans)),
                         key=lambda span: span.start)
        for span in strings:
            if span.end >= len(self.text):
                return False
            try:
                value = normal(json.loads(self.text[span.start:span.end]))
            except ValueError:
                return False
            if len(value) >= 2:
                return value not in self.haystack
        return False


def _own(pointer: str, base: str, spans: dict[str, Span]) -> bool:
    """Whether the value at ``pointer`` is reached from ``base`` through objects only (no list on the way)."""
    at = base
    for token in pointer[len(base) + 1:].split("/")[:-1]:
        at = f"{at}/{token}"
        if at not in spans or spans[at].kind != "object":
            return False
    return True

"""OutputMemory: earlier outputs for the same schema, a source of drafts that the input text cannot give.

Copying from the input drafts a value once its first token is out, but not the value itself after a
key (``"area":"`` is nowhere in the input), nor where the value ends (``Aromi`` or ``Aromi is a coffee
shop``?), nor values the model rewrites (``"familyFriendly":"no"`` from "not family friendly"). Requests
with the same schema answer those questions alike, so SLOT remembers, per (adapter, prompt prefix),
the values each string key took and the words of the input they came with:

- after a key, the remembered value of that key that occurs in the input, else, for a key with few
  values (an enum in all but name), the likeliest one given the input's words (naive Bayes);
- inside a value copied from the input, the end of the longest remembered value that the copy agrees
  with, instead of the next punctuation;
- elsewhere (numbers, booleans, optional keys), what followed the same text in an earlier output.

Drafts are only proposals, verified by the model like every other draft, so the output is the same as
plain greedy constrained decoding; the memory changes only how many forward passes it takes. It is
bounded (outputs and values per schema; schemas least recently used first out once the entries of all of
them pass a budget) and lives in the decoding thread.
"""

from __future__ import annotations

import math
import re
from collections import Counter, OrderedDict, deque

STRING_VALUE = re.compile(r'"((?:[^"\\]|\\.)*)":"((?:[^"\\]|\\.)*)"')
"""A key and its string value in compact JSON."""
OPEN_VALUE = re.compile(r'"((?:[^"\\]|\\.)*)":"((?:[^"\\]|\\.)*)$')
"""Text that ends inside a string value: the key and the value so far."""
WORD = re.compile(r"\w+")

OUTPUTS_PER_SCHEMA = 64
VALUES_PER_KEY = 64
ENUM_LIKE_VALUES = 10
"""A key with at most this many distinct values gets its likeliest value drafted even when the input does
not contain it, provided that value is at least ENUM_LIKE_SHARE of what the key took."""
ENUM_LIKE_SHARE = 0.2
WORDS_PER_VALUE = 512
"""Distinct input words counted per value of an enum-like key (naive Bayes); keys with more values keep none."""
MAX_ENTRIES = 1_000_000
"""Budget of remembered entries (values, word counts, output characters / 64) over all schemas: about 100 MB."""
MIN_MATCH_CHARS = 3
MAX_MATCH_CHARS = 48
CONTINUATION_CHARS = 64
SEARCHED_OUTPUTS = 64


class SchemaMemory:
    """What the outputs of one schema looked like: recent texts, values per key, input words per value."""

    def __init__(self, outputs: int = OUTPUTS_PER_SCHEMA) -> None:
        self.texts: deque[str] = deque(maxlen=outputs)
        self.values: dict[str, Counter[str]] = {}
        self.words: dict[tuple[str, str], Counter[str]] = {}
        """Input words per (key, value), for enum-like keys only."""

    @property
    def entries(self) -> int:
        """What this memory holds, in entries (for the budget of OutputMemory)."""
        return sum(len(c) for c in self.values.values()) + sum(len(c) for c in self.words.values()) \
            + sum(len(text) for text in self.texts) // 64

    def add(self, output: str, source: str) -> None:
        """Remember one finished output and the input it came from."""
        self.texts.append(output)
        words = set(WORD.findall(source.lower()))
        for key, value in STRING_VALUE.findall(output):
            counts = self.values.setdefault(key, Counter())
            if value not in counts and len(counts) >= VALUES_PER_KEY:
                continue
            counts[value] += 1
            if len(counts) > ENUM_LIKE_VALUES:
                for seen in counts:
                    self.words.pop((key, seen), None)
                continue
            counted = self.words.setdefault((key, value), Counter())
            for word in words:
                if word in counted or len(counted) < WORDS_PER_VALUE:
                    counted[word] += 1

    def open_value(self, text: str) -> tuple[str, str] | None:
        """(key, value so far) when ``text`` ends inside the string value of a key this memory knows."""
        found = OPEN_VALUE.search(text[-(MAX_MATCH_CHARS * 4):])
        if found is None or found.group(1) not in self.values:
            return None
        return found.group(1), found.group(2)

    def value_for(self, key: str, source: str) -> str | None:
        """The value to draft right after ``key``: one found in the input, else the likeliest of an enum-like key."""
        known = self.values[key]
        lowered = source.lower()
        inside = [value for value in known if value and value.lower() in lowered]
        if inside:
            return self._likeliest(key, inside, lowered)
        if len(known) > ENUM_LIKE_VALUES:
            return None
        best = self._likeliest(key, list(known), lowered)
        return best if known[best] >= ENUM_LIKE_SHARE * sum(known.values()) else None

    def value_end(self, key: str, partial: str, copied: str) -> str | None:
        """The rest of the value when a remembered value of ``key`` starts with ``partial`` and the text copied
        from the input agrees with it (the longest such value); None when no remembered value fits."""
        fits = [value for value in self.values[key]
                if value.startswith(partial) and copied.startswith(value[len(partial):])]
        return max(fits, key=len)[len(partial):] if fits else None

    def completion(self, key: str, partial: str, source: str) -> str | None:
        """The rest of the likeliest remembered value that starts with ``partial`` (when the input has no copy)."""
        longer = [value for value in self.values[key] if value.startswith(partial) and len(value) > len(partial)]
        return self._likeliest(key, longer, source.lower())[len(partial):] if longer else None

    def continuation(self, text: str) -> str:
        """What followed, in a recent output, the longest suffix of ``text`` (at least MIN_MATCH_CHARS)."""
        recent = list(self.texts)[-SEARCHED_OUTPUTS:]
        for size in range(min(MAX_MATCH_CHARS, len(text)), MIN_MATCH_CHARS - 1, -1):
            suffix = text[-size:]
            for past in reversed(recent):
                at = past.find(suffix)
                if at >= 0:
                    return past[at + size:at + size + CONTINUATION_CHARS]
        return ""

    def _likeliest(self, key: str, candidates: list[str], lowered_source: str) -> str:
        """Naive Bayes over the input's words for an enum-like key (log P(value) + sum of log P(word | value),
        add-0.5 smoothing); the most frequent value of a free-text key."""
        known = self.values[key]
        if len(candidates) == 1 or len(known) > ENUM_LIKE_VALUES:
            return max(candidates, key=lambda value: (known[value], len(value)))
        total = sum(known.values())
        words = set(WORD.findall(lowered_source))

        def score(value: str) -> tuple[float, int]:
            seen, count = self.words.get((key, value), Counter()), known[value]
            # summed in a fixed order: set order changes with the hash seed, and so would near-ties between values
            log_p = math.log(count / total) + sum(math.log((seen[word] + 0.5) / (count + 1)) for word in sorted(words))
            return log_p, len(value)

        return max(candidates, key=score)


class OutputMemory:
    """SchemaMemory per (adapter, prompt prefix), least recently used schemas dropped first."""

    def __init__(self, schemas: int = 256, outputs: int = OUTPUTS_PER_SCHEMA, max_entries: int = MAX_ENTRIES) -> None:
        self.schemas = schemas
        self.outputs = outputs
        self.max_entries = max_entries
        self._entries: OrderedDict[str, SchemaMemory] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self.size = 0
        """Entries held over all schemas (kept within max_entries)."""

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> SchemaMemory | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def add(self, key: str, output: str, source: str) -> None:
        """Remember an output of the schema ``key``; a no-op when the memory is off (``schemas == 0``)."""
        if self.schemas <= 0 or self.outputs <= 0:
            return
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = SchemaMemory(self.outputs)
        self._entries.move_to_end(key)
        entry.add(output, source)
        entries = entry.entries
        self.size += entries - self._sizes.get(key, 0)
        self._sizes[key] = entries
        while self._entries and (len(self._entries) > self.schemas or self.size > self.max_entries):
            dropped, _ = self._entries.popitem(last=False)
            self.size -= self._sizes.pop(dropped)

"""Text renderers: turn (plan, instance) into one of many kinds of unstructured text.

`render(kind, plan, instance, rng)` is the single entry point; it returns the text plus what was done
to it (reformatted value paths, key naming mode, shuffling, distractors, JSON faults) for meta.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from data_synthesis.plan import Node
from data_synthesis.renderers import prose as P
from data_synthesis.renderers import structured as S
from data_synthesis.renderers.doc import Doc, build_doc

TEXT_KINDS: tuple[str, ...] = (
    "prose_short", "prose_medium", "prose_long", "bullets", "markdown_table", "email", "dialogue",
    "chat_reply", "yaml", "key_value", "broken_json", "report",
)
_PROSE_KINDS = {"prose_short", "prose_medium", "prose_long", "email", "dialogue"}
_PREAMBLES = (
    "Sure! Here's the information for the {e}:", "Of course — based on what you sent, here are the {e} details:",
    "Great question! Here's a breakdown of the {e}:", "Here is what I found about the {e}.",
    "Absolutely. I've organized the {e} details below.",
)
_CLOSINGS = (
    "Let me know if you need anything else!", "Hope this helps.", "Feel free to ask if you want this in another format.",
    "If any of these details look wrong, tell me and I'll fix them.", "",
)


@dataclass
class Rendered:
    text: str
    kind: str
    reformatted: list[str]
    info: dict[str, Any] = field(default_factory=dict)


def _distractor_count(kind: str, rng: random.Random) -> int:
    if kind == "prose_long":
        return rng.randint(1, 3)
    if kind in ("prose_medium", "email", "dialogue", "chat_reply", "report"):
        return rng.choice((0, 0, 1, 2))
    return rng.choice((0, 0, 0, 1))


def render(kind: str, plan: Node, instance: dict[str, Any], rng: random.Random) -> Rendered:
    """Render one text of `kind` for an instance of `plan`."""
    if kind not in TEXT_KINDS:
        raise ValueError(f"unknown text kind {kind!r}")
    prose_like = kind in _PROSE_KINDS
    if prose_like:
        key_mode = "alias" if rng.random() < 0.4 else "words"
    else:
        key_mode = rng.choices(("raw", "words", "alias"), weights=(0.35, 0.35, 0.3))[0]
    raw_json = kind == "broken_json" and rng.random() < 0.7
    doc = build_doc(plan, instance, rng, key_mode=key_mode,
                    reformat_prob=0.0 if raw_json else (0.45 if prose_like else 0.3),
                    bool_words=prose_like or rng.random() < 0.4, shuffle=rng.random() < 0.3,
                    n_distractors=_distractor_count(kind, rng))
    info: dict[str, Any] = {"key_mode": key_mode, "shuffled": doc.shuffled, "distractors": len(doc.distractors)}
    text = _dispatch(kind, doc, rng, info, raw_json)
    reformatted = [] if raw_json else sorted(set(doc.fmt.reformatted))
    return Rendered(text=text.strip(), kind=kind, reformatted=reformatted, info=info)


def _with_notes(body: str, doc: Doc, rng: random.Random) -> str:
    if not doc.distractors:
        return body
    note = " ".join(doc.distractors)
    return f"{note}\n\n{body}" if rng.random() < 0.3 else f"{body}\n\n{rng.choice(('Note: ', 'Also: ', 'FYI: ', ''))}{note}"


def _dispatch(kind: str, doc: Doc, rng: random.Random, info: dict[str, Any], raw_json: bool) -> str:
    if kind.startswith("prose_"):
        return P.prose(doc, rng, kind.split("_", 1)[1])
    if kind == "bullets":
        return _with_notes(S.bullets(doc.entries, rng), doc, rng)
    if kind == "markdown_table":
        return _with_notes(S.table(doc.entries, rng), doc, rng)
    if kind == "yaml":
        return _with_notes(S.yaml_like(doc.entries, rng), doc, rng)
    if kind == "key_value":
        return _with_notes(S.key_value(doc.entries, rng), doc, rng)
    if kind == "report":
        return S.report(doc, rng)
    if kind == "broken_json":
        text, faults = S.broken_json(doc, rng, raw_json)
        info["json_faults"] = faults
        info["raw_values"] = raw_json
        return text
    if kind == "email":
        distractors, doc.distractors = doc.distractors, []
        body = S.bullets(doc.entries, rng) if rng.random() < 0.4 else P.prose(doc, rng, "medium")
        doc.distractors = distractors
        return P.email(doc, rng, body)
    if kind == "dialogue":
        return P.dialogue(doc, rng)
    # chat_reply: a typical LLM answer, preamble + markdown body + closing remark
    body_kind = rng.choice(("bullets", "markdown_table", "key_value", "prose_medium", "report"))
    info["body_kind"] = body_kind
    distractors, doc.distractors = doc.distractors, []
    body = _dispatch(body_kind, doc, rng, info, False)
    doc.distractors = distractors
    parts = [rng.choice(_PREAMBLES).format(e=doc.entity), body]
    if distractors:
        parts.append(" ".join(distractors))
    closing = rng.choice(_CLOSINGS)
    if closing:
        parts.append(closing)
    return "\n\n".join(parts)

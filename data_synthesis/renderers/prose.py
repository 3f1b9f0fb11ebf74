"""Free-text renderers: prose (short/medium/long), email and dialogue."""

from __future__ import annotations

import random

from data_synthesis.instances import gen_value
from data_synthesis.renderers.doc import Doc, Entry

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_SCALAR_SENT = (
    "The {label} is {v}.", "Its {label} is {v}.", "{v} is listed as the {label}.",
    "The {label} was recorded as {v}.", "As for the {label}, it is {v}.", "We have {v} for the {label}.",
    "{Label}: {v}.",
)
# Booleans are stated as an explicit answer right after the field name ("refundable: no", "the
# refundable flag is no"), the form a grounder can tie to the field without guessing polarity.
_BOOL_SENT = ("{Label}: {v}.", "The {label} is {v}.", "As for {label}: {v}.", "{Label} - {v}.")
_INTROS = (
    "Here is a summary of the {entity}.", "This {entity} record was shared with us today.",
    "Below are the details for the {entity}.", "I went through the {entity} information.", "",
)
_FILLERS = (
    "Everything was double-checked before it was sent over.", "Please review this carefully.",
    "This was compiled from the latest notes.", "Some of this came in over the phone.",
    "Nothing else seemed unusual.", "It took a while to pull all of this together.",
)


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def end(s: str) -> str:
    """Close a sentence with a period unless a value already ended it ("...overnight.")."""
    return s if s.endswith((".", "!", "?")) else s + "."


def vcap(e: Entry) -> str:
    """Capitalise a value only when it is a yes/no/none word: real values are copied verbatim."""
    return cap(e.text) if e.is_bool or e.is_null else e.text


def join_words(items: list[str]) -> str:
    if not items:
        return "none"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def clause(e: Entry, rng: random.Random, inline_ok: bool = True) -> str:
    """A sentence fragment (no final period) that states every value inside an entry."""
    if e.kind == "scalar":
        if e.is_bool:
            return f"{e.label}: {e.text}"
        return f"the {e.label} is {e.text}"
    if e.kind == "list":
        return f"the {e.label} {'are' if len(e.texts) > 1 else 'is'} {join_words(e.texts)}"
    if e.kind == "group":
        if not e.entries:
            return f"no {e.label} details were given"
        if inline_ok and all(x.kind == "scalar" and not x.is_bool for x in e.entries) and rng.random() < 0.35:
            return f"the {e.label} is {', '.join(x.text for x in e.entries)}"
        return f"for the {e.label}, " + join_words([clause(x, rng, False) for x in e.entries])
    parts = []
    for i, row in enumerate(e.rows):
        ordinal = ORDINALS[i] if i < len(ORDINALS) else f"number {i + 1}"
        parts.append(f"the {ordinal} {e.item_label} has " + join_words([short(x, rng) for x in row]))
    n = len(e.rows)
    return f"there {'are' if n != 1 else 'is'} {n} {e.label if n != 1 else e.item_label}: " + "; ".join(parts)


def short(e: Entry, rng: random.Random) -> str:
    """A compact fragment ("quantity 3") used inside lists of items."""
    if e.kind == "scalar":
        return f"{e.label} {e.text}" if not e.is_bool else f"{e.label}: {e.text}"
    return clause(e, rng, False)


def sentence(e: Entry, rng: random.Random) -> str:
    if e.kind == "scalar":
        tpl = rng.choice(_BOOL_SENT if e.is_bool else _SCALAR_SENT)
        return end(tpl.format(label=e.label, Label=cap(e.label), v=e.text, V=vcap(e))[:-1])
    return end(cap(clause(e, rng)))


def facts(doc: Doc, rng: random.Random, per_sentence: int) -> list[str]:
    out: list[str] = []
    entries = list(doc.entries)
    i = 0
    while i < len(entries):
        k = rng.randint(1, per_sentence)
        chunk = entries[i : i + k]
        i += len(chunk)
        if len(chunk) == 1:
            out.append(sentence(chunk[0], rng))
        else:
            out.append(end(cap(join_words([clause(e, rng, False) for e in chunk]))))
    return out


def with_distractors(sents: list[str], distractors: list[str], rng: random.Random) -> list[str]:
    out = list(sents)
    for d in distractors:
        out.insert(rng.randint(0, len(out)), d)
    return out


def prose(doc: Doc, rng: random.Random, length: str) -> str:
    """Running text; short packs several facts per sentence, long adds fillers and paragraphs."""
    per = {"short": 3, "medium": 2, "long": 1}[length]
    sents = facts(doc, rng, per)
    if length != "short":
        intro = rng.choice(_INTROS).format(entity=doc.entity)
        if intro:
            sents.insert(0, intro)
    if length == "long":
        for f in rng.sample(_FILLERS, 2):
            sents.insert(rng.randint(1, len(sents)), f)
    sents = with_distractors(sents, doc.distractors, rng)
    if length == "long" and len(sents) > 5:
        cut = len(sents) // 2
        return " ".join(sents[:cut]) + "\n\n" + " ".join(sents[cut:])
    return " ".join(sents)


def email(doc: Doc, rng: random.Random, body: str) -> str:
    sender, to = gen_value("first", rng), gen_value("first", rng)
    subject = rng.choice(("{E} details", "Re: {E}", "Update on the {e}", "Fwd: {e} information"))
    lines = [f"Subject: {subject.format(E=cap(doc.entity), e=doc.entity)}", "",
             rng.choice(("Hi {n},", "Hello {n},", "Dear {n},", "Hey {n},")).format(n=to), ""]
    lines.append(rng.choice(("Please find the {e} details below.", "As discussed, here is the {e} information.",
                             "Quick update on the {e}.")).format(e=doc.entity))
    lines.append("")
    lines.append(body)
    if doc.distractors:
        lines += ["", " ".join(doc.distractors)]
    lines += ["", rng.choice(("Best regards,", "Thanks,", "Cheers,", "Kind regards,")), sender]
    return "\n".join(lines)


_QUESTIONS = ("What's the {label}?", "And the {label}?", "Can you tell me the {label}?", "What about the {label}?")
_ANSWERS = ("It's {v}.", "{V}.", "That would be {v}.", "The {label} is {v}.")
_SPEAKERS = (("User", "Assistant"), ("Customer", "Agent"), ("Q", "A"), ("Alex", "Sam"), ("Caller", "Operator"))


def dialogue(doc: Doc, rng: random.Random) -> str:
    a, b = rng.choice(_SPEAKERS)
    head = [f"{a}: Hi, I need to check the {doc.entity}.",
            f"{b}: {rng.choice(('Sure, go ahead.', 'Of course, what do you need?', 'Happy to help.'))}"]
    turns: list[list[str]] = []
    for e in doc.entries:
        if e.kind == "scalar" and e.is_bool:
            ans = f"{cap(e.label)}: {e.text}." if rng.random() < 0.5 else f"The {e.label} is {e.text}."
        elif e.kind == "scalar":
            ans = end(rng.choice(_ANSWERS).format(label=e.label, v=e.text, V=vcap(e))[:-1])
        else:
            ans = end(cap(clause(e, rng)))
        if rng.random() < 0.3 or (e.kind == "scalar" and e.is_bool):  # volunteered without a question
            said = sentence(e, rng) if e.kind == "scalar" and not e.is_bool else ans
            turns.append([f"{b}: Also: {said}"])
        else:
            turns.append([f"{a}: {rng.choice(_QUESTIONS).format(label=e.label)}", f"{b}: {ans}"])
    for d in doc.distractors:  # between turns, never between a question and its answer
        turns.insert(rng.randint(0, len(turns)), [f"{rng.choice((a, b))}: {d}"])
    tail = [f"{a}: {rng.choice(('Great, thanks!', 'Perfect, that is all.', 'Thanks a lot.'))}"]
    return "\n".join(head + [line for t in turns for line in t] + tail)

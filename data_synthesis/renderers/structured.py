"""Semi-structured renderers: bullets, markdown tables, YAML-like, key: value, markdown report and
code-fenced JSON with the errors LLMs really make (trailing commas, single quotes, comments...)."""

from __future__ import annotations

import json
import random
from typing import Any

from data_synthesis.renderers.doc import Doc, Entry
from data_synthesis.renderers.prose import cap, clause


def _title(label: str) -> str:
    return cap(label)


def bullets(entries: list[Entry], rng: random.Random, indent: int = 0, style: tuple[str, str] | None = None) -> str:
    mark, sep = style or (rng.choice(("-", "*", "•")), rng.choice((": ", " — ", " - ")))
    bold = rng.random() < 0.4 and indent == 0
    pad = "  " * indent
    out: list[str] = []
    for e in entries:
        name = f"**{_title(e.label)}**" if bold else _title(e.label)
        if e.kind == "scalar":
            out.append(f"{pad}{mark} {name}{sep}{e.text}")
        elif e.kind == "list":
            if len(e.texts) > 2 and rng.random() < 0.5:
                out.append(f"{pad}{mark} {name}:")
                out += [f"{pad}  {mark} {t}" for t in e.texts]
            else:
                out.append(f"{pad}{mark} {name}{sep}{', '.join(e.texts) or 'none'}")
        elif e.kind == "group":
            out.append(f"{pad}{mark} {name}:")
            out.append(bullets(e.entries, rng, indent + 1, (mark, sep)) if e.entries else f"{pad}  {mark} none")
        else:
            out.append(f"{pad}{mark} {name}:")
            for i, row in enumerate(e.rows, 1):
                inner = ", ".join(_inline(x, rng) for x in row)
                out.append(f"{pad}  {i}. {inner}")
    return "\n".join(out)


def _inline(e: Entry, rng: random.Random) -> str:
    if e.kind == "scalar":
        return f"{e.label}: {e.text}"
    if e.kind == "list":
        return f"{e.label}: {', '.join(e.texts)}"
    return clause(e, rng, False)


def key_value(entries: list[Entry], rng: random.Random, prefix: str = "", sep: str | None = None) -> str:
    sep = sep or rng.choice((": ", " = ", ":\t", " -> "))
    out: list[str] = []
    joiner = " / " if rng.random() < 0.5 else "."
    for e in entries:
        name = f"{prefix}{e.label}" if prefix else _title(e.label)
        if e.kind == "scalar":
            out.append(f"{name}{sep}{e.text}")
        elif e.kind == "list":
            out.append(f"{name}{sep}{'; '.join(e.texts) or 'none'}")
        elif e.kind == "group":
            out.append(key_value(e.entries, rng, f"{name}{joiner}", sep))
        else:
            for i, row in enumerate(e.rows, 1):
                out.append(key_value(row, rng, f"{name} {i}{joiner}", sep))
    return "\n".join(x for x in out if x)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(entries: list[Entry], rng: random.Random) -> str:
    """A two-column Field | Value table for scalars; arrays of objects get their own table."""
    head = rng.choice((("Field", "Value"), ("Attribute", "Details"), ("Key", "Value"), ("Item", "Info")))
    rows: list[tuple[str, str]] = []
    extra: list[str] = []

    def walk(es: list[Entry], prefix: str) -> None:
        for e in es:
            name = f"{prefix}{e.label}"
            if e.kind == "scalar":
                rows.append((name, e.text))
            elif e.kind == "list":
                rows.append((name, ", ".join(e.texts) or "none"))
            elif e.kind == "group":
                walk(e.entries, f"{name} – " if rng.random() < 0.5 else f"{name} ")
            else:
                extra.append(_object_table(e, rng))

    walk(entries, "")
    out = []
    if rows:
        out += [f"| {head[0]} | {head[1]} |", "|---|---|"] + [f"| {_cell(_title(a))} | {_cell(b)} |" for a, b in rows]
    for t in extra:
        out += ["", t]
    return "\n".join(out)


def _object_table(e: Entry, rng: random.Random) -> str:
    cols: list[str] = []
    for row in e.rows:
        for x in row:
            if x.label not in cols:
                cols.append(x.label)
    lines = [f"**{_title(e.label)}**", "", "| " + " | ".join(_title(c) for c in cols) + " |",
             "|" + "---|" * len(cols)]
    for row in e.rows:
        by = {x.label: x for x in row}
        cells = []
        for c in cols:
            x = by.get(c)
            cells.append("" if x is None else _cell(x.text if x.kind == "scalar" else _inline(x, rng).split(": ", 1)[-1]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def yaml_like(entries: list[Entry], rng: random.Random, indent: int = 0) -> str:
    pad = "  " * indent
    out: list[str] = []
    for e in entries:
        k = e.label.replace(" ", "_") if rng.random() < 0.5 and indent == 0 else e.label
        if e.kind == "scalar":
            v = e.text
            if ": " in v or v.startswith(("-", "*", "#")):
                v = f'"{v}"'
            out.append(f"{pad}{k}: {v}")
        elif e.kind == "list":
            out.append(f"{pad}{k}:")
            out += [f"{pad}  - {t}" for t in e.texts]
        elif e.kind == "group":
            out.append(f"{pad}{k}:")
            out.append(yaml_like(e.entries, rng, indent + 1))
        else:
            out.append(f"{pad}{k}:")
            for row in e.rows:
                block = yaml_like(row, rng, indent + 2).split("\n")
                first = block[0].lstrip()
                out.append(f"{pad}  - {first}")
                out += block[1:]
    return "\n".join(x for x in out if x)


def report(doc: Doc, rng: random.Random) -> str:
    """A markdown report: scalars under an overview heading, each object / list under its own heading."""
    scal = [e for e in doc.entries if e.kind in ("scalar", "list")]
    rest = [e for e in doc.entries if e.kind not in ("scalar", "list")]
    out = [f"# {_title(doc.entity)} report", ""]
    if scal:
        out += ["## Overview", bullets(scal, rng), ""]
    for e in rest:
        out.append(f"## {_title(e.label)}")
        out.append(bullets(e.entries, rng) if e.kind == "group" else _object_table(e, rng))
        out.append("")
    if doc.distractors:
        out += ["## Notes", " ".join(doc.distractors)]
    return "\n".join(out).strip()


# ------------------------------------------------------------------ broken JSON

def _to_obj(entries: list[Entry], raw_values: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for e in entries:
        if e.kind == "scalar":
            out[e.label] = e.raw if raw_values or e.is_bool or e.is_null else e.text
        elif e.kind == "list":
            out[e.label] = list(e.raw) if raw_values and e.raw is not None else list(e.texts)
        elif e.kind == "group":
            out[e.label] = _to_obj(e.entries, raw_values)
        else:
            out[e.label] = [_to_obj(r, raw_values) for r in e.rows]
    return out


def _dump(v: Any, rng: random.Random, faults: set[str], ind: int) -> str:
    pad, pad2 = "  " * ind, "  " * (ind + 1)
    q = "'" if "single_quotes" in faults else '"'

    def s(x: str) -> str:
        return q + x.replace("\\", "\\\\").replace(q, "\\" + q) + q

    if isinstance(v, dict):
        if not v:
            return "{}"
        items = []
        for k, x in v.items():
            key = k if "unquoted_keys" in faults and k.replace("_", "").isalnum() else s(k)
            line = f"{pad2}{key}: {_dump(x, rng, faults, ind + 1)}"
            if "comments" in faults and rng.random() < 0.25:
                line += rng.choice(("  // from the text", "  // double-check", "  # verified"))
            items.append(line)
        body = ",\n".join(items) + ("," if "trailing_commas" in faults else "")
        return "{\n" + body + "\n" + pad + "}"
    if isinstance(v, list):
        inner = ", ".join(_dump(x, rng, faults, ind + 1) for x in v)
        return "[" + inner + ("," if "trailing_commas" in faults and v else "") + "]"
    if isinstance(v, bool) or v is None:
        if "python_literals" in faults:
            return {True: "True", False: "False", None: "None"}[v]
        return json.dumps(v)
    if isinstance(v, str):
        return s(v)
    return json.dumps(v)


FAULTS = ("trailing_commas", "single_quotes", "comments", "missing_brace", "unquoted_keys", "python_literals")


def broken_json(doc: Doc, rng: random.Random, raw_values: bool) -> tuple[str, list[str]]:
    """Code-fenced JSON-ish text with 1-3 typical faults; returns (text, fault names).

    raw_values: write the gold values as JSON literals (else the formatted texts, as strings)."""
    faults = set(rng.sample(FAULTS, rng.randint(1, 3)))
    body = _dump(_to_obj(doc.entries, raw_values), rng, faults, 0)
    if "missing_brace" in faults:
        body = body[: body.rstrip().rfind("}")].rstrip()
    fence = rng.choice(("```json", "```", "```JSON"))
    pre = rng.choice(("Here's the extracted JSON:", "Sure! Here is the data in JSON format:",
                      "Based on the text, the structured output is:", ""))
    post = rng.choice(("Let me know if you need changes.", "I inferred nothing beyond the given text.", ""))
    parts = [p for p in (pre, f"{fence}\n{body}\n```", " ".join(doc.distractors), post) if p]
    return "\n\n".join(parts), sorted(faults)

"""The docs' generated tables, written between markers in the pages; ``tests/test_docs.py`` checks they are current.

- ``settings`` in ``docs/operations.md``: every field of ``slot.config.Settings`` (env var, flag, default,
  the docstring under the field).
- ``refusals`` in ``docs/schema-support.md``: the JSON-Schema-Test-Suite refusal categories of
  ``tests/data/grammar_suite_refusals.json`` (which ``tests/test_grammar_suite.py`` checks against the code).

    .venv/bin/python docs/gen_tables.py            # rewrite the tables
    .venv/bin/python docs/gen_tables.py --check    # exit 1 when a page's table is stale
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Callable, get_type_hints

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REFUSALS = ROOT / "tests" / "data" / "grammar_suite_refusals.json"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def settings_table() -> str:
    """Markdown table of every setting, from slot.config (the single source of truth)."""
    sys.path.insert(0, str(ROOT))
    from slot.config import Settings, env_name, field_docs

    docs, hints, defaults = field_docs(), get_type_hints(Settings), Settings()
    rows = ["| env var | flag | default | meaning |", "|---|---|---|---|"]
    for f in dataclasses.fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        if hints[f.name] is bool:
            flag = "--[no-]" + f.name.replace("_", "-")
        value = getattr(defaults, f.name)
        if f.name == "home":
            value = "~/.cache/slot"  # a default_factory: the user's home, not the machine this ran on
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        rows.append(f"| `{env_name(f.name)}` | `{flag}` | {f'`{shown}`' if shown else '(empty)'} | "
                    f"{_cell(docs.get(f.name, ''))} |")
    return "\n".join(rows)


def refusals_table() -> str:
    """Markdown table of the schema categories SLOT refuses on the JSON-Schema-Test-Suite."""
    data = json.loads(REFUSALS.read_text(encoding="utf-8"))
    totals = data["totals"]
    rows = [f"Of {totals['cases']} suite test cases, {totals['compiled']} compile; "
            f"{totals['refused_by_load_schema']} are refused by `load_schema` and {totals['refused_by_grammar']} by "
            f"the grammar compiler ({data['backend']}), each with a typed `SchemaError`.", "",
            "| stage | category | cases | why |", "|---|---|---:|---|"]
    for c in data["categories"]:
        rows.append(f"| {c['stage']} | {_cell(c['category'])} | {c['count']} | {_cell(c['reason'])} |")
    return "\n".join(rows)


TABLES: dict[str, tuple[str, Callable[[], str]]] = {
    "settings": ("operations.md", settings_table),
    "refusals": ("schema-support.md", refusals_table),
}


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {name} .*?-->\n)(.*?)\n?(<!-- end generated: {name} -->)", re.S)


def current(name: str) -> str:
    """The table as the page holds it now."""
    page, _ = TABLES[name]
    match = _block(name).search((DOCS / page).read_text(encoding="utf-8"))
    if match is None:
        raise SystemExit(f"docs/{page} has no '<!-- generated: {name} ... -->' block")
    return match.group(2)


def write(name: str) -> None:
    page, make = TABLES[name]
    path = DOCS / page
    text = path.read_text(encoding="utf-8")
    current(name)  # the markers must be there
    path.write_text(_block(name).sub(lambda m: f"{m.group(1)}{make()}\n{m.group(3)}", text, count=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale tables (exit 1)")
    args = parser.parse_args(argv)
    stale = [name for name, (_, make) in TABLES.items() if current(name) != make()]
    if args.check:
        for name in stale:
            print(f"docs/{TABLES[name][0]}: the {name} table is stale; run python docs/gen_tables.py")
        return 1 if stale else 0
    for name in stale:
        write(name)
        print(f"rewrote the {name} table in docs/{TABLES[name][0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

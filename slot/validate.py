"""Post-validation: every output is parsed and validated with jsonschema; nothing is reported valid otherwise."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from slot.schema import Schema


@dataclass(frozen=True)
class Validation:
    """Outcome of checking raw model output against a schema."""

    value: Any
    """The parsed JSON value, or None when the text does not parse."""
    parsed: bool
    valid: bool
    errors: list[str] = field(default_factory=list)


def validate_output(text: str, schema: Schema) -> Validation:
    """Parse ``text`` as one JSON value and validate it (formats included)."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        message = f"output is not valid JSON: {exc.msg} (char {exc.pos})" if isinstance(exc, json.JSONDecodeError) \
            else "output nests too deeply"
        return Validation(value=None, parsed=False, valid=False, errors=[message])
    errors = schema.errors(value)
    return Validation(value=value, parsed=True, valid=not errors, errors=errors)

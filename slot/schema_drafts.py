"""The JSON Schema drafts SLOT accepts: which one a document declares, its validator class and short name, and
the check of a document against its draft's meta-schema.

``slot.schema`` checks each request's schema with these, and ``slot.schema_registry`` each registry document
(once); a module of their own so that the dependency goes one way (schema -> schema_registry -> schema_drafts).
"""

from __future__ import annotations

from typing import Any

from jsonschema import validators
from jsonschema.exceptions import best_match

from slot.errors import SchemaError, UnsupportedSchemaError
from slot.leaves import escape_token
from slot.patterns import bound_jsonschema

bound_jsonschema()  # the meta-schema check never runs Python's backtracking re on a schema's strings

DRAFTS: dict[str, type] = {
    "https://json-schema.org/draft/2020-12/schema": validators.Draft202012Validator,
    "https://json-schema.org/draft/2019-09/schema": validators.Draft201909Validator,
    "http://json-schema.org/draft-07/schema": validators.Draft7Validator,
    "http://json-schema.org/draft-06/schema": validators.Draft6Validator,
    "http://json-schema.org/draft-04/schema": validators.Draft4Validator,
}
"""``$schema`` URI (without its trailing ``#``) -> validator class."""
DEFAULT_DRAFT = validators.Draft202012Validator
"""The draft of a document without ``$schema``."""
DIALECTS: dict[type, str] = {
    validators.Draft202012Validator: "2020-12", validators.Draft201909Validator: "2019-09",
    validators.Draft7Validator: "draft7", validators.Draft6Validator: "draft6", validators.Draft4Validator: "draft4",
}
"""Each draft's short name in ``slot.local_refs``."""


def draft_of(document: dict[str, Any] | bool) -> type:
    """The validator class of the draft a document declares (``$schema``; Draft 2020-12 without one); a
    SchemaError for a ``$schema`` that is no string, UnsupportedSchemaError for a draft SLOT does not know."""
    if not isinstance(document, dict) or "$schema" not in document:
        return DEFAULT_DRAFT
    uri = document["$schema"]
    if not isinstance(uri, str):
        raise SchemaError("$schema must be a string", path="/$schema", keyword="$schema")
    key = uri.rstrip("#")
    if key not in DRAFTS:
        raise UnsupportedSchemaError(f"unsupported $schema {uri!r}; use one of: {', '.join(DRAFTS)}",
                                     path="/$schema", keyword="$schema")
    return DRAFTS[key]


def check_meta_schema(document: dict[str, Any] | bool, validator_class: type) -> None:
    """SchemaError naming the keyword and JSON Pointer of the best-matching meta-schema violation, if any."""
    try:
        error = best_match(validator_class(validator_class.META_SCHEMA).iter_errors(document))
    except RecursionError:
        raise SchemaError("schema nesting is too deep", keyword="depth") from None
    if error is not None:
        raise SchemaError(f"schema violates the meta-schema: {error.message}",
                          path="".join(f"/{escape_token(part)}" for part in error.absolute_path),
                          keyword=str(error.validator))

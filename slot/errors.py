"""Typed errors of SLOT. Each carries the gRPC status it maps to and the field it is about."""

from __future__ import annotations


class SlotError(Exception):
    """Base class: a request SLOT refuses, with a precise, user-facing message."""

    status: str = "INTERNAL"
    """Name of the gRPC status code this error maps to."""

    def __init__(self, message: str, *, field: str = "", path: str = "", keyword: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        """The request field at fault (e.g. 'schema', 'text', 'options.max_tokens')."""
        self.path = path
        """JSON Pointer inside the schema or instance, when relevant."""
        self.keyword = keyword
        """The JSON Schema keyword at fault, when relevant."""

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.message}{where}"


class InvalidRequestError(SlotError):
    """A request field has an invalid value (empty text, absurd max_tokens, bad UTF-8...)."""

    status = "INVALID_ARGUMENT"


class SchemaError(InvalidRequestError):
    """The JSON Schema is malformed, violates its meta-schema, or is over a limit."""

    def __init__(self, message: str, *, path: str = "", keyword: str = "") -> None:
        super().__init__(message, field="schema", path=path, keyword=keyword)


class UnsupportedSchemaError(SchemaError):
    """The schema is valid but uses something SLOT refuses (remote $ref, a keyword the grammar cannot hold)."""


class UnknownAdapterError(InvalidRequestError):
    """The request names an adapter the server did not load."""

    status = "NOT_FOUND"


class OverloadedError(SlotError):
    """Too many requests are queued; retry later."""

    status = "RESOURCE_EXHAUSTED"


class CancelledError(SlotError):
    """The caller went away or its deadline passed; decoding stopped."""

    status = "CANCELLED"


class ModelError(SlotError):
    """The base model or an adapter could not be found or loaded."""

    status = "FAILED_PRECONDITION"


class UngroundedError(SlotError):
    """The grounding policy 'fail' found output values with no support in the text."""

    status = "FAILED_PRECONDITION"

    def __init__(self, message: str, paths: list[str]) -> None:
        super().__init__(message, field="json")
        self.paths = paths


class UnavailableError(SlotError):
    """The server cannot take requests right now (model loading, draining); retry, maybe elsewhere."""

    status = "UNAVAILABLE"

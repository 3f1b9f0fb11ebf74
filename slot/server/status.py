"""Map SLOT's typed errors to gRPC status codes with google.rpc details (BadRequest field violations)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from slot.errors import SlotError

log = logging.getLogger("slot.server")

MAX_ECHO_BYTES = 1024
"""Longest caller-derived text (message, field path) put in a status, in UTF-8 bytes; the rest is cut."""


def _code(name: str) -> grpc.StatusCode:
    return getattr(grpc.StatusCode, name, grpc.StatusCode.INTERNAL)


def clip(text: str, limit: int = MAX_ECHO_BYTES) -> str:
    """``text`` cut to about ``limit`` UTF-8 bytes: its head and tail, and a marker saying how much was left out.

    Error messages quote caller input (an adapter name, a $ref, a property name); unbounded, they would
    push the status trailers past the client's metadata limit and the caller would get the wrong code.
    The tail is kept because it often says what to do (e.g. the list of available adapters).
    """
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    head = data[: limit * 3 // 4].decode("utf-8", errors="ignore")
    tail = data[len(data) - limit // 4:].decode("utf-8", errors="ignore")
    return f"{head}…({len(text) - len(head) - len(tail)} more characters)…{tail}"


def status_for(error: SlotError) -> Any:
    """A grpc.Status for a SlotError: the message, and a BadRequest naming the field (and schema path)."""
    code = _code(error.status)
    message = clip(str(error))
    detail = any_pb2.Any()
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        field = error.field or "request"
        description = message + (f" (keyword: {clip(error.keyword, 128)})" if error.keyword else "")
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=clip(field + (f"#{error.path}" if error.path else "")), description=description)
        detail.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    elif code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        detail.Pack(error_details_pb2.QuotaFailure(violations=[
            error_details_pb2.QuotaFailure.Violation(subject=error.field or "generation queue", description=message)]))
    else:
        detail.Pack(error_details_pb2.ErrorInfo(reason=error.status, domain="slot.v1",
                                                metadata={"field": clip(error.field)} if error.field else {}))
    status = status_pb2.Status(code=code.value[0], message=message, details=[detail])
    return rpc_status.to_status(status)


def internal_status() -> tuple[Any, str]:
    """INTERNAL with an incident id; the traceback goes to the log, not to the caller."""
    incident = uuid.uuid4().hex[:12]
    info = error_details_pb2.ErrorInfo(reason="INTERNAL", domain="slot.v1", metadata={"incident": incident})
    detail = any_pb2.Any()
    detail.Pack(info)
    status = status_pb2.Status(code=code_pb2.INTERNAL, message=f"internal error (incident {incident})",
                               details=[detail])
    return rpc_status.to_status(status), incident

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


def _code(name: str) -> grpc.StatusCode:
    return getattr(grpc.StatusCode, name, grpc.StatusCode.INTERNAL)


def status_for(error: SlotError) -> Any:
    """A grpc.Status for a SlotError: the message, and a BadRequest naming the field (and schema path)."""
    code = _code(error.status)
    detail = any_pb2.Any()
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        field = error.field or "request"
        description = str(error)
        if error.keyword:
            description += f" (keyword: {error.keyword})"
        violation = error_details_pb2.BadRequest.FieldViolation(field=field + (f"#{error.path}" if error.path else ""),
                                                                description=description)
        detail.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    elif code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        detail.Pack(error_details_pb2.QuotaFailure(violations=[
            error_details_pb2.QuotaFailure.Violation(subject="generation queue", description=str(error))]))
    else:
        detail.Pack(error_details_pb2.ErrorInfo(reason=error.status, domain="slot.v1",
                                                metadata={"field": error.field} if error.field else {}))
    status = status_pb2.Status(code=code.value[0], message=str(error), details=[detail])
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

"""Typed exceptions of the SDK, one per gRPC status a SLOT server returns."""

from __future__ import annotations

from typing import Any

import grpc


class SlotClientError(Exception):
    """Base: a call failed. ``code`` is the gRPC status; ``field_violations`` lists (field, description)."""

    def __init__(self, message: str, *, code: grpc.StatusCode, field_violations: list[tuple[str, str]] | None = None,
                 details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field_violations = field_violations or []
        self.details = details or []


class InvalidArgument(SlotClientError):
    """Bad schema, text or option; see field_violations."""


class NotFound(SlotClientError):
    """Unknown adapter."""


class ResourceExhausted(SlotClientError):
    """The server's queue is full; back off and retry."""


class Unavailable(SlotClientError):
    """The server is loading, draining or unreachable (retried automatically)."""


class DeadlineExceeded(SlotClientError):
    """The call's timeout passed; the server stopped decoding."""


class Cancelled(SlotClientError):
    """The call was cancelled."""


class Unauthenticated(SlotClientError):
    """Missing or wrong bearer token."""


class FailedPrecondition(SlotClientError):
    """The grounding policy 'fail' found ungrounded values."""


class InternalError(SlotClientError):
    """The server hit an unexpected error (it logged an incident id)."""


class ValidationFailed(SlotClientError):
    """The server answered, but the output is not valid for the requested Pydantic model."""


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
}


def from_rpc_error(error: grpc.RpcError) -> SlotClientError:
    """Turn a grpc.RpcError (sync or aio) into the matching typed exception, with rich details decoded."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    code = error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
    message = error.details() if callable(getattr(error, "details", None)) else str(error)
    violations: list[tuple[str, str]] = []
    details: list[Any] = []
    status = None
    try:
        status = rpc_status.from_call(error) if hasattr(error, "trailing_metadata") else None
    except (ValueError, TypeError, AttributeError):
        status = None
    for detail in status.details if status is not None else []:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations += [(v.field, v.description) for v in bad.field_violations]
            details.append(bad)
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            details.append(info)
    cls = _BY_CODE.get(code, InternalError)
    return cls(f"{code.name}: {message}" if code else str(message), code=code, field_violations=violations,
               details=details)

"""The SLOT client SDK. Imports only grpcio, protobuf and pydantic (never torch or a grammar engine)."""

from slot.client.aio import AsyncSlotClient
from slot.client.common import RetryPolicy, StructureResult
from slot.client.errors import (Cancelled, DeadlineExceeded, FailedPrecondition, InternalError, InvalidArgument,
                                NotFound, ResourceExhausted, SlotClientError, Unauthenticated, Unavailable,
                                ValidationFailed)
from slot.client.sync import SlotClient

__all__ = ["AsyncSlotClient", "Cancelled", "DeadlineExceeded", "FailedPrecondition", "InternalError",
           "InvalidArgument", "NotFound", "ResourceExhausted", "RetryPolicy", "SlotClient", "SlotClientError",
           "StructureResult", "Unauthenticated", "Unavailable", "ValidationFailed"]

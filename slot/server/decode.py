"""Undecodable requests (corrupt wire bytes, invalid UTF-8 in a string field) -> INVALID_ARGUMENT.

grpc answers a request whose deserializer raises with ``UNKNOWN "Unexpected <class DecodeError>"``. The
interceptor below wraps the request deserializer of every unary-request handler: a refused request
becomes a marker object, and the wrapped handler aborts with INVALID_ARGUMENT (with a BadRequest detail)
before the servicer ever sees it.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable

import grpc
from google.protobuf.message import DecodeError

from slot.errors import InvalidRequestError
from slot.server.metrics import Metrics
from slot.server.status import status_for


class Undecodable:
    """Stands in for a request the protobuf parser refused."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def error(self) -> InvalidRequestError:
        """The refusal sent to the caller (our own words: the parser's text quotes no caller bytes)."""
        if "UTF-8" in self.reason:
            return InvalidRequestError("request has a string field (text, json_schema, ...) that is not valid UTF-8")
        detail = self.reason.rpartition(": ")[2][:200] or "unreadable bytes"
        return InvalidRequestError(f"request is not a valid protobuf message ({detail})")


def tolerant(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """A deserializer that returns :class:`Undecodable` instead of raising."""

    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except (DecodeError, UnicodeDecodeError) as exc:
            return Undecodable(str(exc))

    return deserialize


class DecodeErrorInterceptor(grpc.aio.ServerInterceptor):
    """Answers undecodable unary requests INVALID_ARGUMENT; place it after the token check (inner)."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or handler.request_streaming or handler.request_deserializer is None:
            return handler
        method = details.method.rpartition("/")[2]

        async def refuse(request: Undecodable, context: grpc.aio.ServicerContext) -> None:
            if self._metrics is not None:
                self._metrics.requests.labels(method, "INVALID_ARGUMENT").inc()
            await context.abort_with_status(status_for(request.error()))

        parse = tolerant(handler.request_deserializer)
        if handler.response_streaming:
            inner_stream = handler.unary_stream

            async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                if isinstance(request, Undecodable):
                    await refuse(request, context)
                async for item in inner_stream(request, context):
                    yield item

            return grpc.unary_stream_rpc_method_handler(stream, request_deserializer=parse,
                                                        response_serializer=handler.response_serializer)
        inner = handler.unary_unary

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, Undecodable):
                await refuse(request, context)
            return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(unary, request_deserializer=parse,
                                                   response_serializer=handler.response_serializer)

"""AsyncSlotClient: the asyncio SDK (grpc.aio)."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import grpc

from slot.client.common import (BACKENDS, RetryPolicy, auth_metadata, build_request, finish, open_channel,
                                schema_report, schema_text, to_result)
from slot.client.errors import Unavailable, from_rpc_error
from slot.v1 import slot_pb2, slot_pb2_grpc


class AsyncSlotClient:
    """Asyncio client of a SLOT server; ``async with AsyncSlotClient(...) as slot:``."""

    def __init__(self, target: str = "127.0.0.1:50051", *, timeout: float | None = 60.0, token: str | None = None,
                 tls: bool = False, root_certificates: bytes | None = None, private_key: bytes | None = None,
                 certificate_chain: bytes | None = None, retry: RetryPolicy | None = None,
                 max_message_bytes: int = 4 * 1024 * 1024) -> None:
        self._channel = open_channel(grpc.aio, target, tls=tls, root_certificates=root_certificates,
                                     private_key=private_key, certificate_chain=certificate_chain,
                                     max_message_bytes=max_message_bytes)
        self._stub = slot_pb2_grpc.SlotStub(self._channel)
        self._metadata = auth_metadata(token)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()

    async def __aenter__(self) -> "AsyncSlotClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method: Any, request: Any, timeout: float | None) -> Any:
        timeout = self.timeout if timeout is None else timeout
        for attempt in range(self.retry.attempts):
            try:
                return await method(request, timeout=timeout, metadata=self._metadata)
            except grpc.aio.AioRpcError as exc:
                error = from_rpc_error(exc)
                if isinstance(error, Unavailable) and attempt + 1 < self.retry.attempts:
                    await asyncio.sleep(self.retry.delay(attempt))
                    continue
                raise error from None
        raise AssertionError("unreachable")

    async def structure(self, text: str, schema: Any, *, timeout: float | None = None, **options: Any) -> Any:
        """Like :meth:`SlotClient.structure`."""
        text_schema, model = schema_text(schema)
        response = await self._call(self._stub.Structure, build_request(text, text_schema, **options), timeout)
        return finish(to_result(response), model)

    async def structure_stream(self, text: str, schema: Any, *, timeout: float | None = None,
                               **options: Any) -> AsyncIterator[Any]:
        """Yield JSON text deltas, then the final result (or model instance)."""
        text_schema, model = schema_text(schema)
        call = self._stub.StructureStream(build_request(text, text_schema, **options),
                                          timeout=self.timeout if timeout is None else timeout, metadata=self._metadata)
        try:
            async for message in call:
                if message.HasField("delta"):
                    yield message.delta
                else:
                    yield finish(to_result(message.result), model)
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc) from None

    async def validate_schema(self, schema: Any, *, grammar_backend: str = "", strict: bool = False) -> dict[str, Any]:
        """Like :meth:`SlotClient.validate_schema`."""
        text_schema, _ = schema_text(schema)
        response = await self._call(self._stub.ValidateSchema, slot_pb2.ValidateSchemaRequest(
            json_schema=text_schema, grammar_backend=BACKENDS.get(grammar_backend, 0), strict=strict), None)
        return schema_report(response)

    async def server_info(self) -> Any:
        return await self._call(self._stub.GetServerInfo, slot_pb2.GetServerInfoRequest(), None)

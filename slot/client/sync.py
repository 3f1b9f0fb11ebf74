"""SlotClient: the blocking SDK."""

from __future__ import annotations

import time
from typing import Any, Iterator

import grpc

from slot.client.common import (RetryPolicy, StructureResult, auth_metadata, build_request, finish, open_channel,
                                schema_report, schema_text, to_result)
from slot.client.errors import Unavailable, from_rpc_error
from slot.v1 import slot_pb2, slot_pb2_grpc


class SlotClient:
    """Blocking client of a SLOT server. Use as a context manager, or call ``close()``.

    >>> with SlotClient("127.0.0.1:50051") as slot:
    ...     result = slot.structure("Ada lives in London.", {"type": "object", ...})
    """

    def __init__(self, target: str = "127.0.0.1:50051", *, timeout: float | None = 60.0, token: str | None = None,
                 tls: bool = False, root_certificates: bytes | None = None, private_key: bytes | None = None,
                 certificate_chain: bytes | None = None, retry: RetryPolicy | None = None,
                 max_message_bytes: int = 4 * 1024 * 1024) -> None:
        self._channel = open_channel(grpc, target, tls=tls, root_certificates=root_certificates,
                                     private_key=private_key, certificate_chain=certificate_chain,
                                     max_message_bytes=max_message_bytes)
        self._stub = slot_pb2_grpc.SlotStub(self._channel)
        self._metadata = auth_metadata(token)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()

    def __enter__(self) -> "SlotClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: Any, request: Any, timeout: float | None) -> Any:
        timeout = self.timeout if timeout is None else timeout
        for attempt in range(self.retry.attempts):
            try:
                return method(request, timeout=timeout, metadata=self._metadata)
            except grpc.RpcError as exc:
                error = from_rpc_error(exc)
                if isinstance(error, Unavailable) and attempt + 1 < self.retry.attempts:
                    time.sleep(self.retry.delay(attempt))
                    continue
                raise error from None
        raise AssertionError("unreachable")

    def structure(self, text: str, schema: Any, *, timeout: float | None = None, **options: Any) -> Any:
        """Structure ``text`` against ``schema`` (dict, JSON text or Pydantic model class).

        Returns a :class:`StructureResult`, or an instance of the Pydantic class when one is given.
        Options: max_tokens, adapter, grammar_backend, temperature, seed, request_id, unconstrained,
        grounding_policy, parse_first (None: the server's setting; False always runs the model), strict (refuse a
        schema the grammar would only approximate instead of serving it relaxed).
        """
        text_schema, model = schema_text(schema)
        response = self._call(self._stub.Structure, build_request(text, text_schema, **options), timeout)
        return finish(to_result(response), model)

    def structure_stream(self, text: str, schema: Any, *, timeout: float | None = None,
                         **options: Any) -> Iterator[str | StructureResult]:
        """Yield JSON text deltas as they are decoded, then the final :class:`StructureResult` (or model)."""
        text_schema, model = schema_text(schema)
        request = build_request(text, text_schema, **options)
        try:
            for message in self._stub.StructureStream(request, timeout=self.timeout if timeout is None else timeout,
                                                      metadata=self._metadata):
                if message.HasField("delta"):
                    yield message.delta
                else:
                    yield finish(to_result(message.result), model)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    def validate_schema(self, schema: Any, *, grammar_backend: str = "", strict: bool = False) -> dict[str, Any]:
        """Check and compile a schema on the server (warms its cache); ``relaxed`` says whether the grammar only
        approximates it, and ``strict`` refuses it then."""
        from slot.client.common import BACKENDS

        text_schema, _ = schema_text(schema)
        response = self._call(self._stub.ValidateSchema, slot_pb2.ValidateSchemaRequest(
            json_schema=text_schema, grammar_backend=BACKENDS.get(grammar_backend, 0), strict=strict), None)
        return schema_report(response)

    def server_info(self) -> Any:
        """The server's ServerInfo message."""
        return self._call(self._stub.GetServerInfo, slot_pb2.GetServerInfoRequest(), None)

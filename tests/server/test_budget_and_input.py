"""Over the wire, against a real server on 127.0.0.1 with the real model: a max_tokens budget that ends in JSON
reports its cut and filled paths (gRPC, SDK, OpenAI-compatible HTTP), and text the SDK cannot encode is the
SDK's own InvalidArgument."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from slot.client import AsyncSlotClient, InvalidArgument, SlotClient
from tests.server.conftest import RunningServer, free_port, start_server

pytestmark = pytest.mark.model

PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                           "city": {"type": "string"}},
          "required": ["name", "age", "city"]}
TEXT = "Maximilian Alexander Featherstonehaugh-Smythe, aged 47, lives in San Francisco."
LONE = "caf" + chr(0xD800) + " on the corner"
"""A text with a lone surrogate: a Python str that is not valid Unicode, so protobuf cannot encode it."""


@pytest.fixture(scope="module")
def served(settings: Any, structurer: Any) -> Iterator[RunningServer]:
    running = start_server(settings, structurer, http_port=free_port(), max_concurrency=2, max_queue=8)
    yield running
    running.stop()


def test_a_tiny_budget_reports_cut_and_filled_paths_over_grpc(served, structurer):
    direct = structurer.structure(TEXT, PERSON, max_tokens=12)
    with SlotClient(served.target) as client:
        result = client.structure(TEXT, PERSON, max_tokens=12)
    assert result.output == direct.output and json.loads(result.output)
    assert result.finish_reason == "length" and result.valid
    assert result.cut_paths == direct.cut_paths and result.filled_paths == direct.filled_paths
    assert result.filled_paths and not {f["path"] for f in result.grounding} & set(result.filled_paths)


def test_a_tiny_budget_over_http_is_length_with_the_paths_in_the_record(served):
    body = json.dumps({"model": "slot", "max_tokens": 12, "messages": [{"role": "user", "content": TEXT}],
                       "response_format": {"type": "json_schema",
                                           "json_schema": {"name": "person", "schema": PERSON}}}).encode()
    request = urllib.request.Request(f"{served.http_base}/chat/completions", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as reply:
        answer = json.loads(reply.read())
    assert answer["choices"][0]["finish_reason"] == "length"
    assert json.loads(answer["choices"][0]["message"]["content"])
    record = answer["slot"]
    assert record["valid"] and record["filled_paths"] and set(record["cut_paths"]) <= {"/name", "/age", "/city"}


def test_a_lone_surrogate_is_the_sdks_invalid_argument(served):
    with SlotClient(served.target) as client:
        with pytest.raises(InvalidArgument) as caught:
            client.structure(LONE, PERSON)
        assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert caught.value.field_violations[0][0] == "text" and "not valid Unicode" in str(caught.value)
        with pytest.raises(InvalidArgument) as schema_caught:
            client.structure(TEXT, '{"type": "object", "title": "' + chr(0xDFFF) + '"}')
        assert schema_caught.value.field_violations[0][0] == "json_schema"
        with pytest.raises(InvalidArgument):
            list(client.structure_stream(LONE, PERSON))
        assert client.structure(TEXT, PERSON).valid  # the client and the server are fine afterwards


def test_a_lone_surrogate_is_invalid_argument_for_the_async_client_too(served):
    async def call() -> None:
        async with AsyncSlotClient(served.target) as client:
            await client.structure(LONE, PERSON)

    with pytest.raises(InvalidArgument, match="text is not valid Unicode"):
        asyncio.run(call())

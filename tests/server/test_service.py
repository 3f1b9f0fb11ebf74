"""The gRPC service and the SDK against a real server on 127.0.0.1 with the real model."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from pydantic import BaseModel

from slot.client import (AsyncSlotClient, DeadlineExceeded, InvalidArgument, NotFound, ResourceExhausted,
                         SlotClient)
from slot.v1 import slot_pb2, slot_pb2_grpc

pytestmark = pytest.mark.model

RESTAURANT = {"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"},
                                               "near": {"type": "string"}},
              "required": ["name", "area", "near"], "additionalProperties": False}
TEXT = "Sure! Here is the info: The Punter is a pub in the city centre near Café Sicilia."
# A schema that lets the model write for a long time: used to hit deadlines and fill slots.
LONG = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "string"}, "minItems": 200}},
        "required": ["items"]}


def test_unary_matches_in_process_call(server, structurer):
    with SlotClient(server.target) as client:
        result = client.structure(TEXT, RESTAURANT)
    direct = structurer.structure(TEXT, RESTAURANT)
    assert result.valid and result.finish_reason == "stop"
    assert result.output == direct.output
    assert set(result.json) == {"name", "area", "near"}
    assert result.usage["completion_tokens"] > 0 and result.usage["prompt_tokens"] > 0
    assert result.timings["total_ms"] > 0
    assert {f["path"] for f in result.grounding} == {"/name", "/area", "/near"}


def test_stream_deltas_add_up_to_the_output(server):
    # a schema no other test sends: with its earlier outputs in the output memory, a whole answer can be drafted
    # and verified at once and arrive as one delta
    schema = dict(RESTAURANT, title="Streamed venue")
    with SlotClient(server.target) as client:
        events = list(client.structure_stream(TEXT, schema))
    deltas, final = events[:-1], events[-1]
    assert all(isinstance(d, str) for d in deltas) and len(deltas) >= 2
    assert "".join(deltas) == final.output
    assert final.valid


class Restaurant(BaseModel):
    name: str
    area: str
    near: str


def test_pydantic_round_trip(server):
    with SlotClient(server.target) as client:
        venue = client.structure(TEXT, Restaurant)
    assert isinstance(venue, Restaurant)
    assert venue.name and venue.area and venue.near  # content quality is measured by slot eval, not here


def test_async_client(server, settings):
    async def run():
        async with AsyncSlotClient(server.target) as client:
            info = await client.server_info()
            result = await client.structure(TEXT, json.dumps(RESTAURANT))
            return info, result

    info, result = asyncio.run(run())
    assert info.version and info.limits.max_queue == 8
    assert info.limits.max_prompt_tokens == settings.max_prompt_tokens and info.limits.max_batch == settings.max_batch
    assert info.limits.max_bundled_schema_bytes == settings.max_bundled_schema_bytes > info.limits.max_schema_bytes
    assert result.valid


def test_bad_schema_is_invalid_argument_with_field_violation(server):
    with SlotClient(server.target) as client:
        with pytest.raises(InvalidArgument) as caught:
            client.structure(TEXT, '{"type": "strin"}')
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    fields = [field for field, _ in caught.value.field_violations]
    assert fields and fields[0].startswith("schema")
    assert "meta-schema" in caught.value.field_violations[0][1]


def test_bad_options_and_text(server):
    with SlotClient(server.target) as client:
        with pytest.raises(InvalidArgument, match="max_tokens"):
            client.structure(TEXT, RESTAURANT, max_tokens=-5)
        with pytest.raises(InvalidArgument, match="text is empty"):
            client.structure("   ", RESTAURANT)
        with pytest.raises(NotFound, match="adapter"):
            client.structure(TEXT, RESTAURANT, adapter="no-such-adapter")
        assert client.structure(TEXT, RESTAURANT).valid  # still healthy afterwards


def test_validate_schema_warms_cache_and_reports_post_checked(server):
    schema = {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"},
                                                        "uniqueItems": True}}}
    with SlotClient(server.target) as client:
        first = client.validate_schema(schema)
        second = client.validate_schema(schema)
        relaxed = client.validate_schema({"type": "object", "not": {"required": ["a"]}})
        with pytest.raises(InvalidArgument, match="strict: .*`not`"):
            client.validate_schema({"type": "object", "not": {"required": ["a"]}}, strict=True)
    assert relaxed["relaxed"] and relaxed["enforcement"]["relaxed_keywords"] == ["not"]
    assert first["post_checked_keywords"] == ["uniqueItems"] and not first["relaxed"]
    assert second["cache_hit"] and second["schema_hash"] == first["schema_hash"]


def test_reflection_lists_the_service(server):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    with grpc.insecure_channel(server.target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = {s.name for r in responses for s in r.list_services_response.service}
    assert {"slot.v1.Slot", "grpc.health.v1.Health"} <= names


def test_health_is_serving(server):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from slot.config import HEALTH_SERVICE_NAME

    with grpc.insecure_channel(server.target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=HEALTH_SERVICE_NAME))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_deadline_stops_decoding_and_frees_the_slot(server, structurer):
    before = structurer.engine.cancelled_generations
    with SlotClient(server.target) as client:
        started = time.perf_counter()
        with pytest.raises(DeadlineExceeded):
            client.structure("Write many items.", LONG, max_tokens=2000, timeout=1.5)
        # the server stops at its next forward pass: the engine records the cancellation promptly
        deadline = time.time() + 10
        while structurer.engine.cancelled_generations == before and time.time() < deadline:
            time.sleep(0.05)
        assert structurer.engine.cancelled_generations == before + 1
        assert time.perf_counter() - started < 10
        assert client.structure(TEXT, RESTAURANT).valid
    metric = server.server.metrics.cancelled._value.get()
    assert metric >= 1


def test_overload_is_resource_exhausted(settings, structurer):
    from tests.server.conftest import start_server

    busy = start_server(settings, structurer, max_concurrency=1, max_queue=0)
    try:
        with SlotClient(busy.target, timeout=60) as client, ThreadPoolExecutor(1) as pool:
            long_call = pool.submit(client.structure, "Write many items.", LONG, max_tokens=120)
            time.sleep(1.0)  # the long call holds the only slot
            started = time.perf_counter()
            with pytest.raises(ResourceExhausted):
                client.structure(TEXT, RESTAURANT)
            rejected_in = time.perf_counter() - started
            assert long_call.result().finish_reason in ("length", "stop")
        assert rejected_in < 1.0
        assert busy.server.metrics.rejected._value.get() == 1
    finally:
        busy.stop()


JSON_REPLY = ("Here is the venue:\n```json\n{'name': 'The Punter', 'area': 'city centre', 'near': 'Café Sicilia',}\n```")


def test_parse_first_option_answers_from_json_in_the_text(server):
    with SlotClient(server.target) as client:
        fast = client.structure(JSON_REPLY, RESTAURANT, parse_first=True)
        decoded = client.structure(JSON_REPLY, RESTAURANT, parse_first=False)
        events = list(client.structure_stream(JSON_REPLY, RESTAURANT, parse_first=True))
    assert fast.path == "parse" and fast.valid and fast.usage["completion_tokens"] == 0
    assert fast.json == {"name": "The Punter", "area": "city centre", "near": "Café Sicilia"}
    assert decoded.path == "model" and decoded.usage["completion_tokens"] > 0
    assert events[0] == fast.output and events[-1].path == "parse"


def test_raw_stub_unary_with_unconstrained_option(server):
    with grpc.insecure_channel(server.target) as channel:
        stub = slot_pb2_grpc.SlotStub(channel)
        reply = stub.Structure(slot_pb2.StructureRequest(
            text=TEXT, json_schema=json.dumps(RESTAURANT),
            options=slot_pb2.StructureOptions(max_tokens=40, request_id="abc-1")))
    assert reply.request_id == "abc-1"
    assert reply.finish_reason in (slot_pb2.FINISH_REASON_STOP, slot_pb2.FINISH_REASON_LENGTH)

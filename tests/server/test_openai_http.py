"""The OpenAI-compatible HTTP API against a real server on 127.0.0.1 with the real model, through the official
``openai`` client (and ``instructor`` on top of it): replies, parsing, streaming, models, probes and errors."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException
from typing import Any, Iterator

import grpc
import openai
import pytest

from slot.v1 import slot_pb2, slot_pb2_grpc
from tests.server.conftest import RunningServer, free_port, start_server
from tests.server.test_service import LONG, RESTAURANT, TEXT, Restaurant  # the gRPC tests' request

pytestmark = pytest.mark.model

BODY_LIMIT = 64 * 1024
TOKEN = "tok-5b0e9c2d7a1f4e3b8c6d"


def schema_format(schema: dict[str, Any], name: str = "restaurant") -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def messages(text: str = TEXT) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Extract the venue."}, {"role": "user", "content": text}]


@pytest.fixture(scope="module")
def http(settings: Any, structurer: Any) -> Iterator[RunningServer]:
    running = start_server(settings, structurer, http_port=free_port(), max_concurrency=2, max_queue=8,
                           max_message_bytes=BODY_LIMIT)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(http: RunningServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=http.http_base, api_key="unused", max_retries=0, timeout=120) as made:
        yield made


def post(url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, Any]:
    """A raw POST (urllib): the status and the JSON reply."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# -- replies ---------------------------------------------------------------------------------------------

def test_create_with_a_json_schema_matches_the_in_process_call(client, structurer):
    reply = client.chat.completions.create(model="slot", messages=messages(), response_format=schema_format(RESTAURANT))
    direct = structurer.structure(TEXT, RESTAURANT)
    choice = reply.choices[0]
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-") and reply.model == "slot"
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    assert choice.message.content == direct.output
    assert set(json.loads(choice.message.content)) == {"name", "area", "near"}
    assert reply.usage.prompt_tokens == direct.usage.prompt_tokens > 0
    assert reply.usage.completion_tokens == direct.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    extras = reply.model_extra["slot"]
    assert extras["valid"] is True and extras["errors"] == [] and extras["finish_reason"] == "stop"
    assert {f["path"] for f in extras["grounding"]["fields"]} == {"/name", "/area", "/near"}
    assert extras["timings"]["total_ms"] > 0 and extras["adapter"] == direct.adapter


def test_parse_returns_the_pydantic_object(client):
    reply = client.chat.completions.parse(model="slot", messages=messages(), response_format=Restaurant)
    venue = reply.choices[0].message.parsed
    assert isinstance(venue, Restaurant)
    assert venue.name and venue.area and venue.near  # content quality is measured by slot eval, not here


def test_json_object_gives_any_object(client):
    reply = client.chat.completions.create(model="slot", messages=messages(), max_tokens=48,
                                           response_format={"type": "json_object"})
    assert reply.choices[0].finish_reason in ("stop", "length")
    if reply.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(reply.choices[0].message.content), dict)
    assert reply.model_extra["slot"]["schema_hash"]


def test_instructor_json_schema_mode(http):
    import instructor

    with openai.OpenAI(base_url=http.http_base, api_key="unused", max_retries=0, timeout=120) as raw:
        patched = instructor.from_openai(raw, mode=instructor.Mode.JSON_SCHEMA)
        venue = patched.chat.completions.create(model="slot", response_model=Restaurant, messages=messages(),
                                                max_retries=0)
    assert isinstance(venue, Restaurant) and venue.name


def test_stream_sends_openai_chunks_that_add_up_to_the_reply(client):
    # a schema no other test sends (its output memory empty), so the answer comes in several deltas
    schema = dict(RESTAURANT, title="Streamed venue over HTTP")
    chunks = list(client.chat.completions.create(model="slot", messages=messages(), stream=True,
                                                 stream_options={"include_usage": True},
                                                 response_format=schema_format(schema)))
    whole = client.chat.completions.create(model="slot", messages=messages(), response_format=schema_format(schema))
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    *with_choices, usage_only = chunks
    assert usage_only.choices == [] and usage_only.usage.completion_tokens == whole.usage.completion_tokens
    deltas = [c.choices[0].delta.content for c in with_choices if c.choices[0].delta.content]
    assert len(deltas) >= 2 and "".join(deltas) == whole.choices[0].message.content
    last = with_choices[-1]
    assert last.choices[0].finish_reason == "stop" and last.model_extra["slot"]["valid"] is True
    assert [c.choices[0].finish_reason for c in with_choices[:-1]] == [None] * (len(with_choices) - 1)


def test_stream_wire_format_ends_with_done(http):
    body = json.dumps({"model": "slot", "messages": messages(), "stream": True, "max_tokens": 8,
                       "response_format": schema_format(RESTAURANT)}).encode()
    request = urllib.request.Request(f"{http.http_base}/chat/completions", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        assert reply.headers["Content-Type"].startswith("text/event-stream")
        events = [line for line in reply.read().decode().split("\n\n") if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    final = json.loads(events[-2][len("data: "):])
    assert final["choices"][0]["finish_reason"] == "length" and final["slot"]["finish_reason"] == "length"


def test_parse_first_answers_from_json_in_the_message(client):
    text = "Here is the venue:\n```json\n{'name': 'The Punter', 'area': 'city centre', 'near': 'Café Sicilia',}\n```"
    fast = client.chat.completions.create(model="slot", messages=messages(text), extra_body={"slot": {"parse_first": True}},
                                          response_format=schema_format(RESTAURANT))
    assert fast.model_extra["slot"]["path"] == "parse" and fast.usage.completion_tokens == 0
    assert json.loads(fast.choices[0].message.content) == {"name": "The Punter", "area": "city centre",
                                                           "near": "Café Sicilia"}
    decoded = client.chat.completions.create(model="slot", messages=messages(text), max_tokens=64,
                                             extra_body={"slot": {"parse_first": False}},
                                             response_format=schema_format(RESTAURANT))
    assert decoded.model_extra["slot"]["path"] == "model" and decoded.usage.completion_tokens > 0


def test_models_lists_slot_and_the_base_model(client):
    ids = [m.id for m in client.models.list()]
    assert ids[:2] == ["slot", "slot-base"]
    assert client.models.retrieve("slot-base").id == "slot-base"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_slot_base_model_runs_without_the_adapter(client):
    reply = client.chat.completions.create(model="slot-base", messages=messages(), max_completion_tokens=24,
                                           response_format=schema_format(RESTAURANT))
    assert reply.model_extra["slot"]["adapter"] == "base" and reply.model == "slot-base"


def test_unknown_paths_and_methods_answer_in_the_openai_shape(http):
    status, reply = get(f"{http.http_base}/completions-of-another-kind")
    assert status == 404 and reply["error"]["code"] == "not_found"
    status, reply = post(f"{http.http_base}/models", b"{}")
    assert status == 405 and reply["error"]["type"] == "invalid_request_error"


def test_probes(http):
    assert get(f"http://127.0.0.1:{http.server.http_port}/healthz") == (200, {"status": "ok"})
    assert get(f"http://127.0.0.1:{http.server.http_port}/readyz") == (200, {"status": "ready"})


# -- errors ----------------------------------------------------------------------------------------------

def test_bad_schema_is_400_with_the_grpc_message(client, http):
    bad = {"type": "strin"}
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="slot", messages=messages(), response_format=schema_format(bad))
    with grpc.insecure_channel(http.target) as channel, pytest.raises(grpc.RpcError) as grpc_caught:
        slot_pb2_grpc.SlotStub(channel).Structure(slot_pb2.StructureRequest(text=TEXT, json_schema=json.dumps(bad)))
    error = caught.value.body
    assert caught.value.status_code == 400 and error["type"] == "invalid_request_error"
    assert error["param"] == "response_format.json_schema.schema" and error["code"] == "invalid_schema"
    assert "meta-schema" in error["message"] and error["message"] == grpc_caught.value.details()


def test_unsupported_schema_keyword_is_400_naming_it(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="slot", messages=messages(),
                                       response_format=schema_format({"type": "object", "properties": {
                                           "a": {"type": "string", "pattern": "[^\\s\\S]"}}, "required": ["a"]}))
    assert caught.value.body["param"] == "response_format.json_schema.schema"
    assert "`required`" in caught.value.body["message"]  # a required key no string can fill: nothing can be served


def test_a_relaxed_schema_is_served_and_a_strict_request_refuses_it(client):
    """``response_format.json_schema.strict`` (sent above) is OpenAI's flag and keeps relaxed serving; SLOT's own
    ``slot.strict`` refuses the schema, naming the keyword (issue 27)."""
    relaxed = {"type": "object", "properties": {"name": {"type": "string", "not": {"const": "x"}}}}
    reply = client.chat.completions.create(model="slot", messages=messages(), response_format=schema_format(relaxed),
                                           max_tokens=32)
    extras = reply.model_extra["slot"]
    assert extras["enforcement"]["relaxed_keywords"] == ["not"] and extras["attempts"] >= 1
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="slot", messages=messages(), response_format=schema_format(relaxed),
                                       extra_body={"slot": {"strict": True}})
    assert caught.value.body["code"] == "unsupported_schema" and "strict: " in caught.value.body["message"]
    assert "`not`" in caught.value.body["message"]


@pytest.mark.parametrize("changes, param, words", [
    ({"max_tokens": 10**6}, "max_tokens", "max_tokens must be in"),
    ({"temperature": -1.0}, "temperature", "temperature must be in"),
    ({"messages": [{"role": "user", "content": "   "}]}, "messages", "text is empty"),
    ({"messages": [{"role": "system", "content": "only a system message"}]}, "messages", "no user message"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, "messages",
     "text only"),
    ({"response_format": {"type": "text"}}, "response_format", "JSON only"),
    ({"n": 2}, "n", "n must be 1"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools", "not supported"),
    ({"max_tokens": "5"}, "max_tokens", "valid integer"),
    ({"slot": {"grounding_policy": "maybe"}}, "slot.grounding_policy", "grounding policy must be one of"),
])
def test_bad_requests_are_400_naming_the_param(http, changes, param, words):
    body = {"model": "slot", "messages": messages(), "response_format": schema_format(RESTAURANT), **changes}
    status, reply = post(f"{http.http_base}/chat/completions", json.dumps(body).encode())
    assert status == 400, reply
    assert reply["error"]["param"] == param and words in reply["error"]["message"]
    assert reply["error"]["type"] == "invalid_request_error"


def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=messages(), response_format=schema_format(RESTAURANT))
    assert caught.value.body["code"] == "model_not_found" and caught.value.body["param"] == "model"
    assert "slot-base" in caught.value.body["message"]


def test_body_that_is_not_json_is_400(http):
    status, reply = post(f"{http.http_base}/chat/completions", b'{"model": "slot", "messages": [')
    assert status == 400 and reply["error"]["code"] == "invalid_json"
    status, reply = post(f"{http.http_base}/chat/completions", b"[1, 2]")
    assert status == 400 and "JSON object" in reply["error"]["message"]


def test_body_over_the_limit_is_413(client, http):
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="slot", messages=messages("x" * BODY_LIMIT),
                                       response_format=schema_format(RESTAURANT))
    assert caught.value.status_code == 413 and caught.value.body["code"] == "request_too_large"
    status, _ = post(f"{http.http_base}/chat/completions", b" " * (BODY_LIMIT + 1))
    assert status == 413


def test_bad_requests_leave_a_request_in_flight_alone(client, http):
    with ThreadPoolExecutor(1) as pool:
        good = pool.submit(client.chat.completions.create, model="slot", messages=messages(),
                           response_format=schema_format(RESTAURANT))
        for body in (b"{", b"null", json.dumps({"model": "slot", "messages": "x"}).encode(), b"\xff\xfe",
                     json.dumps({"model": "slot", "messages": messages(), "max_tokens": -3}).encode()):
            status, reply = post(f"{http.http_base}/chat/completions", body)
            assert status == 400 and reply["error"]["message"]
        assert good.result().model_extra["slot"]["valid"] is True
    assert get(f"http://127.0.0.1:{http.server.http_port}/readyz")[0] == 200


def test_client_going_away_stops_decoding(http, structurer):
    before = structurer.engine.cancelled_generations
    body = json.dumps({"model": "slot", "messages": messages("Write many items."), "max_tokens": 2000,
                       "response_format": schema_format(LONG)}).encode()
    with pytest.raises(TimeoutError):
        post(f"{http.http_base}/chat/completions", body, timeout=1.5)
    deadline = time.time() + 15
    while structurer.engine.cancelled_generations == before and time.time() < deadline:
        time.sleep(0.05)
    assert structurer.engine.cancelled_generations == before + 1


def test_full_queue_is_429(settings, structurer):
    busy = start_server(settings, structurer, http_port=free_port(), max_concurrency=1, max_queue=0)
    try:
        with openai.OpenAI(base_url=busy.http_base, api_key="unused", max_retries=0, timeout=120) as client, \
                ThreadPoolExecutor(1) as pool:
            long_call = pool.submit(client.chat.completions.create, model="slot", max_tokens=120,
                                    messages=messages("Write many items."), response_format=schema_format(LONG))
            deadline = time.time() + 30
            while busy.server.state.admission.running == 0 and time.time() < deadline:
                time.sleep(0.02)
            with pytest.raises(openai.RateLimitError) as caught:
                client.chat.completions.create(model="slot", messages=messages(),
                                               response_format=schema_format(RESTAURANT))
            assert caught.value.body["type"] == "rate_limit_error" and "max_queue=0" in caught.value.body["message"]
            assert long_call.result().choices[0].finish_reason in ("length", "stop")
        assert busy.server.metrics.rejected._value.get() == 1
    finally:
        busy.stop()


def test_model_not_loaded_is_503(settings, tmp_path):
    loading = start_server(settings.replace(base_model=str(tmp_path / "no-model")), None, wait_ready=False,
                           http_port=free_port())
    try:
        assert get(f"http://127.0.0.1:{loading.server.http_port}/healthz")[0] == 200
        assert get(f"http://127.0.0.1:{loading.server.http_port}/readyz") == (503, {"status": "loading"})
        with openai.OpenAI(base_url=loading.http_base, api_key="unused", max_retries=0) as client:
            with pytest.raises(openai.InternalServerError) as caught:
                client.chat.completions.create(model="slot", messages=messages(),
                                               response_format=schema_format(RESTAURANT))
        assert caught.value.status_code == 503 and "loading" in caught.value.body["message"]
    finally:
        loading.stop()


@pytest.fixture(scope="module")
def token_server(settings, structurer, tmp_path_factory) -> Iterator[RunningServer]:
    token_file = tmp_path_factory.mktemp("secret") / "token"
    token_file.write_text(TOKEN + "\n")
    running = start_server(settings, structurer, http_port=free_port(), auth_token_file=str(token_file),
                           max_message_bytes=BODY_LIMIT)
    yield running
    running.stop()


@pytest.mark.parametrize("key", ["wrong", TOKEN[:-1], TOKEN.upper(), TOKEN + "x"])
def test_wrong_or_missing_token_is_401(token_server, key):
    with openai.OpenAI(base_url=token_server.http_base, api_key=key, max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            client.chat.completions.create(model="slot", messages=messages(), response_format=schema_format(RESTAURANT))
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
    assert caught.value.body["type"] == "authentication_error" and TOKEN not in str(caught.value.body)


@pytest.mark.parametrize("header", [None, f"Basic {TOKEN}", TOKEN, f"Bearer{TOKEN}"])
def test_missing_token_or_other_schemes_are_401(token_server, header):
    body = json.dumps({"model": "slot", "messages": messages()}).encode()
    status, reply = post(f"{token_server.http_base}/chat/completions", body,
                         {"Authorization": header} if header else None)
    assert status == 401 and reply["error"]["code"] == "invalid_api_key"


def test_right_token_is_served_and_probes_need_none(token_server):
    with openai.OpenAI(base_url=token_server.http_base, api_key=TOKEN, max_retries=0, timeout=120) as client:
        assert "slot" in [m.id for m in client.models.list()]
        reply = client.chat.completions.create(model="slot", messages=messages(), max_tokens=8,
                                               response_format=schema_format(RESTAURANT))
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert get(f"http://127.0.0.1:{token_server.server.http_port}/readyz")[0] == 200
    status, reply = post(f"{token_server.http_base}/chat/completions", b" " * (BODY_LIMIT + 1))
    assert status == 401, "the token is checked before the body's size"


def test_tls_serves_https_with_the_grpc_certificate(settings, structurer, tmp_path):
    import ssl

    from tests.hardening.test_security import Certs

    certs = Certs(tmp_path)
    secure = start_server(settings, structurer, http_port=free_port(), tls_cert_file=certs.path("server.pem"),
                          tls_key_file=certs.path("server.key"))
    try:
        context = ssl.create_default_context(cadata=certs.ca.decode())
        base = secure.http_base.replace("http://", "https://")
        with openai.OpenAI(base_url=base, api_key="unused", max_retries=0,
                           http_client=openai.DefaultHttpxClient(verify=context)) as client:
            assert "slot" in [m.id for m in client.models.list()]
        with pytest.raises((OSError, HTTPException)):  # no plaintext HTTP on the TLS port
            urllib.request.urlopen(f"{secure.http_base}/models", timeout=10)
    finally:
        secure.stop()

"""Bad input against a real server on 127.0.0.1: the right status, a message naming the problem, still healthy."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time
import urllib.request

import grpc
import pytest

from slot.client import RetryPolicy, SlotClient, SlotClientError
from slot.v1 import slot_pb2
from tests.hardening.conftest import RESTAURANT, TEXT, assert_healthy, start_server

pytestmark = pytest.mark.model

NO_RETRY = RetryPolicy(attempts=1)


def refused(target: str, *, rpc: str = "structure", text: str = TEXT, schema: object = RESTAURANT,
            timeout: float = 30.0, **options: object) -> SlotClientError:
    """Make the call and return the error it must raise (fails the test if it succeeds)."""
    with SlotClient(target, timeout=timeout, retry=NO_RETRY) as client:
        try:
            if rpc == "validate":
                client.validate_schema(schema, strict=bool(options.get("strict", False)))
            else:
                client.structure(text, schema, **options)
        except SlotClientError as exc:
            return exc
    raise AssertionError(f"expected an error for {rpc} {str(schema)[:200]!r} {options}")


def check(error: SlotClientError, code: grpc.StatusCode, *needles: str) -> None:
    """The status code, and every needle in the message or the BadRequest field violations (case-insensitive)."""
    assert error.code == code, f"{error.code.name} != {code.name}: {error}"
    haystack = (str(error) + " " + " ".join(f"{f} {d}" for f, d in error.field_violations)).lower()
    for needle in needles:
        assert needle.lower() in haystack, f"{needle!r} not named in: {haystack[:500]}"
    assert "traceback" not in haystack


# -- schema: malformed, meta-schema, unsupported ----------------------------------------------------------

@pytest.mark.parametrize("raw, needles", [
    ('{"type": "object",', ["not valid json", "line 1"]),
    ("{'type': 'object'}", ["not valid json"]),
    ("", ["schema is empty"]),
    ("   ", ["schema is empty"]),
    ("[1, 2, 3]", ["must be a json object or boolean"]),
    ('"just a string"', ["must be a json object or boolean"]),
    ("NaN", ["must be a json object or boolean"]),
    ('{"type": "object"} trailing', ["not valid json"]),
])
def test_malformed_schema_json(hserver, raw, needles):
    for rpc in ("structure", "validate"):
        check(refused(hserver.target, rpc=rpc, schema=raw), grpc.StatusCode.INVALID_ARGUMENT, "schema", *needles)
    assert_healthy(hserver)


@pytest.mark.parametrize("schema, needles", [
    ({"type": "strin"}, ["meta-schema", "type"]),
    ({"type": "object", "properties": 5}, ["meta-schema", "properties"]),
    ({"type": "string", "minLength": -1}, ["meta-schema", "minlength"]),
    ({"type": "object", "required": "name"}, ["meta-schema", "required"]),
    ({"enum": "not-a-list"}, ["meta-schema", "enum"]),
    ({"$schema": "https://example.invalid/unknown-draft"}, ["unsupported $schema"]),
    ({"$schema": 7}, ["$schema must be a string"]),
])
def test_meta_schema_violations(hserver, schema, needles):
    check(refused(hserver.target, schema=schema), grpc.StatusCode.INVALID_ARGUMENT, "schema", *needles)
    assert_healthy(hserver)


@pytest.mark.parametrize("schema, keyword", [
    ({"type": "object", "properties": {"a": {"type": "string"}}, "not": {"required": ["a"]}}, "not"),
    ({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
      "if": {"required": ["a"]}, "then": {"required": ["b"]}}, "if"),
])
def test_unsupported_keywords(hserver, schema, keyword):
    """Keywords the grammar only approximates are served relaxed by default; a strict request refuses them."""
    for rpc in ("structure", "validate"):
        error = refused(hserver.target, rpc=rpc, schema=schema, max_tokens=8, strict=True)
        check(error, grpc.StatusCode.INVALID_ARGUMENT, "schema", keyword)
    assert_healthy(hserver)


# -- remote $ref: refused, and nothing is fetched ----------------------------------------------------------

def _remote_schemas(base: str, port: int) -> list[dict]:
    return [
        {"$ref": f"{base}/root.json"},
        {"type": "object", "properties": {"x": {"$ref": f"{base}/x.json"}}},
        {"type": "object", "properties": {"x": {"$ref": f"//127.0.0.1:{port}/scheme-relative.json"}}},
        {"allOf": [{"$ref": f"{base}/all.json#/defs/a"}]},
        {"$id": f"{base}/base.json", "type": "object", "properties": {"x": {"$ref": "relative.json"}}},
        {"type": "object", "properties": {"x": {"$id": f"{base}/sub.json", "$ref": "other.json"}}},
        {"$dynamicRef": f"{base}/dynamic.json"},
        {"$schema": f"{base}/meta.json", "type": "object"},
        {"$defs": {"a": {"$ref": f"{base}/defs.json"}}, "type": "object", "properties": {"x": {"$ref": "#/$defs/a"}}},
    ]


def test_remote_ref_is_refused_and_never_fetched(hserver, counting_http):
    # control: the counting server is reachable, so zero hits below means "not fetched", not "unreachable"
    with urllib.request.urlopen(f"{counting_http.base}/control.json", timeout=5) as reply:
        assert reply.status == 200
    assert counting_http.hits == ["/control.json"]
    counting_http.hits.clear()
    schemas = _remote_schemas(counting_http.base, counting_http.port)
    for schema in schemas:
        for rpc, options in (("structure", {}), ("structure", {"unconstrained": True}), ("validate", {})):
            error = refused(hserver.target, rpc=rpc, schema=schema, max_tokens=8, **options)
            assert error.code == grpc.StatusCode.INVALID_ARGUMENT, (schema, str(error))
            message = str(error).lower()
            assert any(word in message for word in ("$ref", "$id", "$dynamicref", "$schema", "remote")), message
    # a subschema $id naming the counting server is a base URI inside the document: served, still nothing fetched
    local = {"type": "object", "properties": {"x": {"$id": f"{counting_http.base}/sub.json", "type": "string"},
                                              "y": {"$ref": f"{counting_http.base}/sub.json"}}}
    with SlotClient(hserver.target, retry=NO_RETRY) as client:
        assert client.validate_schema(local)["schema_hash"]
    time.sleep(0.5)
    assert counting_http.hits == [], f"the server fetched {counting_http.hits}"
    assert_healthy(hserver)


# -- cycles, depth, size ------------------------------------------------------------------------------------

@pytest.mark.parametrize("schema", [
    {"$ref": "#"},
    {"anyOf": [{"$ref": "#"}, {"type": "string"}]},
    {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
    {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}, "type": "object", "properties": {"x": {"$ref": "#/$defs/a"}}},
    {"$defs": {"a": {"oneOf": [{"$ref": "#/$defs/b"}]}, "b": {"not": {"$ref": "#/$defs/a"}}}, "$ref": "#/$defs/a"},
])
def test_ref_cycles(hserver, schema):
    started = time.perf_counter()
    for options in ({}, {"unconstrained": True}):
        check(refused(hserver.target, schema=schema, max_tokens=8, **options), grpc.StatusCode.INVALID_ARGUMENT,
              "cycle", "$ref")
    assert time.perf_counter() - started < 5
    assert_healthy(hserver)


def test_dangling_ref(hserver):
    check(refused(hserver.target, schema={"$ref": "#/$defs/missing"}), grpc.StatusCode.INVALID_ARGUMENT,
          "does not resolve")


def test_recursion_through_properties_is_not_a_cycle(hserver):
    tree = {"$defs": {"node": {"type": "object", "properties": {"name": {"type": "string"},
                                                                 "child": {"$ref": "#/$defs/node"}},
                               "required": ["name"], "additionalProperties": False}}, "$ref": "#/$defs/node"}
    with SlotClient(hserver.target, retry=NO_RETRY) as client:
        assert client.validate_schema(tree)["schema_hash"]


def nested_text(levels: int, key: str = "properties") -> str:
    """JSON text of a schema nested ``levels`` deep (built as text: json.dumps itself recurses)."""
    if key == "properties":
        return '{"type":"object","properties":{"a":' * levels + '{"type":"string"}' + "}}" * levels
    return '{"type":"array","items":' * levels + '{"type":"string"}' + "}" * levels


@pytest.mark.parametrize("raw, needles", [
    (nested_text(1000), ["too deep"]),
    (nested_text(300), ["deeper than 24", "depth"]),
    (nested_text(500, "items"), ["deeper than 24", "depth"]),
    ("[" * 30_000 + "]" * 30_000, ["too deep"]),
    ('{"a":' * 10_000 + "1" + "}" * 10_000, ["too deep"]),
])
def test_deep_nesting(hserver, raw, needles):
    started = time.perf_counter()
    for rpc in ("structure", "validate"):
        check(refused(hserver.target, rpc=rpc, schema=raw), grpc.StatusCode.INVALID_ARGUMENT, "schema", *needles)
    assert time.perf_counter() - started < 5
    assert_healthy(hserver)


def test_huge_enum_default_limits(hserver):
    big = {"type": "integer", "enum": list(range(100_000))}
    started = time.perf_counter()
    check(refused(hserver.target, schema=big), grpc.StatusCode.INVALID_ARGUMENT, "schema", "over the limit of 131072")
    check(refused(hserver.target, schema={"enum": list(range(4097))}), grpc.StatusCode.INVALID_ARGUMENT,
          "enum has 4097 values", "limit of 4096")
    assert time.perf_counter() - started < 5
    assert_healthy(hserver)


def test_huge_enum_is_refused_for_its_length_when_bytes_allow_it(settings, structurer):
    from slot.structurer import Structurer

    # the schema limits live in the Structurer (built from the same Settings in production): share the engine
    roomy_settings = settings.replace(max_schema_bytes=2 << 20)
    roomy_structurer = Structurer(roomy_settings, structurer.engine, structurer.grammars,
                                  default_adapter=structurer.default_adapter)
    roomy = start_server(roomy_settings, roomy_structurer)
    try:
        started = time.perf_counter()
        check(refused(roomy.target, schema={"type": "integer", "enum": list(range(100_000))}),
              grpc.StatusCode.INVALID_ARGUMENT, "enum has 100000 values", "limit of 4096")
        assert time.perf_counter() - started < 5
        assert_healthy(roomy)
    finally:
        roomy.stop()


def test_too_many_subschemas(hserver):
    wide = {"type": "object", "properties": {f"p{i}": {} for i in range(5_001)}}  # 55 KB: under the byte limit
    check(refused(hserver.target, schema=wide), grpc.StatusCode.INVALID_ARGUMENT, "more than 5000 subschemas")


# -- hostile patterns: compile and match are bounded --------------------------------------------------------

EVIL_PATTERNS = ["^(a+)+$", "(a+)+b", "^(a|aa)+$", "^(a|a?)+$", "(x+x+)+y", "^(\\w+\\s?)*$", "^([a-zA-Z0-9])(([\\-.]|"
                 "[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
                 "(.*a){20}", "((a{1,10}){1,10}){1,10}$"]


@pytest.mark.parametrize("pattern", EVIL_PATTERNS)
def test_backtracking_patterns_finish_within_a_bound(hserver, pattern):
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": pattern}}, "required": ["s"],
              "additionalProperties": False}
    text = "The value is " + "a" * 40 + "! " + "x" * 30 + "!"
    with SlotClient(hserver.target, timeout=60, retry=NO_RETRY) as client:
        started = time.perf_counter()
        try:
            client.validate_schema(schema)
        except SlotClientError as exc:
            check(exc, grpc.StatusCode.INVALID_ARGUMENT, "schema")
        assert time.perf_counter() - started < 10 + 5  # compile_timeout_s + margin
        started = time.perf_counter()
        try:
            result = client.structure(text, schema, max_tokens=32)
            assert result.finish_reason in ("stop", "length")
        except SlotClientError as exc:
            check(exc, grpc.StatusCode.INVALID_ARGUMENT, "schema")
        assert time.perf_counter() - started < 30
    assert_healthy(hserver)


def test_invalid_regex_pattern_is_invalid_argument(hserver):
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": "(unclosed"}}, "required": ["s"]}
    check(refused(hserver.target, schema=schema, max_tokens=8), grpc.StatusCode.INVALID_ARGUMENT, "schema")


def test_invalid_regex_pattern_unconstrained_is_invalid_argument(hserver):
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": "(unclosed"}}, "required": ["s"]}
    check(refused(hserver.target, schema=schema, max_tokens=16, unconstrained=True,
                  text='{"s": "abc"}'), grpc.StatusCode.INVALID_ARGUMENT, "pattern")


POST_VALIDATION_PROBE = textwrap.dedent("""
    import json, sys, time
    from transformers import AutoTokenizer
    from slot.grammar.llguidance import LLGuidanceBackend
    from slot.schema import load_schema
    from slot.validate import validate_output
    from slot.config import Settings
    from slot.models import resolve_base_model
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": "(a+)+b"}}, "required": ["s"],
              "additionalProperties": False}
    output = json.dumps({"s": "a" * int(sys.argv[1]) + "!ab"}, separators=(",", ":"))
    settings = Settings.from_env()
    tok = AutoTokenizer.from_pretrained(str(resolve_base_model(settings.base_model, settings.home_path, progress=False)))
    matcher = LLGuidanceBackend(tok, len(tok)).compile(schema, "probe").matcher()
    accepted = matcher.consume(tok.encode(output, add_special_tokens=False)) and matcher.is_accepting()
    print("GRAMMAR_ACCEPTS", accepted, flush=True)
    started = time.perf_counter()
    result = validate_output(output, load_schema(schema))
    print("VALIDATED", result.valid, round(time.perf_counter() - started, 3), flush=True)
""")


def test_post_validation_of_a_grammar_valid_output_is_bounded():
    """llguidance treats patterns as unanchored (JSON Schema semantics), so '{"s":"aaaa…a!ab"}' satisfies the
    grammar of pattern '(a+)+b'; jsonschema then runs ``re.search('(a+)+b', …)``, which backtracks 2^n times
    before finding the match at the end. The server's worker does this with the GIL held: the whole process
    (event loop, health checks) stalls. Run in a subprocess with a hard timeout so the suite cannot hang."""
    try:
        run = subprocess.run([sys.executable, "-c", POST_VALIDATION_PROBE, "40"], capture_output=True, text=True,
                             timeout=60)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        assert "GRAMMAR_ACCEPTS True" in out, out
        raise AssertionError("post-validation of a grammar-valid 44-character output did not finish in 60 s") from None
    assert "GRAMMAR_ACCEPTS True" in run.stdout, run.stdout + run.stderr
    seconds = float(run.stdout.split("VALIDATED")[1].split()[1])
    assert seconds < 1.0


# -- text ------------------------------------------------------------------------------------------------

def test_text_over_the_limit(hserver):
    limit = hserver.server.settings.max_text_chars
    check(refused(hserver.target, text="x" * (limit + 1)), grpc.StatusCode.INVALID_ARGUMENT, "text",
          f"over the limit of {limit}")
    assert_healthy(hserver)


def test_text_over_the_message_limit(hserver):
    request = slot_pb2.StructureRequest(text="x" * (6 << 20), json_schema=json.dumps(RESTAURANT))
    options = [("grpc.max_send_message_length", 64 << 20)]
    with grpc.insecure_channel(hserver.target, options) as channel:
        call = channel.unary_unary("/slot.v1.Slot/Structure", request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as caught:
            call(request.SerializeToString(), timeout=30)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in caught.value.details()
    assert_healthy(hserver)


def test_text_over_the_token_limit(hserver):
    """Within max_text_chars but far beyond the model's context: refused on the token count, before any prefill."""
    import random

    rng = random.Random(0)
    hostile = "".join(chr(rng.randrange(0x10000, 0x1FFFF)) for _ in range(hserver.server.settings.max_text_chars))
    started = time.perf_counter()
    check(refused(hserver.target, text=hostile, max_tokens=8), grpc.StatusCode.INVALID_ARGUMENT, "text",
          "tokens", f"over the limit of {hserver.server.settings.max_prompt_tokens}")
    assert time.perf_counter() - started < 5
    assert_healthy(hserver)


def test_prompt_plus_max_tokens_over_the_context(hserver):
    text = "The Punter is a pub near Café Sicilia. " * 500  # ~5k tokens: under max_prompt_tokens
    check(refused(hserver.target, text=text, max_tokens=4096), grpc.StatusCode.INVALID_ARGUMENT, "options.max_tokens",
          "context of 8192 tokens")


@pytest.mark.parametrize("text", ["", " ", "\n\t  \r\n", "\u3000\u2003"])
def test_empty_text(hserver, text):
    check(refused(hserver.target, text=text), grpc.StatusCode.INVALID_ARGUMENT, "text is empty")


def _raw_call(target: str, method: str, payload: bytes) -> grpc.RpcError | bytes:
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(f"/slot.v1.Slot/{method}", request_serializer=None, response_deserializer=None)
        try:
            return call(payload, timeout=10)
        except grpc.RpcError as exc:
            return exc


def _with_bad_utf8(field: str, bad: bytes) -> bytes:
    marker = "MARKER-0123456789"
    values = {"text": TEXT, "json_schema": json.dumps(RESTAURANT)}
    values[field] = marker
    raw = slot_pb2.StructureRequest(**values).SerializeToString()
    # same length keeps the length prefix right
    return raw.replace(marker.encode(), bad + b"x" * (len(marker) - len(bad)))


@pytest.mark.parametrize("field, bad", [("text", b"\xff\xfe"), ("text", b"\xc3("), ("text", b"\xed\xa0\x80"),
                                        ("json_schema", b"\xc0\xaf"), ("text", b"\xf4\x90\x80\x80")])
def test_invalid_utf8_is_invalid_argument(hserver, field, bad):
    error = _raw_call(hserver.target, "Structure", _with_bad_utf8(field, bad))
    assert isinstance(error, grpc.RpcError)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{error.code()} {error.details()}"
    assert "utf-8" in error.details().lower()


def test_invalid_utf8_leaves_the_server_healthy(hserver):
    for field, bad in (("text", b"\xff\xfe"), ("json_schema", b"\xc0\xaf")):
        error = _raw_call(hserver.target, "Structure", _with_bad_utf8(field, bad))
        assert isinstance(error, grpc.RpcError)
        assert error.code() != grpc.StatusCode.OK
    garbage = _raw_call(hserver.target, "ValidateSchema", b"\xff\xff\xff\xff")
    assert isinstance(garbage, grpc.RpcError)
    assert_healthy(hserver)


# -- absurd options --------------------------------------------------------------------------------------

@pytest.mark.parametrize("max_tokens", [-1, -(2 ** 31), 4097, 2 ** 31 - 1])
def test_absurd_max_tokens(hserver, max_tokens):
    check(refused(hserver.target, max_tokens=max_tokens), grpc.StatusCode.INVALID_ARGUMENT, "max_tokens",
          str(max_tokens))


@pytest.mark.parametrize("temperature", [math.nan, math.inf, -math.inf, -0.5, 1e30])
def test_absurd_temperature(hserver, temperature):
    check(refused(hserver.target, temperature=temperature), grpc.StatusCode.INVALID_ARGUMENT, "temperature")


@pytest.mark.parametrize("adapter", ["no-such-adapter", "../../etc/passwd", "x" * 1_000, "default\x00"])
def test_unknown_adapter(hserver, adapter):
    check(refused(hserver.target, adapter=adapter), grpc.StatusCode.NOT_FOUND, "unknown adapter")


@pytest.mark.parametrize("case", ["adapter", "adapter-emoji", "$schema", "$ref"])
def test_long_echoed_values_keep_the_right_status(hserver, case):
    long = "\U0001F600" * 10_000 if case.endswith("emoji") else "x" * 10_000  # 4 UTF-8 bytes a character
    if case.startswith("adapter"):
        error, code = refused(hserver.target, adapter=long), grpc.StatusCode.NOT_FOUND
    elif case == "$schema":
        error, code = refused(hserver.target, schema={"$schema": long}), grpc.StatusCode.INVALID_ARGUMENT
    else:
        error, code = refused(hserver.target, schema={"$ref": "http://" + long}), grpc.StatusCode.INVALID_ARGUMENT
    assert error.code == code, str(error)[:300]
    assert "more characters)" in str(error)  # the echo is cut, and says so
    assert len(str(error).encode()) < 2_048


@pytest.mark.parametrize("value", [4, 99, -1, 2 ** 31 - 1])
def test_unknown_grammar_backend_enum(hserver, value):
    for method, request in (
            ("Structure", slot_pb2.StructureRequest(text=TEXT, json_schema=json.dumps(RESTAURANT),
                                                    options=slot_pb2.StructureOptions(grammar_backend=value))),
            ("ValidateSchema", slot_pb2.ValidateSchemaRequest(json_schema=json.dumps(RESTAURANT),
                                                              grammar_backend=value))):
        error = _raw_call(hserver.target, method, request.SerializeToString())
        assert isinstance(error, grpc.RpcError), method
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (method, error.details())
        assert "grammar backend" in error.details()


def test_unknown_grounding_policy_enum(hserver):
    request = slot_pb2.StructureRequest(text=TEXT, json_schema=json.dumps(RESTAURANT),
                                        options=slot_pb2.StructureOptions(grounding_policy=42))
    error = _raw_call(hserver.target, "Structure", request.SerializeToString())
    assert isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "grounding policy" in error.details()


@pytest.mark.parametrize("seed", [-(2 ** 63), -1, 2 ** 63 - 1])
def test_extreme_seeds_with_sampling(hserver, seed):
    with SlotClient(hserver.target, timeout=60, retry=NO_RETRY) as client:
        try:
            result = client.structure(TEXT, RESTAURANT, temperature=0.7, seed=seed, max_tokens=4)
            assert result.finish_reason in ("stop", "length")
        except SlotClientError as exc:
            check(exc, grpc.StatusCode.INVALID_ARGUMENT, "seed")


def test_server_still_answers_the_same_after_all_that(hserver, structurer):
    with SlotClient(hserver.target, timeout=60) as client:
        result = client.structure(TEXT, RESTAURANT)
    assert result.valid and result.output == structurer.structure(TEXT, RESTAURANT).output

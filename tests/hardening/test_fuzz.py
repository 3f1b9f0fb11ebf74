"""Property-based fuzzing (hypothesis) of a real server on 127.0.0.1 with the real model.

Every generated request is malformed or hostile, or valid but cheap (max_tokens <= 8). The run passes only
if no request crashes the server, every answer is a documented status, no remote schema is ever fetched,
and a normal request afterwards gives the same output as before the run. Outcome counts by status code are
printed (``-s`` not needed) and, when ``SLOT_FUZZ_REPORT`` names a file, written there as JSON
(``SLOT_FUZZ_PROGRESS``: a file rewritten every 100 requests with the counts so far).

    SLOT_HOME=/tmp/slothome .venv/bin/python -m pytest tests/hardening/test_fuzz.py -q            # 300 requests
    SLOT_HOME=/tmp/slothome .venv/bin/python -m pytest tests/hardening/test_fuzz.py -q -m slow    # 5,000 requests
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from slot.v1 import slot_pb2
from tests.hardening.conftest import RESTAURANT, TEXT, CountingHTTPServer, health_status, start_server

pytestmark = pytest.mark.model

DOCUMENTED = {"OK", "INVALID_ARGUMENT", "NOT_FOUND", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "DEADLINE_EXCEEDED"}
CALL_TIMEOUT = 60.0

# -- strategies -----------------------------------------------------------------------------------------------

VALID_SCHEMAS = [
    RESTAURANT,
    {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    {"type": "string"},
    {"type": "boolean"},
    {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
    {"enum": ["red", "green", "blue"]},
    {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}}},
]
KEYWORDS = ["type", "properties", "required", "items", "prefixItems", "enum", "const", "pattern", "minLength",
            "maxLength", "minimum", "maximum", "multipleOf", "format", "anyOf", "oneOf", "allOf", "not", "if", "then",
            "else", "$ref", "$defs", "definitions", "$id", "$schema", "$anchor", "$dynamicRef", "additionalProperties",
            "patternProperties", "propertyNames", "minItems", "maxItems", "uniqueItems", "contains", "dependentRequired",
            "dependentSchemas", "unevaluatedProperties", "description", "default", "examples", "x-unknown"]
TYPES = ["object", "array", "string", "integer", "number", "boolean", "null", "strin", "any", ""]
EVIL_PATTERNS = ["^(a+)+$", "(a+)+b", "^(a|aa)+$", "(x+x+)+y", "(.*a){12}", "[", "(?<=a)b", "\\", "^$", "a{99999}"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 40, 2 ** 40), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(TYPES))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)
keyword_soup = st.recursive(
    st.dictionaries(st.sampled_from(KEYWORDS), scalars, max_size=4),
    lambda inner: st.dictionaries(st.sampled_from(KEYWORDS),
                                  st.one_of(scalars, inner, st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_size=4),
    max_leaves=10)


def _nested(levels: int, key: str) -> str:
    if key == "properties":
        return '{"type":"object","properties":{"a":' * levels + '{"type":"string"}' + "}}" * levels
    return '{"type":"array","items":' * levels + '{"type":"string"}' + "}" * levels


class Raw(str):
    """Schema text that is sent as is (not passed through json.dumps)."""


@st.composite
def hostile_schema(draw: Any, remote_base: str) -> Any:
    kind = draw(st.sampled_from(["nest", "cycle", "remote", "enum", "pattern", "unsupported", "wide", "ref", "bigdoc",
                                 "unicode"]))
    if kind == "nest":
        return Raw(_nested(draw(st.integers(20, 1500)), draw(st.sampled_from(["properties", "items"]))))
    if kind == "cycle":
        return draw(st.sampled_from([
            {"$ref": "#"}, {"anyOf": [{"$ref": "#"}]},
            {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
            {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}, "properties": {"x": {"$ref": "#/$defs/a"}}}]))
    if kind == "remote":
        ref = draw(st.sampled_from([f"{remote_base}/a.json", remote_base.replace("http:", "") + "/b.json",
                                    f"{remote_base}/c.json#/x", "other.json", "urn:uuid:1234"]))
        return draw(st.sampled_from([{"$ref": ref}, {"type": "object", "properties": {"x": {"$ref": ref}}},
                                     {"$id": f"{remote_base}/id.json", "properties": {"x": {"$ref": "y.json"}}},
                                     {"$schema": f"{remote_base}/meta"}, {"$dynamicRef": ref}]))
    if kind == "enum":
        size = draw(st.sampled_from([999, 1000, 1001, 5000, 100_000]))
        return {"enum": list(range(size))}
    if kind == "pattern":
        return {"type": "object", "properties": {"s": {"type": "string", "pattern": draw(st.sampled_from(EVIL_PATTERNS))}},
                "required": ["s"]}
    if kind == "unsupported":
        return draw(st.sampled_from([{"not": {"type": "string"}}, {"if": {"type": "string"}, "then": {"minLength": 2}},
                                     {"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}}]))
    if kind == "wide":
        return {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(draw(st.integers(4_990, 5_010)))}}
    if kind == "ref":
        return {"$defs": {"a~b/c": {"type": "string"}}, "$ref": draw(st.sampled_from(
            ["#/$defs/a~0b~1c", "#/$defs/a~2", "#/%24defs/a~0b~1c", "#/$defs/", "#anchor", "#/$defs/a~0b~1c/x"]))}
    if kind == "bigdoc":
        return {"type": "string", "description": "d" * draw(st.sampled_from([60_000, 70_000, 1 << 20]))}
    return {"type": "object", "properties": {draw(st.text(min_size=1, max_size=8)): {"type": "string"}}}


@st.composite
def requests(draw: Any, remote_base: str, limit: int) -> tuple[str, Any]:
    """(method, request message or raw bytes) for one call."""
    schema_kind = draw(st.sampled_from(["valid"] * 3 + ["soup"] * 3 + ["hostile"] * 3 + ["garbage", "value"]))
    if schema_kind == "valid":
        schema_text = json.dumps(draw(st.sampled_from(VALID_SCHEMAS)))
    elif schema_kind == "soup":
        schema_text = json.dumps(draw(keyword_soup))
    elif schema_kind == "hostile":
        hostile = draw(hostile_schema(remote_base))
        schema_text = hostile if isinstance(hostile, Raw) else json.dumps(hostile)
    elif schema_kind == "garbage":
        schema_text = draw(st.text(max_size=60))
    else:
        schema_text = json.dumps(draw(json_values))
    text = draw(st.one_of(
        st.sampled_from([TEXT, "Ada Lovelace lived in London.", "", "   ", "\n\t", "\x00", "a" * 40 + "!ab"]),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
        st.builds(lambda n: "x" * (limit + n), st.integers(1, 1000))))
    options = slot_pb2.StructureOptions(
        max_tokens=draw(st.one_of(st.integers(1, 8), st.sampled_from([-(2 ** 31), -1, 4097, 2 ** 31 - 1]))),
        adapter=draw(st.one_of(st.sampled_from(["", "", "", "none", "base", "default", "nope"]), st.text(max_size=12))),
        grammar_backend=draw(st.sampled_from([0] * 12 + [1, 1, 2, 3, 4, 99, -7])),
        temperature=draw(st.sampled_from([0.0] * 8 + [0.5, 1.0, 5.0, 5.01, -0.1, math.nan, math.inf, -math.inf, 1e30])),
        request_id=draw(st.text(max_size=20)),
        unconstrained=draw(st.sampled_from([False] * 9 + [True])),
        grounding_policy=draw(st.sampled_from([0] * 6 + [1, 2, 3, 5])))
    if draw(st.booleans()):
        options.seed = draw(st.integers(-(2 ** 63), 2 ** 63 - 1))
    method = draw(st.sampled_from(["Structure"] * 7 + ["StructureStream"] + ["ValidateSchema"] * 2))
    if method == "ValidateSchema":
        return method, slot_pb2.ValidateSchemaRequest(json_schema=schema_text, grammar_backend=options.grammar_backend)
    return method, slot_pb2.StructureRequest(text=text, json_schema=schema_text, options=options)


@st.composite
def wire_mutations(draw: Any) -> bytes:
    """A serialized request with bytes flipped, cut, inserted, or invalid UTF-8 in a string field."""
    base = slot_pb2.StructureRequest(text=TEXT, json_schema=json.dumps(RESTAURANT),
                                     options=slot_pb2.StructureOptions(max_tokens=4)).SerializeToString()
    data = bytearray(base)
    kind = draw(st.sampled_from(["flip", "cut", "insert", "utf8", "random"]))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif kind == "cut":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "insert":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=16))
    elif kind == "utf8":
        start = base.index(TEXT.encode()[:10])
        bad = draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80"]))
        data[start:start + len(bad)] = bad
    else:
        data = bytearray(draw(st.binary(max_size=64)))
    return bytes(data)


# -- the runner --------------------------------------------------------------------------------------------------

class Fuzzer:
    """Sends requests over one channel and tallies the outcomes by status code."""

    def __init__(self, target: str) -> None:
        self.channel = grpc.insecure_channel(target, [("grpc.max_send_message_length", 16 << 20)])
        self.target = target
        self.counts: Counter[str] = Counter()
        self.by_method: Counter[str] = Counter()
        self.slowest = (0.0, "")
        self.bad: list[str] = []

    def send(self, method: str, payload: Any) -> str:
        raw = payload if isinstance(payload, bytes) else payload.SerializeToString()
        path = f"/slot.v1.Slot/{method}"
        started = time.perf_counter()
        code, details = "OK", ""
        try:
            if method == "StructureStream":
                for _ in self.channel.unary_stream(path)(raw, timeout=CALL_TIMEOUT):
                    pass
            else:
                self.channel.unary_unary(path)(raw, timeout=CALL_TIMEOUT)
        except grpc.RpcError as exc:
            code, details = exc.code().name, exc.details() or ""
        seconds = time.perf_counter() - started
        if seconds > self.slowest[0]:
            self.slowest = (seconds, f"{method} {code} {raw[:120]!r}")
        self.counts[code] += 1
        self.by_method[f"{method}:{code}"] += 1
        if code not in DOCUMENTED or (code != "OK" and (not details or "Traceback" in details)):
            self.bad.append(f"{method} -> {code} {details[:200]!r} for {raw[:300]!r}")
        return code

    def close(self) -> None:
        self.channel.close()

    def report(self, label: str) -> dict[str, Any]:
        report = {"label": label, "requests": sum(self.counts.values()), "by_status": dict(self.counts.most_common()),
                  "by_method": dict(sorted(self.by_method.items())), "slowest_s": round(self.slowest[0], 3),
                  "slowest": self.slowest[1], "undocumented": self.bad[:20]}
        return report


def _emit(report: dict[str, Any], capsys: Any) -> None:
    with capsys.disabled():
        print(f"\n[fuzz] {report['label']}: {report['requests']} requests; by status: {report['by_status']}; "
              f"slowest {report['slowest_s']} s")
    path = os.environ.get("SLOT_FUZZ_REPORT")
    if path:
        existing = json.loads(open(path, encoding="utf-8").read()) if os.path.exists(path) else []
        existing.append(report)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(existing, handle, indent=2)


@pytest.fixture(scope="module")
def fuzz_server(settings, structurer):
    running = start_server(settings, structurer, max_concurrency=2, max_queue=8)
    yield running
    running.stop()


def _baseline(target: str) -> str:
    from slot.client import SlotClient

    with SlotClient(target, timeout=120) as client:
        result = client.structure(TEXT, RESTAURANT)
    assert result.valid
    return result.output


def _run_structured(server: Any, examples: int, capsys: Any, label: str, derandomize: bool) -> None:
    remote = CountingHTTPServer()
    before = _baseline(server.target)
    fuzzer = Fuzzer(server.target)
    limit = server.server.settings.max_text_chars
    sent = {"n": 0}

    @settings(max_examples=examples, deadline=None, database=None, derandomize=derandomize,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink])
    @given(call=requests(remote.base, limit))
    def one(call: tuple[str, Any]) -> None:
        sent["n"] += 1
        fuzzer.send(*call)
        assert not fuzzer.bad, fuzzer.bad[-1]
        if sent["n"] % 100 == 0:
            assert server.thread.is_alive() and health_status(server.target) == "SERVING"
            progress = os.environ.get("SLOT_FUZZ_PROGRESS")
            if progress:  # partial counts survive an interrupted long run
                with open(progress, "w", encoding="utf-8") as handle:
                    json.dump(fuzzer.report(label + " (in progress)"), handle)

    try:
        one()
    finally:
        report = fuzzer.report(label)
        report["remote_fetches"] = len(remote.hits)
        _emit(report, capsys)
        fuzzer.close()
        remote.close()
    assert sent["n"] >= examples
    assert remote.hits == [], f"remote schemas were fetched: {remote.hits}"
    assert server.thread.is_alive() and health_status(server.target) == "SERVING"
    assert _baseline(server.target) == before


def test_fuzz_300_requests(fuzz_server, capsys):
    _run_structured(fuzz_server, 300, capsys, "structured-300", derandomize=True)


@pytest.mark.slow
def test_fuzz_5000_requests(fuzz_server, capsys):
    _run_structured(fuzz_server, 5000, capsys, "structured-5000", derandomize=False)


def _run_wire(server: Any, examples: int, capsys: Any, label: str) -> None:
    fuzzer = Fuzzer(server.target)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(payload=wire_mutations(), method=st.sampled_from(["Structure", "ValidateSchema", "StructureStream"]))
    def one(payload: bytes, method: str) -> None:
        fuzzer.send(method, payload)

    try:
        one()
    finally:
        _emit(fuzzer.report(label), capsys)
        fuzzer.close()
    assert server.thread.is_alive() and health_status(server.target) == "SERVING"
    assert not fuzzer.bad, f"{len(fuzzer.bad)} undocumented answers, e.g. {fuzzer.bad[:3]}"


def test_fuzz_wire_level_200(fuzz_server, capsys):
    _run_wire(fuzz_server, 200, capsys, "wire-200")

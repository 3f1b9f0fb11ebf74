"""What the sync and async clients share: request building, results, Pydantic handling, retry policy."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

from slot.v1 import slot_pb2

BACKENDS = {"llguidance": slot_pb2.GRAMMAR_BACKEND_LLGUIDANCE, "xgrammar": slot_pb2.GRAMMAR_BACKEND_XGRAMMAR,
            "outlines_core": slot_pb2.GRAMMAR_BACKEND_OUTLINES_CORE}
POLICIES = {"keep": slot_pb2.GROUNDING_POLICY_KEEP, "null": slot_pb2.GROUNDING_POLICY_NULL,
            "fail": slot_pb2.GROUNDING_POLICY_FAIL, "extract": slot_pb2.GROUNDING_POLICY_EXTRACT,
            "omit": slot_pb2.GROUNDING_POLICY_OMIT}
FINISH = {slot_pb2.FINISH_REASON_STOP: "stop", slot_pb2.FINISH_REASON_LENGTH: "length",
          slot_pb2.FINISH_REASON_CANCELLED: "cancelled", slot_pb2.FINISH_REASON_ERROR: "error"}
STATUS = {slot_pb2.GROUNDING_STATUS_GROUNDED: "grounded", slot_pb2.GROUNDING_STATUS_INFERRED: "inferred",
          slot_pb2.GROUNDING_STATUS_UNGROUNDED: "ungrounded"}


@dataclass(frozen=True)
class RetryPolicy:
    """Retries with exponential backoff and jitter, on UNAVAILABLE only (safe: structuring is idempotent)."""

    attempts: int = 4
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 3.0
    multiplier: float = 2.0

    def delay(self, attempt: int) -> float:
        base = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** attempt)
        return base * (0.5 + random.random() / 2)


@dataclass
class StructureResult:
    """A SLOT answer: ``json`` (parsed value), ``valid``, ``errors``, ``usage``, ``timings``, ``grounding``."""

    json: Any
    valid: bool
    errors: list[str]
    finish_reason: str
    output: str
    usage: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    grounding: list[dict[str, Any]] = field(default_factory=list)
    """Per value: ``path`` (JSON Pointer), ``status``, ``spans`` in the text and ``confidence`` (in [0, 1], None
    when the server's engine reports none)."""
    grounding_score: float = 1.0
    extracted_paths: list[str] = field(default_factory=list)
    """Values decoded again constrained to spans of the text (grounding policy ``extract``)."""
    repaired_paths: list[str] = field(default_factory=list)
    """Misspelt or drifted copies of a span of the text replaced by that span (server setting ``repair_copies``)."""
    request_id: str = ""
    adapter: str = ""
    schema_hash: str = ""
    path: str = ""
    """How the answer was made: "model" (decoded) or "parse" (a JSON value found in the text, no tokens)."""
    cut_paths: list[str] = field(default_factory=list)
    """Values max_tokens cut short (finish_reason "length"): a string, number or array closed early."""
    filled_paths: list[str] = field(default_factory=list)
    """Required values written for the budget, not by the model (finish_reason "length"); never grounded."""
    enforcement: dict[str, list[str]] = field(default_factory=dict)
    """What enforced each schema keyword: ``grammar_keywords``, ``post_checked_keywords``, ``closed_object_paths``,
    ``ignored_keywords`` (keywords nothing checks) and ``relaxed_keywords`` (post-checked keywords the grammar only
    approximates; a ``strict`` request refuses such a schema)."""
    attempts: int = 1
    """Decodings made: more than 1 when an output broke a post-checked keyword and was decoded again, or when list
    extension or key filling resumed the answer; 0 when the answer came from the text (path "parse")."""


def schema_text(schema: Any) -> tuple[str, Any]:
    """(JSON text, Pydantic class or None) for a dict, JSON text or Pydantic model class."""
    if isinstance(schema, type) and hasattr(schema, "model_json_schema"):
        return json.dumps(schema.model_json_schema()), schema
    if isinstance(schema, (dict, bool)):
        return json.dumps(schema), None
    if isinstance(schema, str):
        check_encodable("json_schema", schema)
        return schema, None
    if isinstance(schema, bytes):
        return schema.decode("utf-8"), None
    raise TypeError("schema must be a dict, JSON text or a Pydantic model class")


def build_request(text: str, schema: str, *, max_tokens: int = 0, adapter: str = "", grammar_backend: str = "",
                  temperature: float = 0.0, seed: int | None = None, request_id: str = "",
                  unconstrained: bool = False, grounding_policy: str = "", parse_first: bool | None = None,
                  strict: bool = False) -> Any:
    if grammar_backend and grammar_backend not in BACKENDS:
        raise ValueError(f"grammar_backend must be one of {', '.join(BACKENDS)}")
    if grounding_policy and grounding_policy not in POLICIES:
        raise ValueError(f"grounding_policy must be one of {', '.join(POLICIES)}")
    for name, value in (("text", text), ("json_schema", schema), ("options.adapter", adapter),
                        ("options.request_id", request_id)):  # the schema: when a caller passes its own text
        check_encodable(name, value)
    options = slot_pb2.StructureOptions(max_tokens=max_tokens, adapter=adapter,
                                        grammar_backend=BACKENDS.get(grammar_backend, 0), temperature=temperature,
                                        request_id=request_id, unconstrained=unconstrained,
                                        grounding_policy=POLICIES.get(grounding_policy, 0), strict=strict)
    if seed is not None:
        options.seed = seed
    if parse_first is not None:
        options.parse_first = parse_first
    return slot_pb2.StructureRequest(text=text, json_schema=schema, options=options)


def check_encodable(name: str, value: str) -> None:
    """Raise the SDK's InvalidArgument (as the server would) for a string protobuf cannot send: one that is not
    valid Unicode, such as a lone surrogate (``"\\ud800"``), rather than protobuf's raw UnicodeEncodeError."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        import grpc

        from slot.client.errors import InvalidArgument

        message = f"{name} is not valid Unicode (character {exc.start}: {exc.reason})"
        raise InvalidArgument(message, code=grpc.StatusCode.INVALID_ARGUMENT,
                              field_violations=[(name, message)]) from None


def to_result(response: Any) -> StructureResult:
    g = response.grounding
    return StructureResult(
        json=json.loads(response.json) if response.json else None, valid=response.valid, errors=list(response.errors),
        finish_reason=FINISH.get(response.finish_reason, "unspecified"), output=response.output,
        usage={f.name: getattr(response.usage, f.name) for f in response.usage.DESCRIPTOR.fields},
        timings={f.name: getattr(response.timings, f.name) for f in response.timings.DESCRIPTOR.fields},
        grounding=[{"path": f.path, "status": STATUS.get(f.status, "unspecified"),
                    "spans": [(s.start, s.end) for s in f.spans],
                    "confidence": None if math.isnan(f.confidence) else f.confidence} for f in g.fields],
        grounding_score=g.score if response.HasField("grounding") else 1.0, extracted_paths=list(g.extracted_paths),
        repaired_paths=list(g.repaired_paths),
        request_id=response.request_id, adapter=response.adapter, schema_hash=response.schema_hash,
        path=response.path, cut_paths=list(response.cut_paths), filled_paths=list(response.filled_paths),
        enforcement=enforcement_dict(response.enforcement), attempts=response.attempts)


def enforcement_dict(message: Any) -> dict[str, list[str]]:
    """An Enforcement message as a dict of its four lists."""
    return {f.name: list(getattr(message, f.name)) for f in message.DESCRIPTOR.fields}


def schema_report(response: Any) -> dict[str, Any]:
    """A ValidateSchemaResponse as the dict ``validate_schema`` returns."""
    return {"schema_hash": response.schema_hash, "post_checked_keywords": list(response.post_checked_keywords),
            "compile_ms": response.compile_ms, "cache_hit": response.cache_hit,
            "enforcement": enforcement_dict(response.enforcement), "prompt_tokens": response.prompt_tokens,
            "relaxed": response.relaxed}


def finish(result: StructureResult, model: Any) -> Any:
    """The result, or a validated instance of the Pydantic model when one was given."""
    if model is None:
        return result
    from pydantic import ValidationError

    from slot.client.errors import ValidationFailed
    import grpc

    if result.json is None:
        raise ValidationFailed(f"no JSON value in the output ({result.finish_reason}): {'; '.join(result.errors)}",
                               code=grpc.StatusCode.OK)
    try:
        return model.model_validate(result.json)
    except ValidationError as exc:
        raise ValidationFailed(f"output does not validate as {model.__name__}: {exc}", code=grpc.StatusCode.OK) from None


def credentials(tls: bool, root_certificates: bytes | None, private_key: bytes | None,
                certificate_chain: bytes | None) -> Any:
    import grpc

    if not tls and root_certificates is None:
        return None
    return grpc.ssl_channel_credentials(root_certificates=root_certificates, private_key=private_key,
                                        certificate_chain=certificate_chain)


def channel_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    return [("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes)]


def auth_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying the bearer token, if any."""
    return (("authorization", f"Bearer {token}"),) if token else ()


def open_channel(grpc_module: Any, target: str, *, tls: bool, root_certificates: bytes | None,
                 private_key: bytes | None, certificate_chain: bytes | None, max_message_bytes: int) -> Any:
    """A channel from ``grpc`` or ``grpc.aio``: secure when TLS or a CA is given, insecure otherwise."""
    creds = credentials(tls, root_certificates, private_key, certificate_chain)
    options = channel_options(max_message_bytes)
    if creds is not None:
        return grpc_module.secure_channel(target, creds, options)
    return grpc_module.insecure_channel(target, options)

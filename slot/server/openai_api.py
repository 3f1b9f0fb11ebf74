"""The OpenAI Chat Completions wire format as SLOT speaks it: request models, replies, stream chunks, errors.

Pydantic models and pure functions only (no I/O); ``slot.server.http`` serves them. What SLOT does with a
request: the text to structure is the last ``user`` message (its text parts joined by newlines); system,
developer, assistant and tool messages and earlier user turns are ignored, because SLOT's own prompt (its
instructions and the schema) replaces them. ``response_format`` gives the schema (``json_schema``) or asks
for any JSON object (``json_object``, also the default); ``model`` picks the adapter. OpenAI fields SLOT has
no use for (top_p, stop, user, metadata, ...) are accepted and ignored; ``n`` > 1, tools and functions are
refused. SLOT's own options go in an optional ``slot`` object (``extra_body`` in the OpenAI client).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from slot.errors import InvalidRequestError, SchemaError, SlotError, UnknownAdapterError, UnsupportedSchemaError
from slot.server.state import json_text
from slot.server.status import clip
from slot.structurer import BASE, DEFAULT, StructureResult

SLOT_MODEL = "slot"
"""Model id of the server's default adapter (the shipped SLOT adapter, or the base model when none is loaded)."""
BASE_MODEL = "slot-base"
"""Model id of the base model without any adapter."""
ANY_OBJECT: dict[str, Any] = {"type": "object"}
"""The schema of ``response_format: {"type": "json_object"}``: any JSON object."""
INT64 = 2**63

HTTP_STATUS = {"INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "NOT_FOUND": 404, "FAILED_PRECONDITION": 422,
               "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499, "INTERNAL": 500, "UNAVAILABLE": 503,
               "DEADLINE_EXCEEDED": 504}
"""SLOT's error status (a gRPC code name, ``SlotError.status``) -> HTTP status."""
PARAMS = {"text": "messages", "schema": "response_format.json_schema.schema", "options.max_tokens": "max_tokens",
          "options.temperature": "temperature", "options.adapter": "model",
          "options.grounding_policy": "slot.grounding_policy", "options.grammar_backend": "slot.grammar_backend"}
"""SLOT's request field names -> the request parameter an OpenAI client sent."""


class ApiError(Exception):
    """An HTTP error in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(self, status: int, message: str, *, code: str, param: str | None = None,
                 extra: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.extra = extra or {}
        """More keys of the error object (SLOT's own: the schema path and keyword at fault)."""

    @property
    def type(self) -> str:
        """OpenAI's error type for the status."""
        if self.status == 401:
            return "authentication_error"
        if self.status == 429:
            return "rate_limit_error"
        return "server_error" if self.status >= 500 else "invalid_request_error"

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code,
                          **self.extra}}


def api_error(error: SlotError) -> ApiError:
    """The HTTP form of a SlotError: same message as the gRPC status, HTTP status by its code."""
    status = HTTP_STATUS.get(error.status, 500)
    if isinstance(error, UnknownAdapterError):
        code = "model_not_found"
    elif isinstance(error, UnsupportedSchemaError):
        code = "unsupported_schema"
    elif isinstance(error, SchemaError):
        code = "invalid_schema"
    else:
        code = {400: "invalid_value", 422: "failed_precondition", 429: "server_busy",
                503: "unavailable"}.get(status, error.status.lower())
    extra = {key: clip(value, 256) for key, value in (("path", error.path), ("keyword", error.keyword)) if value}
    return ApiError(status, clip(str(error)), code=code, param=PARAMS.get(error.field, error.field or None),
                    extra=extra)


def validation_error(exc: ValidationError) -> InvalidRequestError:
    """A Pydantic refusal of the request body as one precise message naming the first field at fault."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "request"
    return InvalidRequestError(f"{where}: {first['msg']}", field=where)


# -- the request -----------------------------------------------------------------------------------------

class Message(BaseModel):
    """One chat message; only ``role`` and ``content`` matter to SLOT."""

    model_config = ConfigDict(extra="allow", strict=True)
    role: str
    content: str | list[dict[str, Any]] | None = None


class JsonSchemaFormat(BaseModel):
    """``response_format.json_schema``: the schema SLOT enforces (``strict`` or not: the grammar always does)."""

    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True)
    name: str | None = None
    description: str | None = None
    json_schema: dict[str, Any] | bool | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["json_schema", "json_object", "text"]
    json_schema: JsonSchemaFormat | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    include_usage: bool = False


class SlotOptions(BaseModel):
    """SLOT's own request options (the ``slot`` object of the body)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    grounding_policy: str | None = None
    """keep, omit, null, fail or extract (see slot.grounding); None: the server's setting ``grounding_policy``."""
    grammar_backend: Literal["llguidance", "xgrammar", "outlines_core"] | None = None
    parse_first: bool | None = None
    """The parse-first fast path (a JSON value already in the text); None: the server's setting."""
    strict: bool = False
    """Refuse a schema the grammar would only approximate (``slot.enforcement``) instead of serving it relaxed;
    ``response_format.json_schema.strict`` does not set it (OpenAI clients send ``strict: true`` routinely)."""


class ChatCompletionRequest(BaseModel):
    """POST /v1/chat/completions, the fields SLOT reads; any other field is accepted and ignored."""

    model_config = ConfigDict(extra="allow", strict=True)
    model: str
    messages: list[Message] = Field(min_length=1)
    response_format: ResponseFormat | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    seed: int | None = Field(default=None, ge=-INT64, lt=INT64)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    n: int | None = None
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    slot: SlotOptions | None = None

    def text(self) -> str:
        """The text to structure: the last user message (text parts joined by newlines)."""
        for message in reversed(self.messages):
            if message.role != "user":
                continue
            if isinstance(message.content, str):
                return message.content
            parts = []
            for part in message.content or []:
                if part.get("type") != "text" or not isinstance(part.get("text"), str):
                    raise InvalidRequestError(f"SLOT structures text only; a user message part of type "
                                              f"{clip(str(part.get('type')), 64)!r} is not supported", field="text")
                parts.append(part["text"])
            return "\n".join(parts)
        raise InvalidRequestError("messages has no user message (the text to structure is the last user message)",
                                  field="text")

    def schema(self) -> dict[str, Any] | bool:
        """The JSON Schema the output must follow (any JSON object for json_object or no response_format)."""
        if self.n not in (None, 1):
            raise InvalidRequestError(f"n must be 1, got {self.n}", field="n")
        if self.tools or self.functions:
            raise InvalidRequestError("tools and functions are not supported: SLOT answers with JSON content; "
                                      "use response_format json_schema", field="tools" if self.tools else "functions")
        fmt = self.response_format
        if fmt is None or fmt.type == "json_object":
            return ANY_OBJECT
        if fmt.type == "text":
            raise InvalidRequestError("SLOT writes JSON only: response_format must be json_schema or json_object",
                                      field="response_format")
        if fmt.json_schema is None or fmt.json_schema.json_schema is None:
            raise SchemaError("response_format json_schema needs json_schema.schema")
        return fmt.json_schema.json_schema

    def token_limit(self) -> int | None:
        """max_completion_tokens, else max_tokens (None: the server default)."""
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens


def parse_request(data: Any) -> ChatCompletionRequest:
    """The request body (already parsed JSON) as a ChatCompletionRequest; InvalidRequestError when it is not one."""
    if not isinstance(data, dict):
        raise InvalidRequestError(f"the request body must be a JSON object, got {type(data).__name__}")
    try:
        return ChatCompletionRequest.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def adapter_for(model: str, adapters: list[str]) -> str:
    """The adapter option of a model id: '' (the default) for slot, 'base' for slot-base, else a loaded name."""
    if model == SLOT_MODEL:
        return ""
    if model == BASE_MODEL:
        return BASE
    if model in adapters:
        return model
    available = ", ".join(model_ids(adapters))
    raise UnknownAdapterError(f"the model {clip(model, 128)!r} does not exist; available: {available}",
                              field="options.adapter")


def model_ids(adapters: list[str]) -> list[str]:
    """The model ids this server lists (the default adapter is ``slot``; its engine name works too)."""
    return [SLOT_MODEL, BASE_MODEL, *(name for name in adapters if name not in (SLOT_MODEL, BASE_MODEL, DEFAULT))]


def models_list(adapters: list[str], created: int) -> dict[str, Any]:
    """GET /v1/models."""
    return {"object": "list", "data": [model_card(name, created) for name in model_ids(adapters)]}


def model_card(name: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "slot"}


# -- the reply -------------------------------------------------------------------------------------------

def completion_id(request_id: str = "") -> str:
    return f"chatcmpl-{request_id or uuid.uuid4().hex}"


def content_of(result: StructureResult, policy: str) -> str:
    """The message content: the JSON as the model wrote it (also what a stream sends), or, when a grounding
    policy other than 'keep' or near-copy repair changed values, the JSON after them."""
    if policy == "keep" and not (result.grounding or {}).get("repaired_paths"):
        return result.output
    return json_text(result) or result.output


def finish_reason(result: StructureResult) -> str:
    """OpenAI's finish reason: 'length' when max_tokens cut the output, else 'stop' (slot.finish_reason says more)."""
    return "length" if result.finish_reason == "length" else "stop"


def usage(result: StructureResult) -> dict[str, Any]:
    u = result.usage
    return {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
            "total_tokens": u.prompt_tokens + u.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": u.cached_prompt_tokens}}


def extras(result: StructureResult, request_id: str) -> dict[str, Any]:
    """SLOT's record of the request (valid, errors, grounding, timings, ...): the ``slot`` field of a reply."""
    data = {key: value for key, value in result.to_dict().items() if key not in ("output", "json")}
    return {"request_id": request_id, **data}


def completion(result: StructureResult, *, model: str, request_id: str, created: int, policy: str) -> dict[str, Any]:
    """The ChatCompletion of one structured text."""
    return {"id": completion_id(request_id), "object": "chat.completion", "created": created, "model": model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content_of(result, policy),
                                                 "refusal": None},
                         "logprobs": None, "finish_reason": finish_reason(result)}],
            "usage": usage(result), "slot": extras(result, request_id)}


def chunk(*, model: str, request_id: str, created: int, delta: dict[str, Any] | None = None,
          result: StructureResult | None = None, policy: str = "keep", include_usage: bool = False) -> dict[str, Any]:
    """One ``chat.completion.chunk``: a delta, or (with ``result``) the last one, with the finish reason and
    SLOT's record. The deltas are the model's text; when a grounding policy other than 'keep' changed values,
    the record's ``json`` is the JSON after the policy. With ``include_usage`` every chunk has ``usage: null``
    (see ``usage_chunk``)."""
    choice = {"index": 0, "delta": delta or {}, "logprobs": None,
              "finish_reason": finish_reason(result) if result is not None else None}
    data: dict[str, Any] = {"id": completion_id(request_id), "object": "chat.completion.chunk", "created": created,
                            "model": model, "system_fingerprint": None, "choices": [choice]}
    if include_usage:
        data["usage"] = None
    if result is not None:
        data["slot"] = extras(result, request_id)
        if policy != "keep":
            data["slot"]["json"] = content_of(result, policy)
    return data


def usage_chunk(result: StructureResult, *, model: str, request_id: str, created: int) -> dict[str, Any]:
    """The extra last chunk of ``stream_options.include_usage``: no choices, the usage."""
    return {"id": completion_id(request_id), "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": None, "choices": [], "usage": usage(result)}

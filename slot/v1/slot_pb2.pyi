from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GrammarBackend(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRAMMAR_BACKEND_UNSPECIFIED: _ClassVar[GrammarBackend]
    GRAMMAR_BACKEND_LLGUIDANCE: _ClassVar[GrammarBackend]
    GRAMMAR_BACKEND_XGRAMMAR: _ClassVar[GrammarBackend]
    GRAMMAR_BACKEND_OUTLINES_CORE: _ClassVar[GrammarBackend]

class FinishReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINISH_REASON_UNSPECIFIED: _ClassVar[FinishReason]
    FINISH_REASON_STOP: _ClassVar[FinishReason]
    FINISH_REASON_LENGTH: _ClassVar[FinishReason]
    FINISH_REASON_CANCELLED: _ClassVar[FinishReason]
    FINISH_REASON_ERROR: _ClassVar[FinishReason]

class GroundingPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GROUNDING_POLICY_UNSPECIFIED: _ClassVar[GroundingPolicy]
    GROUNDING_POLICY_KEEP: _ClassVar[GroundingPolicy]
    GROUNDING_POLICY_NULL: _ClassVar[GroundingPolicy]
    GROUNDING_POLICY_FAIL: _ClassVar[GroundingPolicy]
    GROUNDING_POLICY_EXTRACT: _ClassVar[GroundingPolicy]
    GROUNDING_POLICY_OMIT: _ClassVar[GroundingPolicy]

class GroundingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GROUNDING_STATUS_UNSPECIFIED: _ClassVar[GroundingStatus]
    GROUNDING_STATUS_GROUNDED: _ClassVar[GroundingStatus]
    GROUNDING_STATUS_INFERRED: _ClassVar[GroundingStatus]
    GROUNDING_STATUS_UNGROUNDED: _ClassVar[GroundingStatus]
GRAMMAR_BACKEND_UNSPECIFIED: GrammarBackend
GRAMMAR_BACKEND_LLGUIDANCE: GrammarBackend
GRAMMAR_BACKEND_XGRAMMAR: GrammarBackend
GRAMMAR_BACKEND_OUTLINES_CORE: GrammarBackend
FINISH_REASON_UNSPECIFIED: FinishReason
FINISH_REASON_STOP: FinishReason
FINISH_REASON_LENGTH: FinishReason
FINISH_REASON_CANCELLED: FinishReason
FINISH_REASON_ERROR: FinishReason
GROUNDING_POLICY_UNSPECIFIED: GroundingPolicy
GROUNDING_POLICY_KEEP: GroundingPolicy
GROUNDING_POLICY_NULL: GroundingPolicy
GROUNDING_POLICY_FAIL: GroundingPolicy
GROUNDING_POLICY_EXTRACT: GroundingPolicy
GROUNDING_POLICY_OMIT: GroundingPolicy
GROUNDING_STATUS_UNSPECIFIED: GroundingStatus
GROUNDING_STATUS_GROUNDED: GroundingStatus
GROUNDING_STATUS_INFERRED: GroundingStatus
GROUNDING_STATUS_UNGROUNDED: GroundingStatus

class StructureOptions(_message.Message):
    __slots__ = ("max_tokens", "adapter", "grammar_backend", "temperature", "seed", "request_id", "unconstrained", "grounding_policy", "parse_first", "strict")
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    GRAMMAR_BACKEND_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    UNCONSTRAINED_FIELD_NUMBER: _ClassVar[int]
    GROUNDING_POLICY_FIELD_NUMBER: _ClassVar[int]
    PARSE_FIRST_FIELD_NUMBER: _ClassVar[int]
    STRICT_FIELD_NUMBER: _ClassVar[int]
    max_tokens: int
    adapter: str
    grammar_backend: GrammarBackend
    temperature: float
    seed: int
    request_id: str
    unconstrained: bool
    grounding_policy: GroundingPolicy
    parse_first: bool
    strict: bool
    def __init__(self, max_tokens: _Optional[int] = ..., adapter: _Optional[str] = ..., grammar_backend: _Optional[_Union[GrammarBackend, str]] = ..., temperature: _Optional[float] = ..., seed: _Optional[int] = ..., request_id: _Optional[str] = ..., unconstrained: _Optional[bool] = ..., grounding_policy: _Optional[_Union[GroundingPolicy, str]] = ..., parse_first: _Optional[bool] = ..., strict: _Optional[bool] = ...) -> None: ...

class StructureRequest(_message.Message):
    __slots__ = ("text", "json_schema", "options")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    text: str
    json_schema: str
    options: StructureOptions
    def __init__(self, text: _Optional[str] = ..., json_schema: _Optional[str] = ..., options: _Optional[_Union[StructureOptions, _Mapping]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("prompt_tokens", "completion_tokens", "cached_prompt_tokens", "forced_tokens", "copied_tokens", "forward_passes", "remembered_tokens")
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHED_PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    FORCED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COPIED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    FORWARD_PASSES_FIELD_NUMBER: _ClassVar[int]
    REMEMBERED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int
    forced_tokens: int
    copied_tokens: int
    forward_passes: int
    remembered_tokens: int
    def __init__(self, prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., cached_prompt_tokens: _Optional[int] = ..., forced_tokens: _Optional[int] = ..., copied_tokens: _Optional[int] = ..., forward_passes: _Optional[int] = ..., remembered_tokens: _Optional[int] = ...) -> None: ...

class Timings(_message.Message):
    __slots__ = ("queue_ms", "compile_ms", "generate_ms", "total_ms", "grounding_ms")
    QUEUE_MS_FIELD_NUMBER: _ClassVar[int]
    COMPILE_MS_FIELD_NUMBER: _ClassVar[int]
    GENERATE_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    GROUNDING_MS_FIELD_NUMBER: _ClassVar[int]
    queue_ms: float
    compile_ms: float
    generate_ms: float
    total_ms: float
    grounding_ms: float
    def __init__(self, queue_ms: _Optional[float] = ..., compile_ms: _Optional[float] = ..., generate_ms: _Optional[float] = ..., total_ms: _Optional[float] = ..., grounding_ms: _Optional[float] = ...) -> None: ...

class Span(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class FieldGrounding(_message.Message):
    __slots__ = ("path", "status", "spans", "confidence")
    PATH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    path: str
    status: GroundingStatus
    spans: _containers.RepeatedCompositeFieldContainer[Span]
    confidence: float
    def __init__(self, path: _Optional[str] = ..., status: _Optional[_Union[GroundingStatus, str]] = ..., spans: _Optional[_Iterable[_Union[Span, _Mapping]]] = ..., confidence: _Optional[float] = ...) -> None: ...

class Enforcement(_message.Message):
    __slots__ = ("grammar_keywords", "post_checked_keywords", "closed_object_paths", "ignored_keywords", "relaxed_keywords")
    GRAMMAR_KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    POST_CHECKED_KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    CLOSED_OBJECT_PATHS_FIELD_NUMBER: _ClassVar[int]
    IGNORED_KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    RELAXED_KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    grammar_keywords: _containers.RepeatedScalarFieldContainer[str]
    post_checked_keywords: _containers.RepeatedScalarFieldContainer[str]
    closed_object_paths: _containers.RepeatedScalarFieldContainer[str]
    ignored_keywords: _containers.RepeatedScalarFieldContainer[str]
    relaxed_keywords: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, grammar_keywords: _Optional[_Iterable[str]] = ..., post_checked_keywords: _Optional[_Iterable[str]] = ..., closed_object_paths: _Optional[_Iterable[str]] = ..., ignored_keywords: _Optional[_Iterable[str]] = ..., relaxed_keywords: _Optional[_Iterable[str]] = ...) -> None: ...

class Grounding(_message.Message):
    __slots__ = ("fields", "score", "ungrounded_paths", "extracted_paths", "repaired_paths")
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    UNGROUNDED_PATHS_FIELD_NUMBER: _ClassVar[int]
    EXTRACTED_PATHS_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_PATHS_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.RepeatedCompositeFieldContainer[FieldGrounding]
    score: float
    ungrounded_paths: _containers.RepeatedScalarFieldContainer[str]
    extracted_paths: _containers.RepeatedScalarFieldContainer[str]
    repaired_paths: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, fields: _Optional[_Iterable[_Union[FieldGrounding, _Mapping]]] = ..., score: _Optional[float] = ..., ungrounded_paths: _Optional[_Iterable[str]] = ..., extracted_paths: _Optional[_Iterable[str]] = ..., repaired_paths: _Optional[_Iterable[str]] = ...) -> None: ...

class StructureResponse(_message.Message):
    __slots__ = ("json", "valid", "errors", "finish_reason", "usage", "timings", "request_id", "schema_hash", "adapter", "grounding", "output", "path", "cut_paths", "filled_paths", "enforcement", "attempts")
    JSON_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_HASH_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    GROUNDING_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    CUT_PATHS_FIELD_NUMBER: _ClassVar[int]
    FILLED_PATHS_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    json: str
    valid: bool
    errors: _containers.RepeatedScalarFieldContainer[str]
    finish_reason: FinishReason
    usage: Usage
    timings: Timings
    request_id: str
    schema_hash: str
    adapter: str
    grounding: Grounding
    output: str
    path: str
    cut_paths: _containers.RepeatedScalarFieldContainer[str]
    filled_paths: _containers.RepeatedScalarFieldContainer[str]
    enforcement: Enforcement
    attempts: int
    def __init__(self, json: _Optional[str] = ..., valid: _Optional[bool] = ..., errors: _Optional[_Iterable[str]] = ..., finish_reason: _Optional[_Union[FinishReason, str]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., timings: _Optional[_Union[Timings, _Mapping]] = ..., request_id: _Optional[str] = ..., schema_hash: _Optional[str] = ..., adapter: _Optional[str] = ..., grounding: _Optional[_Union[Grounding, _Mapping]] = ..., output: _Optional[str] = ..., path: _Optional[str] = ..., cut_paths: _Optional[_Iterable[str]] = ..., filled_paths: _Optional[_Iterable[str]] = ..., enforcement: _Optional[_Union[Enforcement, _Mapping]] = ..., attempts: _Optional[int] = ...) -> None: ...

class StructureStreamResponse(_message.Message):
    __slots__ = ("delta", "result")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    delta: str
    result: StructureResponse
    def __init__(self, delta: _Optional[str] = ..., result: _Optional[_Union[StructureResponse, _Mapping]] = ...) -> None: ...

class ValidateSchemaRequest(_message.Message):
    __slots__ = ("json_schema", "grammar_backend", "strict")
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    GRAMMAR_BACKEND_FIELD_NUMBER: _ClassVar[int]
    STRICT_FIELD_NUMBER: _ClassVar[int]
    json_schema: str
    grammar_backend: GrammarBackend
    strict: bool
    def __init__(self, json_schema: _Optional[str] = ..., grammar_backend: _Optional[_Union[GrammarBackend, str]] = ..., strict: _Optional[bool] = ...) -> None: ...

class ValidateSchemaResponse(_message.Message):
    __slots__ = ("schema_hash", "post_checked_keywords", "compile_ms", "cache_hit", "grammar_backend", "enforcement", "prompt_tokens", "relaxed")
    SCHEMA_HASH_FIELD_NUMBER: _ClassVar[int]
    POST_CHECKED_KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    COMPILE_MS_FIELD_NUMBER: _ClassVar[int]
    CACHE_HIT_FIELD_NUMBER: _ClassVar[int]
    GRAMMAR_BACKEND_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    RELAXED_FIELD_NUMBER: _ClassVar[int]
    schema_hash: str
    post_checked_keywords: _containers.RepeatedScalarFieldContainer[str]
    compile_ms: float
    cache_hit: bool
    grammar_backend: GrammarBackend
    enforcement: Enforcement
    prompt_tokens: int
    relaxed: bool
    def __init__(self, schema_hash: _Optional[str] = ..., post_checked_keywords: _Optional[_Iterable[str]] = ..., compile_ms: _Optional[float] = ..., cache_hit: _Optional[bool] = ..., grammar_backend: _Optional[_Union[GrammarBackend, str]] = ..., enforcement: _Optional[_Union[Enforcement, _Mapping]] = ..., prompt_tokens: _Optional[int] = ..., relaxed: _Optional[bool] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_text_chars", "max_schema_bytes", "max_bundled_schema_bytes", "max_schema_depth", "max_enum_values", "default_max_tokens", "max_tokens_limit", "max_concurrency", "max_queue", "max_message_bytes", "max_prompt_tokens", "max_batch")
    MAX_TEXT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_SCHEMA_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_BUNDLED_SCHEMA_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_SCHEMA_DEPTH_FIELD_NUMBER: _ClassVar[int]
    MAX_ENUM_VALUES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUE_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    max_text_chars: int
    max_schema_bytes: int
    max_bundled_schema_bytes: int
    max_schema_depth: int
    max_enum_values: int
    default_max_tokens: int
    max_tokens_limit: int
    max_concurrency: int
    max_queue: int
    max_message_bytes: int
    max_prompt_tokens: int
    max_batch: int
    def __init__(self, max_text_chars: _Optional[int] = ..., max_schema_bytes: _Optional[int] = ..., max_bundled_schema_bytes: _Optional[int] = ..., max_schema_depth: _Optional[int] = ..., max_enum_values: _Optional[int] = ..., default_max_tokens: _Optional[int] = ..., max_tokens_limit: _Optional[int] = ..., max_concurrency: _Optional[int] = ..., max_queue: _Optional[int] = ..., max_message_bytes: _Optional[int] = ..., max_prompt_tokens: _Optional[int] = ..., max_batch: _Optional[int] = ...) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("version", "base_model", "adapters", "default_adapter", "grammar_backend", "grammar_backends", "engine", "limits", "dtype")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    ADAPTERS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_ADAPTER_FIELD_NUMBER: _ClassVar[int]
    GRAMMAR_BACKEND_FIELD_NUMBER: _ClassVar[int]
    GRAMMAR_BACKENDS_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    version: str
    base_model: str
    adapters: _containers.RepeatedScalarFieldContainer[str]
    default_adapter: str
    grammar_backend: GrammarBackend
    grammar_backends: _containers.RepeatedScalarFieldContainer[GrammarBackend]
    engine: str
    limits: Limits
    dtype: str
    def __init__(self, version: _Optional[str] = ..., base_model: _Optional[str] = ..., adapters: _Optional[_Iterable[str]] = ..., default_adapter: _Optional[str] = ..., grammar_backend: _Optional[_Union[GrammarBackend, str]] = ..., grammar_backends: _Optional[_Iterable[_Union[GrammarBackend, str]]] = ..., engine: _Optional[str] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., dtype: _Optional[str] = ...) -> None: ...

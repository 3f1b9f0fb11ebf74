"""One typed settings object for the whole service: env vars, CLI flags and defaults in one place.

Every field is read from the environment as ``SLOT_<FIELD_NAME_UPPER>`` and can be overridden by the
command-line flag ``--<field-name-with-dashes>``. The docstring under each field is also its ``--help``.
Nothing else in the project reads ``SLOT_*`` variables directly, so the manifests, the README and the
server cannot drift apart.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, get_type_hints

from slot.grounding.policy import GROUNDING_POLICIES

ENV_PREFIX = "SLOT_"
HEALTH_SERVICE_NAME = "slot.v1.Slot"
"""The gRPC service name reported by the standard health service (also used by the k8s probes)."""


class SettingsError(ValueError):
    """A setting has an invalid value (from the environment, a flag or code)."""


def _default_home() -> str:
    return str(Path(os.path.expanduser("~")) / ".cache" / "slot")


@dataclass(frozen=True)
class Settings:
    """Runtime settings of SLOT (model, decoding, limits, server)."""

    home: str = field(default_factory=_default_home)
    """Cache directory for converted models and compiled artefacts (default ~/.cache/slot)."""

    base_model: str = "smollm2-135m"
    """Base model: the alias of an embedded model (smollm2-135m) or a local Hugging Face model directory."""

    adapter: str = "default"
    """LoRA adapter applied by default: 'default' (the shipped SLOT adapter), 'none', or an adapter directory."""

    adapters: str = ""
    """Extra named adapters to load, as 'name=PATH,name2=PATH2'; requests pick one by name."""

    grammar_backend: str = "llguidance"
    """Grammar engine for constrained decoding: llguidance (default), xgrammar or outlines_core."""

    grounding_policy: str = "omit"
    """What a request that names no grounding policy gets (``slot.grounding.policy``): omit (ungrounded values of
    optional keys left out: an argument the text does not give is not invented; required ones kept and flagged),
    keep (every value returned, ungrounded ones flagged), null, fail or extract."""

    engine: str = "transformers"
    """Inference engine: transformers (CPU default) or vllm (optional extra)."""

    dtype: str = "auto"
    """Precision: auto (float16-weights on the transformers engine, float32 on vllm), float32, bfloat16, or float16-weights (float16 weights, float32 compute, adapters merged; transformers engine only)."""

    vllm_max_num_seqs: int = 16
    """vLLM engine: most requests decoded together in one batch (max_num_seqs); raise max_concurrency to fill it."""

    vllm_kv_cache_mb: int = 1024
    """vLLM engine: memory for the key/value cache in MiB (CPU RAM, or GPU memory on a GPU)."""

    vllm_max_model_len: int = 0
    """vLLM engine: longest prompt + output in tokens; 0 means the model's own context."""

    vllm_enforce_eager: bool = True
    """vLLM engine: no torch.compile (starts in ~20 s instead of ~80 s; on CPU LoRA turns compilation off anyway)."""

    vllm_custom_ops: str = "-rotary_embedding"
    """vLLM engine: custom-op switches, comma-separated ('all', 'none', '+op', '-op'); 'default' keeps vLLM's. The
    default skips the CPU rotary-embedding kernel (reported to give garbage in bfloat16 without compilation)."""

    threads: int = 0
    """Torch intra-op threads; 0 means one per available CPU (the cgroup quota in a container)."""

    max_tokens: int = 512
    """Default cap on generated tokens when a request gives none."""

    max_tokens_limit: int = 4096
    """Largest max_tokens a request may ask for."""

    speculation: bool = True
    """Verify grammar fast-forward and copy-from-input drafts in one forward pass (exact under greedy)."""

    draft_tokens: int = 24
    """Longest draft verified in one forward pass (a lone request; batch-mates share about 24 tokens a pass)."""

    output_memory: int = 256
    """Schemas whose recent outputs are remembered as a source of drafts (values after keys, where values end);
    outputs are unchanged, only passes are saved. 0 turns it off."""

    parse_first: bool = True
    """Before the model runs, look for a JSON value in the text (fenced or inline), repair it, and answer with it
    when it validates against the schema and every value is grounded in the text (result path 'parse');
    requests may turn it off."""

    repair_copies: bool = True
    """After decoding, an ungrounded free-text value that is a misspelt copy of a span of the text (at least 4
    letters, no digits, character similarity >= 0.8, e.g. "dinner" for the text's "diner") becomes that span;
    one that began as a copy of a word of the text and drifted ("artistic" for "arts district") is decoded once
    more with only those leaves constrained to the text's word spans (``slot.grounding.repair``). Both are listed
    in the grounding's ``repaired_paths``."""

    extend_lists: int = 6
    """Greedy decoding on the transformers engine: at most this many times per answer, a finished answer is resumed
    with one more item opened in an outermost array of objects (after its last item), and the resumed answer is
    kept only when the new item is a new item of the text (its first string value is in the text and written with
    confidence >= 0.5, and it brings a value of the text the answer does not have yet): a small model closes lists
    early on long documents (``slot.list_extension``). Costs a short decoding per array of objects; 0 turns it
    off."""

    fill_keys: int = 8
    """Greedy decoding on the transformers engine: at most this many optional keys (strings and numbers of plain
    objects) that a finished answer left out are each opened for the model once, all in one batch, and a value it
    writes is written into the answer, nothing else changed, only when the text states it as written, the answer
    has it nowhere else, and the model wrote it with confidence >= 0.5: a small model leaves out optional keys the
    text states (``slot.key_filling``). Costs one short batched decoding per answer with keys left out; 0 turns it
    off."""

    close_objects: bool = True
    """Grammar only: objects that list properties but leave additionalProperties unset get no other keys (a
    small model invents keys there); the output still validates against the schema as given."""

    relaxed_retries: int = 2
    """Where the grammar only approximates the schema (``oneOf`` as ``anyOf``; ``not``, ``if``/``then``/``else``,
    ``dependent*`` left out; ``uniqueItems`` and other post-checked keywords), an output that breaks such a keyword
    is decoded again this many times at most, sampling at temperature 0.7 with distinct seeds; the first valid
    output answers (result ``attempts``), else the first one with its errors. 0 answers the first decoding."""

    max_batch: int = 8
    """Concurrent requests decoded together in one forward pass (transformers engine, continuous batching);
    1 decodes one request at a time."""

    batch_wait_ms: float = 5.0
    """How long a lone request waits for others to share its first forward pass."""

    prefill_chunk_tokens: int = 64
    """Transformers engine: a prompt part the prefix cache does not hold (the schema, the text) longer than this
    many tokens is prefilled in pieces of at most this many, with a decoding pass of the running requests
    between two pieces, so a long document does not stall the short requests decoded beside it
    (``slot.engine.cpu.decoding.prefill``); 0 prefills every prompt in one pass."""

    max_repeated_items: int = 3
    """Close a JSON array once its latest item occurs this many times in it (stops a small model's loops
    before max_tokens truncates the JSON); 0 disables the guard."""

    max_string_repeats: int = 4
    """Close a string once its last words (one word, or a phrase of up to 16 tokens) repeat this many times in a
    row and the model would begin one more copy (a unit without a letter, ``0`` or ``-``: max_number_digits times):
    the closing quote is taken instead when the grammar allows it (greedy decoding,
    ``slot.engine.cpu.guards.runaway``); 0 disables the guard."""

    max_number_digits: int = 20
    """Most digits a number's integer part, fraction or exponent may have where the schema's bounds (minimum,
    maximum, multipleOf, enforced by the grammar) leave it open: stops a runaway ``1000000...`` (greedy
    decoding, ``slot.engine.cpu.guards.runaway``); also the copies of one digit or symbol a string may end with
    before it is closed; 0 disables the cap (and that string rule)."""

    finish_window: int = 64
    """Finish mode: within this many tokens of max_tokens, a choice that would leave no room for a valid
    completion is replaced by one that closes the open values and writes the missing required keys, so the
    output still parses (finish_reason 'length', cut and filled paths listed; ``slot.engine.cpu.guards.finish``);
    0 turns it off."""

    tie_margin: float = 0.1
    """float16 weights only: where the two best allowed tokens are closer than this (in logits), a float32 pass
    decides (greedy), so outputs match float32 decoding there; 0 trusts float16 everywhere."""

    prefix_cache_mb: int = 256
    """Memory budget for cached key/value states of prompt prefixes (instructions + schema)."""

    grammar_cache_size: int = 256
    """Number of compiled grammars kept (LRU, keyed by schema hash, backend and tokenizer)."""

    compile_timeout_s: float = 10.0
    """Longest time a grammar compilation may take before the schema is refused."""

    max_text_chars: int = 32_000
    """Longest input text accepted, in characters."""

    max_prompt_tokens: int = 6_144
    """Longest prompt accepted, in tokens (instructions + schema + text); prompt + max_tokens must also fit the
    model's context (8,192 tokens for smollm2-135m)."""

    max_schema_bytes: int = 131_072
    """Largest schema accepted, in bytes of JSON (what compile time and memory allow:
    benchmarks/results/big_schemas_2026-12-07.md); a schema too big for the prompt is written compact there, or
    as its skeleton cut to a depth (``slot.prompt.schema_rendering``), the grammar always gets it in full."""

    max_bundled_schema_bytes: int = 524_288
    """Largest schema accepted once the documents it references from the local schema registry
    (``schema_registry_dir``) are embedded, in bytes of JSON: the caller's own schema stays under
    ``max_schema_bytes``, the registry is the operator's. Kubernetes' workload types (Pod, Deployment) embed to
    204-243 KB; their compile takes 60-160 ms (benchmarks/results/schema_coverage_k8s_*.md)."""

    max_schema_depth: int = 24
    """Deepest nesting of a schema accepted."""

    max_enum_values: int = 4_096
    """Most members one enum may have (SchemaStore's largest real enums have 1,772-2,461 members and compile in
    ~20 ms; the byte limit bounds them too)."""

    max_schema_nodes: int = 5_000
    """Most subschemas one schema may have."""

    schema_registry_dir: str = ""
    """Local schema registry: a directory of JSON Schema files (read once, at start; ``slot schema`` and ``slot structure`` too) that
    references to other documents are served from, each file named by its path there and by its $id; the
    parts a schema reaches are embedded into it, under the limits above. Empty: off, and such references are
    refused. SLOT never fetches a schema from the network (docs/schema-support.md)."""

    host: str = "127.0.0.1"
    """Address the gRPC and HTTP servers bind (use 0.0.0.0 in a container)."""

    port: int = 50051
    """gRPC port (0 picks a free port)."""

    http_port: int = 8080
    """OpenAI-compatible HTTP port (POST /v1/chat/completions, GET /v1/models, /healthz, /readyz), with the same
    queue, limits, token and TLS as gRPC; 0 turns it off."""

    metrics_port: int = 9090
    """Prometheus metrics HTTP port (0 disables it)."""

    max_concurrency: int = 8
    """Generations that run at once (the transformers engine batches up to max_batch of them per forward pass)."""

    max_queue: int = 16
    """Requests that may wait for a generation slot; past this RESOURCE_EXHAUSTED is returned."""

    max_message_bytes: int = 4 * 1024 * 1024
    """Largest gRPC message accepted or sent, and largest HTTP request body accepted (413 past it)."""

    grace_period_s: float = 20.0
    """On SIGTERM, how long in-flight calls may take to finish."""

    log_level: str = "INFO"
    """Log level: DEBUG, INFO, WARNING, ERROR."""

    log_payloads: bool = False
    """Log the user's text and generated JSON (debugging only; off by default)."""

    auth_token_file: str = ""
    """File holding a bearer token that clients must send; empty disables the check."""

    tls_cert_file: str = ""
    """Server certificate (PEM); with tls_key_file enables TLS."""

    tls_key_file: str = ""
    """Server private key (PEM)."""

    tls_client_ca_file: str = ""
    """CA bundle (PEM) for client certificates; set to require mutual TLS."""

    @property
    def home_path(self) -> Path:
        """The cache directory as a Path (an empty ``home``, as ``SLOT_HOME=`` gives, is the default one, not the
        working directory)."""
        return Path(self.home or _default_home()).expanduser()

    @property
    def resolved_dtype(self) -> str:
        """The precision the engine runs: ``auto`` resolved for the chosen engine."""
        if self.dtype != "auto":
            return self.dtype
        return "float32" if self.engine == "vllm" else "float16-weights"

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes).validated()

    def validated(self) -> "Settings":
        """Check value ranges; raise ValueError naming the field."""
        positive = ["max_tokens", "max_tokens_limit", "draft_tokens", "grammar_cache_size", "max_text_chars",
                    "max_prompt_tokens", "max_schema_bytes", "max_bundled_schema_bytes", "max_schema_depth",
                    "max_enum_values", "max_schema_nodes", "max_concurrency", "max_message_bytes", "max_batch"]
        for name in positive:
            if getattr(self, name) <= 0:
                raise SettingsError(f"setting {name} must be positive, got {getattr(self, name)}")
        for name in ["threads", "prefix_cache_mb", "output_memory", "max_queue", "metrics_port", "max_repeated_items", "batch_wait_ms",
                     "max_string_repeats", "max_number_digits", "finish_window",
                     "tie_margin", "relaxed_retries", "prefill_chunk_tokens", "extend_lists", "fill_keys"]:
            if getattr(self, name) < 0:
                raise SettingsError(f"setting {name} must be >= 0, got {getattr(self, name)}")
        if self.max_tokens > self.max_tokens_limit:
            raise SettingsError("setting max_tokens must not exceed max_tokens_limit")
        choices = {"grammar_backend": ("llguidance", "xgrammar", "outlines_core"), "grounding_policy": GROUNDING_POLICIES,
                   "engine": ("transformers", "vllm"), "dtype": ("auto", "float32", "bfloat16", "float16-weights"),
                   "log_level": ("DEBUG", "INFO", "WARNING", "ERROR")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise SettingsError(f"setting {name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.engine == "vllm" and self.dtype == "float16-weights":
            raise SettingsError("setting dtype float16-weights is for the transformers engine; vllm takes float32 or bfloat16")
        for name, lowest in (("vllm_max_num_seqs", 1), ("vllm_kv_cache_mb", 1), ("vllm_max_model_len", 0)):
            if getattr(self, name) < lowest:
                raise SettingsError(f"setting {name} must be >= {lowest}, got {getattr(self, name)}")
        if not 0 <= self.port < 65536:
            raise SettingsError(f"setting port must be in 0..65535 (0 picks a free port), got {self.port}")
        if self.schema_registry_dir and not Path(self.schema_registry_dir).expanduser().is_dir():
            raise SettingsError(f"setting schema_registry_dir must name a directory, got {self.schema_registry_dir!r}")
        if not 0 <= self.http_port < 65536:
            raise SettingsError(f"setting http_port must be in 0..65535 (0 turns HTTP off), got {self.http_port}")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Defaults, then ``SLOT_*`` environment variables, then explicit overrides."""
        env = os.environ if env is None else env
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(env_name(f.name))
            if raw is not None:
                values[f.name] = _parse(hints[f.name], raw, f.name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values).validated()

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, names: list[str] | None = None) -> None:
        """Add ``--flag`` options for the given fields (all when None); defaults stay None (= env/default)."""
        hints = get_type_hints(cls)
        docs = field_docs()
        for f in fields(cls):
            if names is not None and f.name not in names:
                continue
            flag = "--" + f.name.replace("_", "-")
            help_text = f"{docs.get(f.name, '')} [env {env_name(f.name)}]"
            if hints[f.name] is bool:
                parser.add_argument(flag, dest=f.name, default=None, action=argparse.BooleanOptionalAction,
                                    help=help_text)
            else:
                parser.add_argument(flag, dest=f.name, default=None, type=hints[f.name], help=help_text)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Settings":
        """Settings from the environment, overridden by whichever flags were given."""
        names = {f.name for f in fields(cls)}
        return cls.from_env(**{k: v for k, v in vars(args).items() if k in names})


def env_name(field_name: str) -> str:
    """The environment variable that sets a field."""
    return ENV_PREFIX + field_name.upper()


def field_docs() -> dict[str, str]:
    """Field name -> the docstring written under it (the single source of help texts)."""
    tree = ast.parse(inspect.getsource(Settings))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                docs[node.target.id] = nxt.value.value.strip()
    return docs


def _parse(kind: Any, raw: str, name: str) -> Any:
    try:
        if kind is bool:
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("0", "false", "no", "off", ""):
                return False
            raise SettingsError(raw)
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{env_name(name)}={raw!r} is not a valid {kind.__name__}") from None

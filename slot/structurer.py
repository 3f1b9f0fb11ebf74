"""Structurer: the one end-to-end path from (text, schema, options) to a validated result.

The CLI, the gRPC server and the evaluation all call :meth:`Structurer.structure`, so schema checks,
the prompt, grammar caching, decoding, post-validation and grounding happen the same way everywhere.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from slot.closed_objects import closed_paths
from slot.config import Settings
from slot.confidence import attach_confidence, leaf_confidences, span_confidence, token_spans
from slot.enforcement import Enforcement, enforcement
from slot.engine.base import Engine, GenerationRequest, Usage
from slot.errors import InvalidRequestError, ModelError
from slot.grammar.cache import GrammarCache
from slot.grounding.policy import GROUNDING_POLICIES
from slot.leaves import iter_leaves, set_at
from slot.key_filling import Fill, ValueWatch, answer_values, gaps, may_have_optional_keys, splice
from slot.list_extension import (MIN_CONFIDENCE, OPEN_ITEMS, ItemWatch, answer_strings, array_at, first_value_pointer,
                                 is_new_item, may_have_object_arrays, openings)
from slot.resumption import normal, spliced_tokens, written_tokens
from slot.models import DEFAULT_ADAPTER_DIR, resolve_base_model
from slot.prompt import SchemaRendering, encode, render, schema_rendering
from slot.extractive import span_schema, word_spans
from slot.schema import Limits, Schema, load_schema
from slot.validate import validate_output

BASE = "base"
"""Adapter name that selects the base model alone."""

DEFAULT = "default"
"""Adapter name of the shipped SLOT adapter (or whatever ``--adapter`` loads as the default)."""

RETRY_TEMPERATURE = 0.7
"""Sampling temperature of the decodings retried after an output broke a post-checked keyword (``relaxed_retries``),
when the request itself decodes greedily."""


@dataclass
class Timings:
    """Where the time of one request went, in milliseconds."""

    queue_ms: float = 0.0
    compile_ms: float = 0.0
    prefill_ms: float = 0.0
    generate_ms: float = 0.0
    grounding_ms: float = 0.0
    total_ms: float = 0.0


@dataclass
class StructureResult:
    """The answer to one structuring request."""

    output: str
    """The raw generated text."""
    json: Any
    """The parsed value (after the grounding policy), or None when the output does not parse."""
    valid: bool
    """True only if the output parses and validates against the schema."""
    errors: list[str]
    finish_reason: str
    usage: Usage
    timings: Timings
    schema_hash: str = ""
    adapter: str = BASE
    grammar_backend: str = ""
    grammar_cache_hit: bool = False
    grounding: dict[str, Any] | None = None
    path: str = "model"
    """How the answer was made: 'model' (decoded) or 'parse' (a JSON value found in the text, slot.parse_first)."""
    cut_paths: list[str] = field(default_factory=list)
    """JSON Pointers of the values max_tokens cut short: a string, number or array that finish mode closed
    (``slot.engine.cpu.guards.finish``)."""
    filled_paths: list[str] = field(default_factory=list)
    """JSON Pointers of the values finish mode wrote itself (required keys the model had not reached, with the
    shortest value their schema allows); never reported as grounded."""
    enforcement: Enforcement = field(default_factory=Enforcement)
    """What enforced each keyword of the schema: the grammar, post-validation only, or nothing (``slot.enforcement``)."""
    attempts: int = 1
    """Decodings made for the answer: more than 1 when outputs breaking post-checked keywords were decoded again
    (setting ``relaxed_retries``) or the finished answer was resumed (list extension, key filling: settings
    ``extend_lists``, ``fill_keys``); usage sums them all; 0 on the parse path."""
    extra: dict[str, Any] = field(default_factory=dict)
    """What the wire form leaves out, for benchmarks: ``token_probs`` and ``token_spans`` of the decoded output
    (``slot.confidence``)."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        return data


class Structurer:
    """Owns the engine and the grammar cache; thread-safe for concurrent callers."""

    def __init__(self, settings: Settings, engine: Engine, grammar_cache: GrammarCache,
                 *, default_adapter: str | None) -> None:
        self.settings = settings
        self.engine = engine
        self.grammars = grammar_cache
        self.default_adapter = default_adapter
        self.limits = schema_limits(settings)
        self.context_tokens = context_length(engine)
        """The model's context in tokens, when the engine tells (None: only max_prompt_tokens applies)."""
        self._renderings: OrderedDict[str, SchemaRendering] = OrderedDict()
        """Each recent schema's prompt rendering (``rendering``), by schema hash."""

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, progress: bool = True) -> "Structurer":
        """Read the local schema registry, resolve the base model and adapters, load the engine, and build the
        grammar cache. The registry is read first: a bad ``schema_registry_dir`` fails here, before the model
        loads, and the first request does not pay for reading it."""
        from slot.schema_registry import registry_for

        settings = settings or Settings.from_env()
        registry_for(settings)
        model_dir = resolve_base_model(settings.base_model, settings.home_path, progress=progress)
        adapters = adapter_paths(settings)
        if settings.engine == "vllm":
            from slot.engine.vllm import VllmEngine

            return cls.around(settings, VllmEngine.from_settings(model_dir, adapters, settings), adapters)
        from slot.engine.cpu.engine import TransformersEngine

        engine = TransformersEngine(model_dir, adapters=adapters, dtype=settings.resolved_dtype, threads=settings.threads,
                                    speculation=settings.speculation, draft_tokens=settings.draft_tokens,
                                    prefix_cache_bytes=settings.prefix_cache_mb << 20,
                                    output_memory=settings.output_memory,
                                    max_repeated_items=settings.max_repeated_items,
                                    max_batch=settings.max_batch, batch_wait_ms=settings.batch_wait_ms,
                                    tie_margin=settings.tie_margin, max_string_repeats=settings.max_string_repeats,
                                    max_number_digits=settings.max_number_digits,
                                    finish_window=settings.finish_window,
                                    prefill_chunk_tokens=settings.prefill_chunk_tokens)
        return cls.around(settings, engine, adapters)

    @classmethod
    def around(cls, settings: Settings, engine: Engine, adapters: dict[str, Path]) -> "Structurer":
        """A Structurer around a loaded engine: its grammar cache, and the default adapter when loaded."""
        cache = GrammarCache(engine.tokenizer, engine.vocab_size, capacity=settings.grammar_cache_size,
                             compile_timeout_s=settings.compile_timeout_s, close_objects=settings.close_objects)
        return cls(settings, engine, cache, default_adapter=DEFAULT if DEFAULT in adapters else None)

    def close(self) -> None:
        """Stop the engine (its decoding thread or vLLM process); the Structurer is unusable afterwards."""
        self.engine.close()

    def __enter__(self) -> "Structurer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load_schema(self, raw: str | bytes | dict[str, Any]) -> Schema:
        """Check a schema under this server's limits, with its local schema registry (``schema_registry_dir``),
        through the process's cache of checked schemas (the same text is checked once)."""
        from slot.schema import cached_load_schema
        from slot.schema_registry import registry_for

        return cached_load_schema(raw, self.limits, registry_for(self.settings))

    def compile(self, schema: Schema, backend: str | None = None, *, strict: bool = False) -> tuple[Any, bool]:
        """Compile (or fetch from cache) the grammar of a schema; ``strict`` refuses one the grammar would relax."""
        return self.grammars.get(schema, backend or self.settings.grammar_backend, strict=strict)

    def resolve_policy(self, name: str | None) -> str:
        """Request grounding policy option -> the policy applied (None or '': the setting ``grounding_policy``)."""
        policy = name or self.settings.grounding_policy
        if policy not in GROUNDING_POLICIES:
            raise InvalidRequestError(f"grounding policy must be one of {', '.join(GROUNDING_POLICIES)}, got "
                                      f"{str(policy)[:64]!r}", field="options.grounding_policy")
        return policy

    def resolve_adapter(self, name: str | None) -> str | None:
        """Request adapter option -> engine adapter name (None = base model)."""
        if name is None or name == "":
            return self.default_adapter
        if name in (BASE, "none"):
            return None
        if name not in self.engine.adapters():
            from slot.errors import UnknownAdapterError

            loaded = [BASE] + self.engine.adapters()
            raise UnknownAdapterError(f"unknown adapter {name!r}; available: {', '.join(loaded)}",
                                      field="options.adapter")
        return name

    def check_text(self, text: str) -> None:
        """Refuse empty, over-long or non-encodable text."""
        check_text(text, self.settings.max_text_chars)

    def grammar_document(self, schema: Schema) -> Any:
        """The schema the constraint is built from (the grammar cache's: open objects closed when close_objects
        is on), for engines that build the constraint themselves."""
        return self.grammars.document(schema)

    def check_options(self, max_tokens: int | None, temperature: float) -> int:
        """Validate numeric options; return the effective max_tokens."""
        if max_tokens is None or max_tokens == 0:
            max_tokens = self.settings.max_tokens
        if max_tokens < 0 or max_tokens > self.settings.max_tokens_limit:
            raise InvalidRequestError(f"max_tokens must be in 1..{self.settings.max_tokens_limit}, got {max_tokens}",
                                      field="options.max_tokens")
        if not math.isfinite(temperature) or temperature < 0 or temperature > 5:
            raise InvalidRequestError(f"temperature must be in 0..5, got {temperature}", field="options.temperature")
        return max_tokens

    def rendering(self, schema: Schema) -> SchemaRendering:
        """The schema text this server's prompts carry for ``schema`` (``slot.prompt.schema_rendering``: full, or
        compact when the full one takes over half of max_prompt_tokens, or its skeleton when even the compact one
        does); InvalidRequestError when even the smallest leaves no room for a text. Structure and ValidateSchema
        both take it from here."""
        found = self._renderings.get(schema.hash)
        if found is None:
            found = schema_rendering(self.engine.tokenizer, schema, self.settings.max_prompt_tokens)
            self._renderings[schema.hash] = found
            while len(self._renderings) > max(1, self.settings.grammar_cache_size):
                self._renderings.popitem(last=False)
        return found

    def check_prompt(self, prompt_tokens: int, max_tokens: int) -> None:
        """Refuse a prompt over max_prompt_tokens, or one that leaves no room for max_tokens in the model's context.

        Characters do not bound tokens (32,000 rare characters are ~124k tokens), and the prefill is one
        forward pass that deadlines cannot interrupt, so this runs on the token count before any model work.
        """
        limit = self.settings.max_prompt_tokens
        if prompt_tokens > limit:
            raise InvalidRequestError(f"the prompt is {prompt_tokens} tokens (instructions, schema and text), over "
                                      f"the limit of {limit}; shorten the text or the schema", field="text")
        if self.context_tokens and prompt_tokens + max_tokens > self.context_tokens:
            raise InvalidRequestError(f"the prompt ({prompt_tokens} tokens) plus max_tokens ({max_tokens}) is over "
                                      f"the model's context of {self.context_tokens} tokens; lower max_tokens or "
                                      "shorten the text", field="options.max_tokens")

    def structure(self, text: str, schema: str | bytes | dict[str, Any] | Schema, *, constrained: bool = True,
                  adapter: str | None = None, max_tokens: int | None = None, grammar_backend: str | None = None,
                  temperature: float = 0.0, seed: int | None = None, speculation: bool | None = None,
                  grounding_policy: str | None = None, queue_ms: float = 0.0,
                  on_delta: Callable[[str], None] | None = None,
                  is_cancelled: Callable[[], bool] | None = None, parse_first: bool | None = None,
                  strict: bool = False, extend_lists: int | None = None,
                  fill_keys: int | None = None) -> StructureResult:
        """Structure one text; raises a SlotError subclass for any bad input.

        A schema the grammar can only approximate is served relaxed: an output that breaks a post-checked keyword
        is decoded again, sampling, up to ``relaxed_retries`` times (``attempts`` counts the decodings);
        ``strict`` refuses such a schema up front (UnsupportedSchemaError naming the keywords).

        ``parse_first`` (None: the setting) answers from a JSON value already in the text when it fits the
        schema and is grounded (``slot.parse_first``); the model runs otherwise, and always when unconstrained.

        ``extend_lists`` and ``fill_keys`` (None: the settings) bound the resumptions of list extension
        (``slot.list_extension``) and key filling (``slot.key_filling``); ``grounding_policy`` None is the setting.
        """
        started = time.perf_counter()
        self.check_text(text)
        max_tokens = self.check_options(max_tokens, temperature)
        grounding_policy = self.resolve_policy(grounding_policy)
        checked = schema if isinstance(schema, Schema) else self.load_schema(schema)
        engine_adapter = self.resolve_adapter(adapter)
        if strict and constrained:  # refused before any answer, parse-first's included
            self.compile(checked, grammar_backend, strict=True)
        if constrained and (self.settings.parse_first if parse_first is None else parse_first):
            answer = self._parsed(text, checked, started, queue_ms, on_delta)
            if answer is not None:
                return answer
        prompt = encode(self.engine.tokenizer, render(self.engine.tokenizer, self.rendering(checked).text, text))
        self.check_prompt(len(prompt.prefix) + len(prompt.suffix), max_tokens)
        timings = Timings(queue_ms=queue_ms)
        backend = grammar_backend or self.settings.grammar_backend
        request = GenerationRequest(
            prompt=prompt, grammar=None, max_tokens=max_tokens, adapter=engine_adapter, source_text=text,
            temperature=temperature, seed=seed, speculation=speculation, on_delta=on_delta,
            is_cancelled=is_cancelled)
        resumes = self._resumes(request, checked if constrained else None)
        extensions = self.settings.extend_lists if extend_lists is None else max(0, extend_lists)
        fills = self.settings.fill_keys if fill_keys is None else max(0, fill_keys)
        extends = resumes and extensions > 0 and may_have_object_arrays(checked.document)
        fills_keys = resumes and fills > 0 and may_have_optional_keys(checked.document)
        generation, grammar, hit = self._generate(replace(request, keep_states=extends or fills_keys),
                                                  checked if constrained else None, backend, timings, strict=strict)
        checked_output = validate_output(generation.text, checked)
        generation, checked_output, attempts = self._retried(request, generation, checked_output, grammar, checked,
                                                             timings)
        for wanted, resume, limit in ((extends, self._extended, extensions), (fills_keys, self._filled, fills)):
            if wanted and grammar is not None and checked_output.valid and generation.finish_reason == "stop":
                generation, checked_output, resumed = resume(request, generation, checked_output, grammar, checked,
                                                             timings, limit)
                attempts += resumed
        value = checked_output.value
        grounding, report = None, None
        extracted: list[str] = []
        extra: dict[str, Any] = {}
        grounding_started = time.perf_counter()
        if checked_output.parsed:
            report = _ground(value, text, checked.document)
            if grounding_policy == "extract" and constrained and report.ungrounded_paths:
                second, extracted = self._span_pass(request, checked, report.ungrounded_paths, backend, timings)
                if second is not None:  # the same prompt, the flagged leaves constrained to the text's spans
                    second.usage = generation.usage.plus(second.usage)
                    generation, attempts = second, attempts + 1
                    checked_output = validate_output(generation.text, checked)
                    value = checked_output.value
                    report = _ground(value, text, checked.document) if checked_output.parsed else None
        cut_paths, filled_paths = _budget_paths(generation)  # of the generation answered with
        if report is not None:
            repaired: list[str] = []
            if self.settings.repair_copies:
                value, repaired, report = _repair(value, report, checked, text)
                if constrained and grounding_policy != "extract":
                    value, respanned, report, usage = self._respan(request, value, report, checked, backend, timings)
                    repaired += respanned
                    if usage is not None:  # a second pass ran: its tokens are the request's too
                        attempts, generation.usage = attempts + 1, generation.usage.plus(usage)
            report = report.without(filled_paths)  # a filled value claims nothing
            applied = _apply(value, report, checked.document, "keep" if grounding_policy == "extract"
                             else grounding_policy)
            if grounding_policy == "omit" and applied is not value and not _fits(applied, checked):
                applied = value  # a key left out would break the schema (minProperties, dependencies)
            value = applied
            grounding = report.to_dict() | {"extracted_paths": extracted, "repaired_paths": repaired}
            extra = _confidence(self.engine.tokenizer, generation, grounding)
        if checked_output.parsed:
            timings.grounding_ms = (time.perf_counter() - grounding_started) * 1000
        errors = list(checked_output.errors)
        if generation.error:
            errors.insert(0, generation.error)
        timings.total_ms = (time.perf_counter() - started) * 1000 + queue_ms
        return StructureResult(
            output=generation.text, json=value, cut_paths=cut_paths, filled_paths=filled_paths,
            valid=checked_output.valid and generation.finish_reason in ("stop", "length"),
            errors=errors, finish_reason=generation.finish_reason, usage=generation.usage, timings=timings,
            schema_hash=checked.hash, adapter=engine_adapter or BASE, grammar_backend=backend if constrained else "",
            grammar_cache_hit=hit, grounding=grounding, extra=extra, attempts=attempts,
            enforcement=grammar.enforcement if grammar is not None and grammar.enforcement is not None
            else self.enforcement(checked, None))

    def _span_pass(self, request: GenerationRequest, checked: Schema, pointers: list[str], backend: str,
                   timings: Timings) -> tuple[Any, list[str]]:
        """The request decoded once more (same prompt) with the free-text leaves at ``pointers`` constrained to the
        text's word spans (``slot.extractive``): the generation, or None when no leaf could be constrained, and the
        pointers constrained. The ``extract`` policy and the drifted-copy repair share it."""
        spans_document, constrained = span_schema(checked.document, pointers, word_spans(request.source_text or ""))
        if not constrained:
            return None, []
        generation, _, _ = self._generate(replace(request, on_delta=None), self.load_internal_schema(spans_document),
                                          backend, timings)
        return generation, constrained

    def _respan(self, request: GenerationRequest, value: Any, report: Any, checked: Schema, backend: str,
                timings: Timings) -> tuple[Any, list[str], Any, Any]:
        """Drifted copies (``slot.grounding.repair.drifted_copies``: "artistic" for the text's "arts district")
        decoded once more with only those leaves constrained to the text's word spans; their new values replace
        the old ones. Returns the value, the paths changed, its grounding and the second pass's usage (None
        when nothing was decoded); nothing changes when the new values would break the schema."""
        from slot.grounding.repair import drifted_copies

        text = request.source_text or ""
        drifted = drifted_copies(value, report, checked.document, text)
        if not drifted:
            return value, [], report, None
        generation, constrained = self._span_pass(request, checked, drifted, backend, timings)
        if generation is None:
            return value, [], report, None
        second = validate_output(generation.text, checked)
        if not second.parsed:
            return value, [], report, generation.usage
        new_values, old_values = dict(iter_leaves(second.value)), dict(iter_leaves(value))
        out, changed = copy.deepcopy(value), []
        for pointer in constrained:
            if pointer in new_values and new_values[pointer] != old_values.get(pointer):
                set_at(out, pointer, new_values[pointer])
                changed.append(pointer)
        if not changed or not _fits(out, checked):
            return value, [], report, generation.usage
        return out, changed, _ground(out, text, checked.document), generation.usage

    def _parsed(self, text: str, schema: Schema, started: float, queue_ms: float,
                 on_delta: Callable[[str], None] | None) -> StructureResult | None:
        """The parse-first answer (no tokens, path 'parse'), or None when the model has to run."""
        from slot.parse_first import parse_first

        found = parse_first(text, schema, self.grammar_document(schema))
        if found is None:
            return None
        if on_delta is not None:
            on_delta(found.output)
        total_ms = (time.perf_counter() - started) * 1000
        return StructureResult(output=found.output, json=found.value, valid=True, errors=[], finish_reason="stop",
                               usage=Usage(), timings=Timings(queue_ms=queue_ms, total_ms=total_ms + queue_ms),
                               schema_hash=schema.hash, adapter="", path="parse", attempts=0,
                               enforcement=self.enforcement(schema, None, closed=True),
                               grounding=_certain(found.grounding.to_dict()))

    def enforcement(self, schema: Schema, backend: str | None, *, closed: bool = False,
                    strict: bool = False) -> Enforcement:
        """What enforces each keyword of ``schema`` with ``backend``'s grammar (compiled or taken from the cache;
        ``strict`` refuses a relaxed one); with None no grammar runs and post-validation checks every keyword
        (``closed``: against the grammar's document too, as parse-first does)."""
        if backend is not None:
            compiled, _ = self.compile(schema, backend, strict=strict)
            if compiled.enforcement is not None:
                return compiled.enforcement
        shut = closed_paths(schema.document) if closed and self.grammars.close_objects else []
        return enforcement(schema, enforces=None, closed_paths=shut)

    def load_internal_schema(self, document: Any) -> Schema:
        """A schema SLOT derived itself (extractive spans): checked, but not under the callers' limits."""
        return load_schema(document, Limits(max_bytes=1 << 22, max_depth=self.limits.max_depth,
                                            max_enum_values=1 << 16, max_nodes=1 << 16))

    def _generate(self, request: GenerationRequest, schema: Schema | None, backend: str,
                  timings: Timings, *, strict: bool = False) -> tuple[Any, Any, bool]:
        """One decoding pass, constrained by ``schema``'s grammar when given: the generation, the compiled grammar
        (None unconstrained) and whether it came from the cache; adds its times to ``timings``."""
        grammar, hit = None, False
        if schema is not None:
            grammar, hit = self.compile(schema, backend, strict=strict)
            timings.compile_ms += 0.0 if hit else grammar.compile_ms
        return self._decode(request, grammar, schema, timings), grammar, hit

    def _decode(self, request: GenerationRequest, grammar: Any, schema: Schema | None, timings: Timings) -> Any:
        """One decoding with a compiled grammar (None: unconstrained); adds its times to ``timings``."""
        generation = self.engine.generate(replace(
            request, grammar=grammar, json_schema=self.grammar_document(schema) if schema is not None else None))
        timings.prefill_ms += generation.prefill_ms
        timings.generate_ms += generation.prefill_ms + generation.decode_ms
        return generation

    def _resumes(self, request: GenerationRequest, schema: Schema | None) -> bool:
        """Whether this request's answer may be resumed (list extension, key filling): greedy, not streamed,
        constrained, on an engine that resumes answers."""
        return (schema is not None and request.temperature <= 0
                and request.on_delta is None and getattr(self.engine, "can_resume", False))

    def _extended(self, request: GenerationRequest, generation: Any, checked_output: Any, grammar: Any,
                  schema: Schema, timings: Timings, limit: int) -> tuple[Any, Any, int]:
        """List extension (``slot.list_extension``): each outermost array of objects of the answer, in output order,
        resumed with one more item opened, at most ``limit`` times; a resumed answer replaces the answer when its
        new item is new, the model wrote its first value with confidence ``MIN_CONFIDENCE`` or more, and it
        validates. Returns the answer's generation (usage summed over every decoding), its
        post-validation and the resumptions decoded."""
        tokenizer, text = self.engine.tokenizer, request.source_text or ""
        tried: set[tuple[str, int]] = set()
        usage, resumed = generation.usage, 0
        while resumed < limit:
            if request.is_cancelled is not None and request.is_cancelled():
                break
            opening = next((found for found in openings(generation.text)
                            if (found.pointer, found.items) not in tried), None)
            if opening is None:
                break
            tried.add((opening.pointer, opening.items))
            known = answer_strings(checked_output.value)
            attempt, watch = self._resume(request, generation, grammar, schema, timings, opening.cut, OPEN_ITEMS,
                                          lambda written: ItemWatch(written, opening, known, text))
            if attempt is None:  # the schema takes no more items here (maxItems, prefixItems)
                continue
            resumed += 1
            usage = usage.plus(attempt.usage)
            if watch.verdict is not True or attempt.finish_reason != "stop" or attempt.error:
                continue
            attempt_checked = validate_output(attempt.text, schema)
            items = array_at(attempt_checked.value, opening.pointer) if attempt_checked.valid else None
            if items is None or len(items) <= opening.items or not is_new_item(items[opening.items], known, text):
                continue
            first = first_value_pointer(items[opening.items], opening.item_pointer)
            confidences = leaf_confidences(attempt.text, token_spans(tokenizer, attempt.token_ids, attempt.text),
                                           attempt.token_probs)
            if (confidences.get(first) or 0.0) < MIN_CONFIDENCE:  # a name of the text the model was unsure of
                continue
            generation, checked_output = attempt, attempt_checked
        generation.usage = usage
        return generation, checked_output, resumed

    def _filled(self, request: GenerationRequest, generation: Any, checked_output: Any, grammar: Any,
                schema: Schema, timings: Timings, limit: int) -> tuple[Any, Any, int]:
        """Key filling (``slot.key_filling``): the first ``limit`` optional leaf keys the answer left out are each
        opened for the model, all at once (one batch in the engine), each given up once its value is written. A
        value is kept when it is in the text and new to the answer (``ValueWatch``; of two probes that wrote the same
        value, the surer one), the model wrote it with confidence ``MIN_CONFIDENCE`` or more, and grounding finds it
        in the text as written (``grounded``): the kept keys are written into the answer, nothing else changed, when
        the result validates. Returns what ``_extended`` returns."""
        tokenizer, text = self.engine.tokenizer, request.source_text or ""
        known = answer_values(checked_output.value)
        probes = [(gap, self._resume_later(request, generation, grammar, schema, timings, gap.cut, (gap.opener,),
                                           lambda written, gap=gap: ValueWatch(written, gap, known, text,
                                                                                screening=True)))
                  for gap in gaps(generation.text, schema.document)[:limit]]
        probes = [(gap, probe) for gap, probe in probes if probe is not None]
        if not probes:
            return generation, checked_output, 0
        with ThreadPoolExecutor(max_workers=len(probes)) as pool:  # batched by the engine
            decoded = list(pool.map(lambda probe: probe[1](), probes))
        usage = generation.usage
        sources = [(generation.text, generation.token_ids, generation.token_probs)]
        candidates: list[tuple[float, Fill, str]] = []
        for (gap, _), (attempt, watch) in zip(probes, decoded):
            usage = usage.plus(attempt.usage)
            span = watch.span  # judged True: the value is written to its end, at the same place in attempt.text
            if watch.verdict is not True or attempt.error or span is None:
                continue
            confidence = span_confidence(attempt.text, token_spans(tokenizer, attempt.token_ids, attempt.text),
                                         attempt.token_probs, span.start, span.end) or 0.0
            if confidence >= MIN_CONFIDENCE:
                sources.append((attempt.text, attempt.token_ids, attempt.token_probs))
                candidates.append((confidence, Fill(gap, len(sources) - 1, span.start, span.end),
                                   attempt.text[span.start:span.end]))
        generation.usage = usage
        fills: list[Fill] = []
        values: list[str] = []
        seen: set[str] = set()
        for _, fill, value in sorted(candidates, key=lambda candidate: -candidate[0]):
            if (same := normal(json.loads(value))) not in seen:
                seen.add(same)
                fills.append(fill)
                values.append(value)
        while fills:
            pieces = splice(generation.text, fills, values)
            filled = "".join(piece.text for piece in pieces)
            filled_checked = validate_output(filled, schema)
            if not filled_checked.valid:
                return generation, checked_output, len(probes)
            evidence = _ground(filled_checked.value, text, schema.document).by_path()
            grounded = [n for n, fill in enumerate(fills) if getattr(evidence.get(fill.gap.value_pointer), "status",
                                                                     None) == "grounded"]
            if len(grounded) == len(fills):
                ids, probs = spliced_tokens(tokenizer, pieces, sources)
                if not grammar.matcher().consume(ids):
                    break
                return replace(generation, text=filled, token_ids=ids, token_probs=probs), filled_checked, len(probes)
            fills, values = [fills[n] for n in grounded], [values[n] for n in grounded]
        return generation, checked_output, len(probes)

    def _resume(self, request: GenerationRequest, generation: Any, grammar: Any, schema: Schema, timings: Timings,
                cut: int, openers: tuple[str, ...], watch_for: Callable[[str], Any]) -> tuple[Any, Any]:
        """The answer resumed after its first ``cut`` characters with the first of ``openers`` the grammar takes
        (``slot.resumption``), decoded greedily under a watch (``watch_for(written text)``: ``on_delta`` and
        ``give_up``) that may give it up early: (the decoding, the watch), or (None, None) when no opener fits."""
        decode = self._resume_later(request, generation, grammar, schema, timings, cut, openers, watch_for)
        return decode() if decode is not None else (None, None)

    def _resume_later(self, request: GenerationRequest, generation: Any, grammar: Any, schema: Schema,
                      timings: Timings, cut: int, openers: tuple[str, ...],
                      watch_for: Callable[[str], Any]) -> Callable[[], tuple[Any, Any]] | None:
        """What ``_resume`` does, as a call to make later (several run at once, batched by the engine), or None when
        no opener fits."""
        for opener in openers:
            ids, probs = written_tokens(self.engine.tokenizer, generation.text, generation.token_ids,
                                        generation.token_probs, cut, opener)
            if grammar.matcher().consume(ids):
                watch = watch_for(generation.text[:cut] + opener)
                again = replace(request, written=ids, written_probs=probs, keep_states=True,
                                on_delta=watch.on_delta, give_up=watch.give_up)
                return lambda: (self._decode(again, grammar, schema, timings), watch)
        return None

    def _retried(self, request: GenerationRequest, generation: Any, checked_output: Any, grammar: Any,
                 schema: Schema, timings: Timings) -> tuple[Any, Any, int]:
        """The answer's generation, its post-validation and the decodings made. An output that parses but breaks a
        keyword the grammar left to post-validation (only those can break) is decoded again, sampling
        (``RETRY_TEMPERATURE`` unless the request samples, a distinct seed each time), up to ``relaxed_retries``
        times: the first valid output answers, else the first output (what a stream sent). Usage sums every
        decoding. Each output is validated once (``checked_output`` is the first one's)."""
        enforced = grammar.enforcement if grammar is not None else None
        if enforced is None or not enforced.post_checked_keywords or not _retriable(generation, checked_output):
            return generation, checked_output, 1
        answer, answer_checked, usage, attempts = generation, checked_output, generation.usage, 1
        temperature = request.temperature if request.temperature > 0 else RETRY_TEMPERATURE
        while attempts <= self.settings.relaxed_retries:
            if request.is_cancelled is not None and request.is_cancelled():
                break
            again = replace(request, temperature=temperature, seed=(request.seed or 0) + attempts, on_delta=None)
            generation = self._decode(again, grammar, schema, timings)
            attempts += 1
            usage = usage.plus(generation.usage)
            if generation.finish_reason == "cancelled":  # cut short: the caller is gone or out of time
                answer, answer_checked = generation, validate_output(generation.text, schema)
                break
            if not generation.error and generation.finish_reason == "stop":
                again_checked = validate_output(generation.text, schema)
                if again_checked.valid:
                    answer, answer_checked = generation, again_checked
                    break
        answer.usage = usage
        return answer, answer_checked, attempts


def _retriable(generation: Any, checked_output: Any) -> bool:
    """Whether decoding again could help: the output ended normally and parses, but does not validate."""
    if generation.error or generation.finish_reason != "stop":
        return False
    return checked_output.parsed and not checked_output.valid


def _confidence(tokenizer: Any, generation: Any, grounding: dict[str, Any]) -> dict[str, Any]:
    """Give each grounding field the confidence of its value (``slot.confidence``: from the token probabilities
    of the decoding that wrote it); returns the token facts kept in ``StructureResult.extra``."""
    spans = token_spans(tokenizer, generation.token_ids, generation.text) if generation.token_probs else []
    attach_confidence(grounding, leaf_confidences(generation.text, spans, generation.token_probs))
    return {"token_probs": list(generation.token_probs), "token_spans": spans}


def _certain(grounding: dict[str, Any]) -> dict[str, Any]:
    """A parse-first answer's grounding, every value at confidence 1.0: the text's own JSON, no model choice."""
    return attach_confidence(grounding, {item["path"]: 1.0 for item in grounding.get("fields", [])})


def _repair(value: Any, report: Any, schema: Schema, text: str) -> tuple[Any, list[str], Any]:
    """Near-copy repair (``slot.grounding.repair``): the value, the repaired paths and the grounding of the
    repaired value; nothing changes when a repaired value would break the schema."""
    from slot.grounding.repair import repair_near_copies

    repaired_value, repaired = repair_near_copies(value, report, schema.document, text)
    if not repaired or not _fits(repaired_value, schema):
        return value, [], report
    return repaired_value, repaired, _ground(repaired_value, text, schema.document)


def _fits(value: Any, schema: Schema) -> bool:
    """Whether a value SLOT changed after decoding (repaired, keys left out) still validates against ``schema``."""
    return validate_output(json.dumps(value, ensure_ascii=False), schema).valid


def _budget_paths(generation: Any) -> tuple[list[str], list[str]]:
    """The paths finish mode cut and filled in ``generation`` (``slot.engine.cpu.guards.finish``)."""
    from slot.engine.cpu.guards.finish import cut_and_filled

    return cut_and_filled(generation.text, generation.finish_spans)


def _ground(value: Any, text: str, schema: Any) -> Any:
    """Per-field evidence for the parsed output (slot.grounding)."""
    from slot.grounding import ground
    from slot.patterns import time_budget

    with time_budget():  # patternProperties matched against output keys: one bound for the whole pass
        return ground(value, text, schema if isinstance(schema, dict) else None)


def _apply(value: Any, report: Any, schema: Any, policy: str) -> Any:
    """The grounding policy applied to the parsed output (``fail`` raises UngroundedError)."""
    from slot.errors import UngroundedError
    from slot.grounding import UngroundedValuesError, apply_policy

    try:
        return apply_policy(value, report, schema, policy)
    except UngroundedValuesError as exc:
        raise UngroundedError(str(exc), exc.paths) from None


def context_length(engine: Engine) -> int | None:
    """The model's context in tokens (the engine's max_model_len, else its model config's
    max_position_embeddings), or None when unknown."""
    config = getattr(getattr(engine, "model", None), "config", None)
    value = getattr(engine, "max_model_len", None) or getattr(config, "max_position_embeddings", None)
    return value if isinstance(value, int) and value > 0 else None


def schema_limits(settings: Settings) -> Limits:
    """The schema limits a server with these settings enforces."""
    return Limits(max_bytes=settings.max_schema_bytes,
                  max_bundled_bytes=max(settings.max_bundled_schema_bytes, settings.max_schema_bytes),
                  max_depth=settings.max_schema_depth,
                  max_enum_values=settings.max_enum_values, max_nodes=settings.max_schema_nodes)


def check_text(text: str, max_chars: int) -> None:
    """Refuse empty, over-long or non-encodable text (cheap: runs before any model work)."""
    if not isinstance(text, str):
        raise InvalidRequestError("text must be a string", field="text")
    if not text.strip():
        raise InvalidRequestError("text is empty", field="text")
    if len(text) > max_chars:
        raise InvalidRequestError(f"text has {len(text)} characters, over the limit of {max_chars}", field="text")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(f"text is not valid Unicode (character {exc.start})", field="text") from None


def adapter_paths(settings: Settings) -> dict[str, Path]:
    """Named adapter directories from the settings: the default one first, then ``--adapters``."""
    paths: dict[str, Path] = {}
    if settings.adapter == DEFAULT:
        if (DEFAULT_ADAPTER_DIR / "adapter_config.json").is_file():
            paths[DEFAULT] = DEFAULT_ADAPTER_DIR
    elif settings.adapter not in ("none", BASE, ""):
        paths[DEFAULT] = Path(settings.adapter).expanduser()
    for item in filter(None, (part.strip() for part in settings.adapters.split(","))):
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ModelError(f"--adapters entries are name=PATH, got {item!r}")
        if name in (BASE, "none"):
            raise ModelError(f"adapter name {name!r} is reserved")
        paths[name] = Path(path).expanduser()
    return paths

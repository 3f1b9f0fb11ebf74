"""The vLLM engine on the embedded model: the transformers engine's JSON, adapters per request, errors, aborts."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed in this venv; `make test-vllm` runs these in .venv-vllm")

from slot.engine.base import GenerationRequest  # noqa: E402
from slot.errors import InvalidRequestError, UnknownAdapterError  # noqa: E402

from .conftest import MAX_TOKENS, dump  # noqa: E402

pytestmark = pytest.mark.vllm

# A schema that lets the model write for a long time: used to cancel in the middle of decoding.
LONG = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "string"}, "minItems": 200}},
        "required": ["items"]}


def _concurrently(structurer, rows, adapters, **options):
    """Structure rows[i] with adapters[i], all at once (vLLM batches them); results in row order."""
    with ThreadPoolExecutor(max_workers=len(rows)) as pool:
        futures = [pool.submit(structurer.structure, r["input_text"], r["json_schema"], adapter=a,
                               max_tokens=MAX_TOKENS, **options) for r, a in zip(rows, adapters)]
        return [f.result() for f in futures]


def test_same_json_as_the_transformers_engine(vllm_structurer, reference, agreement_rows):
    expected = reference("default", len(agreement_rows))
    results = _concurrently(vllm_structurer, agreement_rows, [None] * len(agreement_rows))
    agree = sum(r.output == ref for r, ref in zip(results, expected))
    dump("agreement_default_adapter", {"agree": agree, "rows": len(agreement_rows),
                                       "valid": sum(r.valid for r in results),
                                       "batched_peak": vllm_structurer.engine.peak_in_flight})
    assert all(r.valid and r.finish_reason == "stop" for r in results), [r.errors for r in results]
    assert agree >= len(agreement_rows) - 1, [(r.output, ref) for r, ref in zip(results, expected) if r.output != ref]
    assert vllm_structurer.engine.peak_in_flight >= 2  # the requests were in vLLM together


def test_usage_and_finish_reason_follow_the_transformers_engine(vllm_structurer, tf_structurer, agreement_rows):
    row = agreement_rows[0]
    full = vllm_structurer.structure(row["input_text"], row["json_schema"])
    same = tf_structurer.structure(row["input_text"], row["json_schema"])
    assert full.usage.prompt_tokens == same.usage.prompt_tokens
    assert full.usage.completion_tokens == same.usage.completion_tokens or full.output != same.output
    assert full.usage.forward_passes >= full.usage.completion_tokens - 1
    cut = vllm_structurer.structure(row["input_text"], row["json_schema"], max_tokens=5)
    assert cut.finish_reason == "length" and cut.usage.completion_tokens == 5 and not cut.valid and cut.errors
    assert full.output.startswith(cut.output)
    exact = vllm_structurer.structure(row["input_text"], row["json_schema"], max_tokens=full.usage.completion_tokens)
    assert exact.output == full.output and exact.finish_reason == "stop" and exact.valid  # as the transformers engine


def test_adapters_switch_per_request_in_one_batch(vllm_structurer, reference, agreement_rows):
    rows = agreement_rows[:4]
    base, default = reference("base", 4), reference("default", 4)
    mixed = _concurrently(vllm_structurer, rows * 3, ["base"] * 4 + ["default"] * 4 + ["zero"] * 4)
    got_base, got_default, got_zero = ([r.output for r in mixed[i:i + 4]] for i in (0, 4, 8))
    dump("agreement_per_adapter", {"base": sum(a == b for a, b in zip(got_base, base)),
                                   "default": sum(a == b for a, b in zip(got_default, default)),
                                   "zero_vs_base": sum(a == b for a, b in zip(got_zero, base)), "rows": len(rows)})
    assert [r.adapter for r in mixed] == ["base"] * 4 + ["default"] * 4 + ["zero"] * 4
    assert sum(a == b for a, b in zip(got_base, base)) >= 3
    assert sum(a == b for a, b in zip(got_default, default)) >= 3
    assert sum(a == b for a, b in zip(got_zero, base)) >= 3  # a zeroed adapter is the base model
    assert got_base != got_default  # the adapter really changes the output
    assert sorted(vllm_structurer.engine.adapters()) == ["default", "zero"]


def test_unknown_adapter_is_a_clear_error(vllm_structurer, agreement_rows):
    row = agreement_rows[0]
    with pytest.raises(UnknownAdapterError, match="unknown adapter 'nope'") as caught:
        vllm_structurer.structure(row["input_text"], row["json_schema"], adapter="nope")
    assert caught.value.status == "NOT_FOUND" and caught.value.field == "options.adapter"
    prompt = vllm_structurer.engine.tokenizer.encode("x")
    from slot.prompt import PromptTokens

    with pytest.raises(UnknownAdapterError):  # the engine itself refuses too, before vLLM sees it
        vllm_structurer.engine.generate(GenerationRequest(prompt=PromptTokens([], prompt), grammar=None, max_tokens=4,
                                                          adapter="nope"))


def test_a_request_cannot_switch_the_grammar_backend(vllm_structurer, agreement_rows):
    row = agreement_rows[0]
    with pytest.raises(InvalidRequestError, match="grammar backend"):
        vllm_structurer.structure(row["input_text"], row["json_schema"], grammar_backend="xgrammar")


def test_cancellation_aborts_the_vllm_request(vllm_structurer, agreement_rows):
    engine = vllm_structurer.engine
    before = engine.cancelled_generations
    started = time.monotonic()
    tokens_seen = threading.Event()

    def on_delta(_text: str) -> None:
        tokens_seen.set()

    def is_cancelled() -> bool:  # cancel once decoding is under way
        return tokens_seen.is_set() and time.monotonic() - started > 0.5

    result = vllm_structurer.structure("Fruit: apple, pear, plum.", LONG, max_tokens=400, on_delta=on_delta,
                                       is_cancelled=is_cancelled)
    assert result.finish_reason == "cancelled" and not result.valid
    assert 0 < result.usage.completion_tokens < 400
    assert engine.cancelled_generations == before + 1
    assert engine._llm.get_num_unfinished_requests() == 0  # aborted in vLLM, not left running
    row = agreement_rows[1]
    after = vllm_structurer.structure(row["input_text"], row["json_schema"])  # the engine goes on
    assert after.valid


def test_a_passed_deadline_stops_decoding(vllm_structurer):
    deadline = time.monotonic() + 1.0
    started = time.monotonic()
    result = vllm_structurer.structure("Fruit: apple, pear, plum.", LONG, max_tokens=400,
                                       is_cancelled=lambda: time.monotonic() > deadline)
    assert result.finish_reason == "cancelled"
    assert time.monotonic() - started < 10
    assert vllm_structurer.engine._llm.get_num_unfinished_requests() == 0


def test_stream_deltas_add_up_to_the_output(vllm_structurer, agreement_rows):
    row = agreement_rows[2]
    pieces: list[str] = []
    result = vllm_structurer.structure(row["input_text"], row["json_schema"], on_delta=pieces.append)
    assert len(pieces) >= 2 and "".join(pieces) == result.output


def test_sampling_is_seeded(vllm_structurer, agreement_rows):
    row = agreement_rows[3]
    one = vllm_structurer.structure(row["input_text"], row["json_schema"], temperature=0.9, seed=7)
    two = vllm_structurer.structure(row["input_text"], row["json_schema"], temperature=0.9, seed=7)
    assert one.output == two.output and one.valid


def test_unconstrained_decoding_still_post_validates(vllm_structurer, agreement_rows):
    row = agreement_rows[4]
    result = vllm_structurer.structure(row["input_text"], row["json_schema"], constrained=False, max_tokens=80)
    assert result.grammar_backend == ""
    assert result.valid == (not result.errors)


def test_describe_names_the_engine(vllm_structurer):
    facts = vllm_structurer.engine.describe()
    assert facts["engine"] == "vllm" and facts["structured_outputs"] == "guidance"
    assert facts["enforce_eager"] is True and facts["adapters"] == ["default", "zero"]

"""Forward-pass cost of float32, bfloat16 and float16 weights on this machine's CPU, for SLOT's model shape.

The passes SLOT runs: a 300-token prefill (one new request) and decoding passes of 1, 4 and 13 tokens over a
300-token key/value cache (plain decoding, a short and a full speculative draft). Timing does not depend on
the weight values, so the model is built from its config with random weights: the script runs wherever
torch and transformers do, including machines without the embedded model. Not a unit test; run by hand:

    python benchmarks/bench_cpu_dtypes.py --config ~/.cache/slot/models/smollm2-135m/config.json --threads 2,8
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import time
import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DTYPES = ("float32", "bfloat16", "float16-weights")


def cpu_flags() -> list[str]:
    """The CPU features that decide bfloat16 speed (Linux /proc/cpuinfo)."""
    try:
        flags = set(next(line for line in Path("/proc/cpuinfo").read_text().splitlines()
                         if line.startswith("flags")).split(":")[1].split())
    except (OSError, StopIteration):
        return []
    return sorted(flags & {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})


def timed(fn: Callable[[], Any], repeats: int) -> float:
    """Mean milliseconds of ``repeats`` calls after one warm-up call."""
    fn()
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats * 1000


def measure(config_path: Path, threads: list[int], prompt_tokens: int = 300) -> dict[str, dict[str, float]]:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, DynamicCache

    from slot.engine.cpu.model.half_weights import half_weights

    config = AutoConfig.from_pretrained(config_path.parent if config_path.is_file() else config_path)
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_config(config).eval()
    results: dict[str, dict[str, float]] = {}
    for count in threads:
        torch.set_num_threads(count)
        for dtype in DTYPES:
            model = half_weights(copy.deepcopy(base)) if dtype == "float16-weights" else base.to(getattr(torch, dtype))
            row: dict[str, float] = {}
            with torch.inference_mode():
                prompt = torch.randint(0, config.vocab_size, (1, prompt_tokens))
                cache = DynamicCache(config=config)
                model(input_ids=prompt, past_key_values=cache, use_cache=True, logits_to_keep=1)
                row[f"prefill{prompt_tokens}_ms"] = round(timed(
                    lambda: model(input_ids=prompt, use_cache=False, logits_to_keep=1), 3), 1)
                for width in (1, 4, 13):
                    ids = torch.randint(0, config.vocab_size, (1, width))

                    def step() -> None:
                        model(input_ids=ids, past_key_values=cache, use_cache=True)
                        cache.crop(-width)

                    row[f"pass{width}_ms"] = round(timed(step, 10), 1)
            results[f"{dtype}@{count}"] = row
            print(f"{dtype:16s} {count:2d} threads  " + "  ".join(f"{k} {v}" for k, v in row.items()), flush=True)
            base = base.float()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="a model's config.json (or its directory)")
    parser.add_argument("--threads", default="2", help="comma-separated torch thread counts")
    parser.add_argument("--out", type=Path, default=None, help="write the results here as JSON")
    args = parser.parse_args()
    import torch

    facts = {"cpu": platform.processor() or platform.machine(), "cpu_flags": cpu_flags(), "torch": torch.__version__}
    print(json.dumps(facts))
    results = measure(args.config, [int(t) for t in args.threads.split(",")])
    if args.out:
        args.out.write_text(json.dumps({"facts": facts, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()

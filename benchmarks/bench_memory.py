"""Peak memory of the service path under concurrent load: the worst case that sizes the Kubernetes request.

Loads the default Structurer (base model + shipped adapter) in this process, warms it, then runs synthetic
validation rows (long prompts, nested schemas) from N threads at once, so continuous batching holds N key/value
caches together, and prints VmRSS/VmHWM before and after (Linux /proc). Not a unit test; run by hand:

    python benchmarks/bench_memory.py --rows /tmp/slot_data/syn/validation.jsonl --count 16 --callers 8
    python benchmarks/bench_memory.py --rows S/train.jsonl S/validation.jsonl S/test.jsonl --longest --count 16 --callers 8
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def memory() -> dict[str, int]:
    """VmRSS and VmHWM of this process in kB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            name, value = line.split(":")
            found[name] = int(value.split()[0])
    return found


def main(argv: list[str] | None = None) -> int:
    from slot.config import Settings
    from slot.structurer import Structurer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=Path, nargs="+", required=True, help="JSONL files of rows {input_text, json_schema}")
    parser.add_argument("--longest", action="store_true",
                        help="take the rows of largest text + schema (the worst case), not the first ones")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    rows = [json.loads(line) for path in args.rows for line in path.read_text(encoding="utf-8").splitlines()]
    if args.longest:
        rows.sort(key=lambda row: -(len(row["input_text"]) + len(json.dumps(row["json_schema"]))))
    rows = rows[:args.count]
    loading = time.perf_counter()
    structurer = Structurer.from_settings(Settings.from_env().replace(threads=args.threads), progress=False)
    print(f"loaded ({structurer.engine.describe()['dtype']}) in {time.perf_counter() - loading:.1f} s: {memory()}",
          flush=True)
    structurer.structure(rows[0]["input_text"], rows[0]["json_schema"], max_tokens=8)
    structurer.engine.warm_up(structurer.default_adapter)  # as the server does before SERVING
    print(f"after load and warm-up: {memory()}", flush=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(args.callers) as pool:
        results = list(pool.map(lambda r: structurer.structure(r["input_text"], r["json_schema"],
                                                               max_tokens=args.max_tokens), rows))
    scheduler = structurer.engine.scheduler
    print(f"{len(rows)} rows, {args.callers} at once, {time.perf_counter() - started:.0f} s, "
          f"{sum(r.usage.completion_tokens for r in results)} output tokens, longest prompt "
          f"{max(r.usage.prompt_tokens for r in results)} tokens, "
          f"{scheduler.batched_rows / max(1, scheduler.passes):.1f} requests per pass: {memory()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

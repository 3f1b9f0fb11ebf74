"""Big schemas (issue 27, point 4): what compiling them costs, to pick ``Limits.max_bytes``.

Every SchemaStore schema (``../shared/data/schemastore/schemas``, as ``bench_schema_coverage`` reads it) of at
least ``--min-kb`` goes through SLOT's own path with the byte limit lifted and every other bound kept (depth,
subschemas, enum values): ``load_schema``, the prompt rendering (``slot.prompt.schema_rendering``: full,
compact or skeleton, its tokens) and the llguidance grammar through a ``GrammarCache`` (open objects closed).
Per schema: wall-clock load and compile times and the peak resident memory *added* while compiling (the worker samples its
RSS every 2 ms; the baseline is its RSS just before), and the worker's peak RSS so far. One worker process
compiles one schema at a time; past ``--timeout`` it is killed and restarted (counted as a timeout), so the
numbers are not bounded by the server's compile timeout and show what a limit would have to absorb. Results are
grouped by size.

    .venv/bin/python benchmarks/bench_big_schemas.py --out benchmarks/results/big_schemas_2026-12-07.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCHEMASTORE = ROOT.parent / "shared" / "data" / "schemastore"
BUCKETS = ((0, 64), (64, 128), (128, 256), (256, 512), (512, 1 << 20))
"""Size groups in KB (of the schema file as given)."""


def _rss_kb() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4


def _worker(model_dir: str, requests: Any, replies: Any) -> None:
    """Compile schemas one at a time: load, render, compile; times and peak added RSS."""
    import resource
    import threading

    from slot.config import Settings
    from slot.errors import SlotError
    from slot.grammar.cache import GrammarCache
    from slot.models import load_tokenizer
    from slot.prompt import schema_rendering
    from slot.schema import Limits, load_schema

    settings = Settings.from_env()
    tokenizer, vocab = load_tokenizer(Path(model_dir))
    limits = Limits(max_bytes=1 << 30, max_depth=settings.max_schema_depth, max_enum_values=settings.max_enum_values,
                    max_nodes=settings.max_schema_nodes)
    cache = GrammarCache(tokenizer, vocab, compile_timeout_s=3600, capacity=1)
    cache.backend("llguidance")
    replies.put("ready")
    while True:
        raw = requests.get()
        if raw is None:
            return
        row: dict[str, Any] = {}
        try:
            started = time.perf_counter()
            schema = load_schema(raw, limits)
            row["load_ms"] = round((time.perf_counter() - started) * 1000, 1)
            try:
                rendering = schema_rendering(tokenizer, schema, settings.max_prompt_tokens)
                row.update(prompt_tokens=rendering.tokens, full_prompt_tokens=rendering.full_tokens,
                           compact=rendering.compact, level=rendering.level, depth=rendering.depth, prompt_fits=True)
            except SlotError as exc:
                row.update(prompt_fits=False, prompt_reason=str(exc)[:160])
            peak = [0]
            base = _rss_kb()
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], _rss_kb())
                    time.sleep(0.002)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.perf_counter()
            try:
                cache.get(schema, "llguidance")
                row["status"] = "compiled"
            except SlotError as exc:
                row.update(status="refused", keyword=exc.keyword, reason=str(exc).splitlines()[0][:160])
            row["compile_ms"] = round((time.perf_counter() - started) * 1000, 1)
            done.set()
            sampler.join()
            row["peak_rss_added_mb"] = round(max(0, peak[0] - base) / 1024, 1)
            row["worker_max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        except SlotError as exc:
            row.update(status="load_schema", keyword=exc.keyword, reason=str(exc).splitlines()[0][:160])
        except Exception as exc:  # noqa: BLE001 - a defect is a row of its own, not a hung run
            row.update(status="error", reason=f"{type(exc).__name__}: {exc}"[:160])
        replies.put(row)


class Worker:
    """The compiling child process, restarted after a timeout."""

    def __init__(self, model_dir: Path) -> None:
        import multiprocessing

        self.context = multiprocessing.get_context("spawn")
        self.model_dir = model_dir
        self.restarts = 0
        self.start()

    def start(self) -> None:
        self.requests, self.replies = self.context.Queue(), self.context.Queue()
        self.process = self.context.Process(target=_worker, args=(str(self.model_dir), self.requests, self.replies),
                                            daemon=True)
        self.process.start()
        self.replies.get(timeout=300)

    def run(self, raw: bytes, timeout: float) -> dict[str, Any]:
        import queue

        self.requests.put(raw)
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            self.process.kill()
            self.process.join()
            self.restarts += 1
            self.start()
            return {"status": "timeout", "reason": f"over {timeout:g} s"}

    def close(self) -> None:
        self.requests.put(None)
        self.process.join(10)


def nearest(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {"n": len(values), "p50": round(statistics.median(values), 1), "p95": round(nearest(values, 0.95), 1),
            "max": round(max(values), 1)}


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for low, high in BUCKETS:
        group = [r for r in rows if low <= r["kb"] < high]
        compiled = [r for r in group if r.get("status") == "compiled"]
        out.append({
            "kb": f"{low}-{high if high < 1 << 20 else ''}", "schemas": len(group), "compiled": len(compiled),
            "refused": sum(r.get("status") in ("refused", "load_schema") for r in group),
            "timeouts": sum(r.get("status") == "timeout" for r in group),
            "compile_ms": stats([r["compile_ms"] for r in compiled]),
            "load_ms": stats([r["load_ms"] for r in group if "load_ms" in r]),
            "peak_rss_added_mb": stats([r["peak_rss_added_mb"] for r in compiled]),
            "compact_prompts": sum(r.get("level") == "compact" for r in group),
            "skeleton_prompts": sum(r.get("level") == "skeleton" for r in group),
            "prompt_too_long": sum(r.get("prompt_fits") is False for r in group),
            "served": sum(bool(r.get("prompt_fits")) for r in compiled),
            "served_by_level": {level: sum(r.get("level") == level for r in compiled if r.get("prompt_fits"))
                                for level in ("full", "compact", "skeleton")},
        })
    return out


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [f"| size (KB) | schemas | compiled | refused | timeouts | compile ms p50 / p95 / max | "
             "load_schema ms p50 / p95 / max | peak RSS added MB p50 / p95 / max | compact prompts | "
             "skeleton prompts | prompt too long even as a skeleton | served (compiled, prompt fits): full / compact "
             "/ skeleton |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    triple = lambda s: f"{s['p50']} / {s['p95']} / {s['max']}" if s["n"] else "-"  # noqa: E731
    for b in report["buckets"]:
        lines.append(f"| {b['kb']} | {b['schemas']} | {b['compiled']} | {b['refused']} | {b['timeouts']} | "
                     f"{triple(b['compile_ms'])} | {triple(b['load_ms'])} | {triple(b['peak_rss_added_mb'])} | "
                     f"{b['compact_prompts']} | {b['skeleton_prompts']} | {b['prompt_too_long']} | {b['served']}: "
                     f"{' / '.join(str(n) for n in b['served_by_level'].values())} |")
    most = max((r.get("worker_max_rss_mb", 0) for r in report["schemas"]), default=0)
    head = (f"Run {m['date']}, commit {m['commit']}, {m['cpu']} ({m['cores']} cores, load {m['load']}), "
            f"worker restarts {report['restarts']}; the worker's peak RSS over the whole run (tokenizer included): "
            f"{most} MB.")
    return head + "\n\n" + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=SCHEMASTORE)
    parser.add_argument("--min-kb", type=float, default=32.0, help="smallest schema file measured (KB)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per schema before the worker is killed")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if not (args.root / "schemas").is_dir():
        print(f"no SchemaStore data at {args.root}", file=sys.stderr)
        return 2
    from run_record import machine

    from slot.config import Settings
    from slot.models import resolve_base_model

    settings = Settings.from_env()
    worker = Worker(resolve_base_model(settings.base_model, settings.home_path, progress=False))
    paths = sorted((p for p in (args.root / "schemas").glob("*.json") if p.stat().st_size >= args.min_kb * 1024),
                   key=lambda p: p.stat().st_size)
    rows = []
    for number, path in enumerate(paths, 1):
        raw = path.read_bytes()
        row = {"name": path.stem, "kb": round(len(raw) / 1024, 1)} | worker.run(raw, args.timeout)
        rows.append(row)
        print(f"{number}/{len(paths)} {path.stem} {row['kb']} KB: {row.get('status')} "
              f"{row.get('compile_ms', '')} ms {row.get('peak_rss_added_mb', '')} MB", file=sys.stderr, flush=True)
    worker.close()
    report = {"about": "Compile time and memory of big SchemaStore schemas on SLOT's path (bench_big_schemas.py)",
              "machine": machine(), "settings": {"min_kb": args.min_kb, "timeout_s": args.timeout,
                                                 "max_prompt_tokens": settings.max_prompt_tokens},
              "restarts": worker.restarts, "buckets": summarise(rows), "schemas": rows}
    print(markdown(report))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

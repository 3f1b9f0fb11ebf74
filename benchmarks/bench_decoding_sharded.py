"""Run ``bench_decoding.py`` as shards side by side on a many-core machine, each shard pinned to two physical
cores of its own (``taskset``, ``--threads 2``: the service's shape), then merge them into one result file.

Why: the full benchmark (200 E2E + 100 synthetic rows, OT and the engine) takes about an hour at 2 threads;
on the 16-core host of a lent GPU machine, whose hour is short, N shards take about 1/N of that. Shard k runs
rows k, k+N, ... (``--shard k/N``); each shard's prefix cache and output memory see only its own rows, which
can only make the engine slower than one run over all rows. With ``--concurrency``, one more process
(``--configs ''``) measures the 1/4/8-caller levels on a core pair of its own, alongside the shards. The
shards share the machine's memory bandwidth and last-level cache, and OT and the engine alike run under it.

    python benchmarks/bench_decoding_sharded.py --shards 6 --concurrency --out benchmarks/results/x.json -- \\
        --e2e-rows 200 --synthetic-rows 100 --adapter default --configs "OT (outlines 1.3.3 + transformers),all on"
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def physical_cores() -> list[int]:
    """One logical CPU per physical core (its lowest-numbered hyper-thread sibling), among the allowed CPUs."""
    chosen: dict[tuple[str, str], int] = {}
    for cpu in sorted(os.sched_getaffinity(0)):
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            key = ((topology / "physical_package_id").read_text().strip(), (topology / "core_id").read_text().strip())
        except OSError:
            key = ("?", str(cpu))
        chosen.setdefault(key, cpu)
    return sorted(chosen.values())


def core_pairs(cores: list[int], *, spare: int = 1) -> list[str]:
    """Disjoint pairs of physical cores as taskset lists, leaving the first ``spare`` cores to the system."""
    usable = cores[spare:]
    return [f"{usable[i]},{usable[i + 1]}" for i in range(0, len(usable) - 1, 2)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", type=int, default=0, help="number of shards (0: as many as core pairs allow)")
    parser.add_argument("--concurrency", action="store_true",
                        help="also run the 1/4/8-caller levels (--configs '') on a core pair of their own")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_decoding_shards"),
                        help="where each shard's JSON and log go")
    parser.add_argument("--out", type=Path, required=True, help="the merged result file")
    parser.add_argument("bench_args", nargs=argparse.REMAINDER, help="-- then bench_decoding.py's arguments")
    args = parser.parse_args(argv)
    bench_args = [a for a in args.bench_args if a != "--"]
    if any(a.split("=")[0] in ("--shard", "--threads", "--out", "--merge", "--concurrency") for a in bench_args):
        parser.error("--shard, --threads, --out, --merge and --concurrency are set by this script")
    pairs = core_pairs(physical_cores())
    needed = int(args.concurrency) + max(1, args.shards)
    if len(pairs) < needed:
        parser.error(f"{len(pairs)} free pairs of physical cores, {needed} needed")
    shards = args.shards or len(pairs) - int(args.concurrency)
    args.work.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, Path, Path, subprocess.Popen[bytes]]] = []

    def launch(name: str, cpus: str, extra: list[str]) -> None:
        result, log = args.work / f"{name}.json", args.work / f"{name}.log"
        command = ["taskset", "-c", cpus, sys.executable, str(HERE / "bench_decoding.py"), *bench_args,
                   "--threads", "2", "--out", str(result), *extra]
        with open(log, "wb") as handle:
            jobs.append((name, result, log, subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)))
        print(f"{name}: CPUs {cpus}: {' '.join(command[3:])}", file=sys.stderr, flush=True)

    for k in range(shards):
        launch(f"shard{k}", pairs[k], ["--shard", f"{k}/{shards}", "--concurrency", ""])
    if args.concurrency:
        launch("concurrency", pairs[shards], ["--configs", ""])
    started = time.perf_counter()
    while any(job.poll() is None for *_, job in jobs):
        time.sleep(30)
        lines = []
        for name, _, log, job in jobs:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
            state = "running" if job.poll() is None else f"exit {job.returncode}"
            lines.append(f"  {name} ({state}): {tail[0][:150]}")
        print(f"[{time.perf_counter() - started:.0f}s]\n" + "\n".join(lines), file=sys.stderr, flush=True)
    failed = [name for name, *_, job in jobs if job.returncode != 0]
    if failed:
        print(f"failed: {failed}; logs in {args.work}", file=sys.stderr)
        return 1
    # the shard files record the configuration they were judged on (--judge among bench_args), merge keeps it
    merge = [sys.executable, str(HERE / "bench_decoding.py"), "--merge", *(str(r) for _, r, _, _ in jobs),
             "--out", str(args.out)]
    return subprocess.run(merge, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())

"""gRPC + SDK overhead over an in-process call, throughput with 1/4/16 clients, start-up to SERVING.

    SLOT_HOME=... python benchmarks/bench_grpc.py [--requests 20] [--out FILE.json]

Runs a real server on 127.0.0.1 (ephemeral port) in this process with the service defaults (shipped
adapter), and prints a markdown table. Same text and schema for every call (greedy, so same output).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"},
                                           "near": {"type": "string"}},
          "required": ["name", "area", "near"], "additionalProperties": False}
TEXT = "Sure! Here is the info: The Punter is a pub in the city centre near Café Sicilia."


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def startup_to_serving() -> float:
    """Seconds from `slot serve` (a subprocess) to health SERVING."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    port = 50000 + os.getpid() % 10000
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "slot.cli", "serve", "--port", str(port), "--metrics-port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.perf_counter() - started < 300:
                try:
                    if stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1).status == 1:
                        return time.perf_counter() - started
                except grpc.RpcError:
                    pass
                time.sleep(0.2)
        raise RuntimeError("server did not reach SERVING in 300 s")
    finally:
        proc.terminate()
        proc.wait(60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--out")
    args = parser.parse_args()

    from slot.client import SlotClient
    from slot.config import Settings
    from slot.server.app import SlotServer
    from slot.structurer import Structurer

    settings = Settings.from_env(port=0, metrics_port=0, http_port=0, max_concurrency=16, max_queue=64)
    structurer = Structurer.from_settings(settings, progress=False)
    structurer.structure(TEXT, SCHEMA)  # warm caches
    direct = []
    for _ in range(args.requests):
        t = time.perf_counter()
        structurer.structure(TEXT, SCHEMA)
        direct.append(time.perf_counter() - t)

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    server = SlotServer(settings, structurer=structurer)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(60)
    asyncio.run_coroutine_threadsafe(asyncio.wait_for(server.ready.wait(), 120), loop).result(130)
    target = f"127.0.0.1:{server.port}"
    remote = []
    with SlotClient(target) as client:
        for _ in range(args.requests):
            t = time.perf_counter()
            client.structure(TEXT, SCHEMA)
            remote.append(time.perf_counter() - t)
    throughput = {}
    for clients in (1, 4, 16):
        total = max(args.requests, clients * 2)
        with SlotClient(target) as client, ThreadPoolExecutor(clients) as pool:
            t = time.perf_counter()
            list(pool.map(lambda _: client.structure(TEXT, SCHEMA), range(total)))
            throughput[clients] = total / (time.perf_counter() - t)
    asyncio.run_coroutine_threadsafe(server.stop(grace=5), loop).result(60)
    startup = startup_to_serving()
    overhead = [r - d for r, d in zip(sorted(remote), sorted(direct))]
    result = {"loadavg": os.getloadavg(), "requests": args.requests,
              "direct_p50_ms": 1000 * statistics.median(direct), "direct_p99_ms": 1000 * pct(direct, 0.99),
              "grpc_sdk_p50_ms": 1000 * statistics.median(remote), "grpc_sdk_p99_ms": 1000 * pct(remote, 0.99),
              "added_p50_ms": 1000 * (statistics.median(remote) - statistics.median(direct)),
              "added_p99_ms": 1000 * pct(overhead, 0.99),
              "throughput_rps": throughput, "startup_to_serving_s": startup}
    print(f"# gRPC + SDK (load average {result['loadavg'][0]:.2f}, {args.requests} requests)\n")
    print("| measure | value |\n|---|---|")
    print(f"| in-process p50 / p99 | {result['direct_p50_ms']:.1f} / {result['direct_p99_ms']:.1f} ms |")
    print(f"| gRPC + SDK p50 / p99 | {result['grpc_sdk_p50_ms']:.1f} / {result['grpc_sdk_p99_ms']:.1f} ms |")
    print(f"| added by gRPC + SDK p50 / p99 | {result['added_p50_ms']:.1f} / {result['added_p99_ms']:.1f} ms |")
    for clients, rps in throughput.items():
        print(f"| throughput, {clients} clients | {rps:.2f} requests/s |")
    print(f"| start-up to SERVING (`slot serve` subprocess) | {startup:.1f} s |")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

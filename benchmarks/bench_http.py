"""What the OpenAI-compatible HTTP API adds over an in-process call, next to what gRPC adds, in one run.

    SLOT_HOME=... SLOT_THREADS=1 python benchmarks/bench_http.py [--requests 20] [--out FILE.json]

One real server on 127.0.0.1 (ephemeral ports) in this process, the service defaults (shipped adapter), the
same text and schema for every call (greedy: the same output each time). Each round makes one in-process
``Structurer.structure`` call, one through gRPC + ``SlotClient`` and one through HTTP + the official ``openai``
client, in turn, so machine load hits the three alike; the added time is the median over rounds of
(transport - in-process). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"},
                                           "near": {"type": "string"}},
          "required": ["name", "area", "near"], "additionalProperties": False}
TEXT = "Sure! Here is the info: The Punter is a pub in the city centre near Café Sicilia."


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = call()
    return (time.perf_counter() - started) * 1000, value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--out")
    args = parser.parse_args()

    import openai

    from slot.client import SlotClient
    from slot.config import Settings
    from slot.server.app import SlotServer
    from slot.structurer import Structurer

    settings = Settings.from_env(port=0, metrics_port=0, http_port=free_port())
    structurer = Structurer.from_settings(settings, progress=False)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    server = SlotServer(settings, structurer=structurer)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(60)
    asyncio.run_coroutine_threadsafe(asyncio.wait_for(server.ready.wait(), 120), loop).result(130)
    response_format = {"type": "json_schema", "json_schema": {"name": "venue", "schema": SCHEMA, "strict": True}}
    times: dict[str, list[float]] = {"in-process": [], "gRPC + SlotClient": [], "HTTP + openai": []}
    outputs: set[str] = set()
    with SlotClient(f"127.0.0.1:{server.port}") as grpc_client, \
            openai.OpenAI(base_url=f"http://127.0.0.1:{server.http_port}/v1", api_key="unused", max_retries=0) as http:
        calls = {"in-process": lambda: structurer.structure(TEXT, SCHEMA).output,
                 "gRPC + SlotClient": lambda: grpc_client.structure(TEXT, SCHEMA).output,
                 "HTTP + openai": lambda: http.chat.completions.create(
                     model="slot", messages=[{"role": "user", "content": TEXT}],
                     response_format=response_format).choices[0].message.content}
        for call in calls.values():  # warm every path (grammar cache, prefix cache, connections)
            call()
        for _ in range(args.requests):
            for name, call in calls.items():
                ms, output = timed(call)
                times[name].append(ms)
                outputs.add(output)
    asyncio.run_coroutine_threadsafe(server.stop(grace=5), loop).result(60)
    direct = times["in-process"]
    result: dict[str, Any] = {"loadavg": os.getloadavg(), "requests": args.requests, "threads": settings.threads,
                              "same_output_everywhere": len(outputs) == 1, "paths": {}}
    print(f"# HTTP and gRPC over in-process (load average {result['loadavg'][0]:.2f}, {args.requests} rounds, "
          f"threads {settings.threads or 'all'})\n")
    print("| path | p50 ms | added p50 ms (median of per-round differences) |\n|---|---|---|")
    for name, values in times.items():
        added = statistics.median(v - d for v, d in zip(values, direct))
        result["paths"][name] = {"p50_ms": statistics.median(values), "added_p50_ms": added, "ms": values}
        print(f"| {name} | {statistics.median(values):.1f} | {added:+.1f} |")
    print(f"\nsame output on every path and round: {result['same_output_everywhere']}")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0 if result["same_output_everywhere"] else 1


if __name__ == "__main__":
    sys.exit(main())

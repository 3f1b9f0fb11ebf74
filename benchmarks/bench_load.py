"""Load test of a real SLOT server process on 127.0.0.1: 32 concurrent clients, overload, memory, drain.

Starts ``python -m slot.cli serve`` as a subprocess on a free 127.0.0.1 port (or uses ``--target``),
waits for the health check to say SERVING, then runs a bounded load (``--clients`` threads, each one
SDK client with its own channel, ``--requests`` calls each, no SDK retries so every raw status is seen,
a short backoff after RESOURCE_EXHAUSTED) and prints one table:

- calls by status (only OK and RESOURCE_EXHAUSTED are expected; anything else is an "unexpected error"),
- p50/p99/max latency of the OK calls, throughput (OK calls per second of wall time),
- time to reject (client-side latency of RESOURCE_EXHAUSTED answers: p50/p99/max),
- the server's RSS after warm-up and its peak RSS (VmHWM from /proc/PID/status, the kernel's high-water mark).

With ``--drain`` a second phase keeps ``--drain-clients`` clients busy, sends SIGTERM after
``--drain-after`` seconds and reports the drain time (SIGTERM -> process exit), the outcome of every
call that was in flight or started afterwards (OK or UNAVAILABLE expected), and whether any call hung.

    SLOT_HOME=/tmp/slothome .venv/bin/python benchmarks/bench_load.py --clients 32 --requests 4 --drain \\
        --out benchmarks/results/load.json

Only 127.0.0.1 is ever contacted. The tests in tests/hardening import this module (one implementation).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESTAURANT = {"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"},
                                               "near": {"type": "string"}},
              "required": ["name", "area", "near"], "additionalProperties": False}
TEXTS = [
    "Sure! Here is the info: The Punter is a pub in the city centre near Café Sicilia.",
    "The Eagle is a coffee shop in the riverside area, close to Burger King.",
    "Located in the city centre near Raja Indian Cuisine, Zizzi serves English food.",
    "Near the Crowne Plaza Hotel in riverside you will find Browns Cambridge.",
    "Green Man is a pub by the riverside, near All Bar One.",
    "In the city centre, next to The Portland Arms, is a cheap restaurant called The Cambridge Blue.",
    "The Rice Boat, near Express by Holiday Inn, is a riverside restaurant.",
    "Wildwood is a coffee shop in the city centre near Ranch.",
]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def proc_memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB, from /proc."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


class ServerProcess:
    """``python -m slot.cli serve`` on 127.0.0.1:<port> as a child process; stderr (JSON logs) to a file."""

    def __init__(self, port: int | None = None, *, env: dict[str, str] | None = None, log_path: Path | None = None,
                 memory_limit_bytes: int | None = None, **flags: Any) -> None:
        self.port = port or free_port()
        self.memory_limit_bytes = memory_limit_bytes
        self.flags = {"host": LOOPBACK, "port": self.port, "metrics_port": 0, "http_port": 0, **flags}
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="slot-serve-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None
        self.exit_code: int | None = None

    @property
    def target(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def command(self) -> list[str]:
        args = [sys.executable, "-m", "slot.cli", "serve"]
        for name, value in self.flags.items():
            flag = "--" + name.replace("_", "-")
            if isinstance(value, bool):
                args.append(flag if value else "--no-" + name.replace("_", "-"))
            else:
                args += [flag, str(value)]
        return args

    def start(self, wait: bool = True, timeout: float = 300.0) -> "ServerProcess":
        self._log = open(self.log_path, "ab")
        limit = self.memory_limit_bytes

        def cap() -> None:  # address-space cap: a runaway allocation fails instead of waking the OOM killer
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=self._log, stderr=self._log,
                                     preexec_fn=cap if limit else None)
        if wait:
            self.wait_serving(timeout)
        return self

    def wait_serving(self, timeout: float = 300.0) -> float:
        """Seconds until the health check says SERVING; raises if the process dies or the time runs out."""
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        from slot.config import HEALTH_SERVICE_NAME

        started = time.perf_counter()
        with grpc.insecure_channel(self.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.perf_counter() - started < timeout:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}; log: {self.log_text()[-3000:]}")
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(service=HEALTH_SERVICE_NAME), timeout=1.0)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return time.perf_counter() - started
                except grpc.RpcError:
                    pass
                time.sleep(0.2)
        raise TimeoutError(f"server on {self.target} not SERVING after {timeout} s")

    def memory_kb(self) -> dict[str, int]:
        return proc_memory_kb(self.pid)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int | None:
        assert self.proc is not None
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.exit_code

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a while; always leaves no child behind."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.exit_code = self.proc.returncode
        self._log.close()

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@dataclass
class Call:
    client: int
    started: float
    ended: float
    code: str
    message: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class LoadReport:
    clients: int
    requests_per_client: int
    wall_s: float
    by_status: dict[str, int]
    ok: int
    throughput_rps: float
    latency_ok_s: dict[str, float]
    reject_s: dict[str, float]
    unexpected: list[str]
    rss_before_mb: float = 0.0
    peak_rss_mb: float = 0.0
    server_flags: dict[str, Any] = field(default_factory=dict)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]

    return {"n": len(ordered), "p50": round(pick(0.50), 4), "p99": round(pick(0.99), 4),
            "max": round(ordered[-1], 4), "mean": round(statistics.fmean(ordered), 4)}


def one_call(client: Any, index: int, text: str, max_tokens: int, timeout: float, started: float | None = None) -> Call:
    from slot.client import SlotClientError

    started = time.perf_counter() if started is None else started
    try:
        result = client.structure(text, RESTAURANT, max_tokens=max_tokens, timeout=timeout)
        code, message = "OK", result.finish_reason
    except SlotClientError as exc:
        code, message = exc.code.name, str(exc)[:200]
    return Call(index, started, time.perf_counter(), code, message)


def run_load(target: str, *, clients: int = 32, requests: int = 4, max_tokens: int = 48, timeout: float = 120.0,
             time_budget_s: float = 600.0, reject_backoff_s: float = 0.3, token: str | None = None,
             tls_kwargs: dict[str, Any] | None = None, seed: int = 7) -> tuple[list[Call], float]:
    """Each client sends ``requests`` calls (stopping early when the time budget is spent)."""
    from slot.client import RetryPolicy, SlotClient

    calls: list[Call] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)
    started = time.perf_counter()

    def worker(index: int) -> None:
        rng = random.Random(seed + index)
        with SlotClient(target, token=token, retry=RetryPolicy(attempts=1), **(tls_kwargs or {})) as client:
            barrier.wait()
            for _ in range(requests):
                if time.perf_counter() - started > time_budget_s:
                    break
                call = one_call(client, index, rng.choice(TEXTS), max_tokens, timeout)
                with lock:
                    calls.append(call)
                if call.code == "RESOURCE_EXHAUSTED":
                    time.sleep(reject_backoff_s * (0.5 + rng.random()))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(time_budget_s + timeout + 30)
    hung = sum(thread.is_alive() for thread in threads)
    if hung:
        raise RuntimeError(f"{hung} client threads still running after the time budget")
    return calls, time.perf_counter() - started


def summarize(calls: list[Call], wall_s: float, clients: int, requests: int) -> LoadReport:
    by_status = Counter(call.code for call in calls)
    ok = [call.seconds for call in calls if call.code == "OK"]
    rejects = [call.seconds for call in calls if call.code == "RESOURCE_EXHAUSTED"]
    unexpected = [f"{call.code}: {call.message}" for call in calls if call.code not in ("OK", "RESOURCE_EXHAUSTED")]
    return LoadReport(clients=clients, requests_per_client=requests, wall_s=round(wall_s, 2),
                      by_status=dict(by_status), ok=len(ok), throughput_rps=round(len(ok) / wall_s, 3) if wall_s else 0,
                      latency_ok_s=percentiles(ok), reject_s=percentiles(rejects), unexpected=unexpected)


@dataclass
class DrainReport:
    clients: int
    sigterm_after_s: float
    drain_s: float | None
    """SIGTERM -> process exit, measured by the client side."""
    server_drain_s: float | None
    """The server's own 'stopped' log line: SIGTERM -> grpc server stopped (the rest is process teardown)."""
    exit_code: int | None
    by_status: dict[str, int]
    in_flight_at_sigterm: int
    in_flight_outcomes: dict[str, int]
    hung_calls: int
    unexpected: list[str]
    longest_call_after_sigterm_s: float


def run_drain(server: ServerProcess, *, clients: int = 16, sigterm_after_s: float = 3.0, max_tokens: int = 48,
              call_timeout: float = 60.0, grace_s: float = 20.0, token: str | None = None) -> DrainReport:
    """Keep clients busy, SIGTERM the server, time the exit and classify every call (no SDK retries)."""
    from slot.client import RetryPolicy, SlotClient

    calls: list[Call] = []
    lock = threading.Lock()
    stop = threading.Event()
    open_calls: dict[int, float] = {}

    def worker(index: int) -> None:
        rng = random.Random(100 + index)
        with SlotClient(server.target, token=token, retry=RetryPolicy(attempts=1)) as client:
            while not stop.is_set():
                began = time.perf_counter()
                with lock:
                    open_calls[index] = began
                call = one_call(client, index, rng.choice(TEXTS), max_tokens, call_timeout, started=began)
                with lock:
                    open_calls.pop(index, None)
                    calls.append(call)
                if call.code != "OK":
                    time.sleep(0.2)
                if call.code == "UNAVAILABLE" and server.proc is not None and server.proc.poll() is not None:
                    return  # the server is gone: nothing more to send

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(sigterm_after_s)
    with lock:
        in_flight = dict(open_calls)
    term_at = time.perf_counter()
    server.signal(signal.SIGTERM)
    exit_code = server.wait_exit(grace_s + 30)
    drain_s = time.perf_counter() - term_at if exit_code is not None else None
    stop.set()
    for thread in threads:
        thread.join(call_timeout + 10)
    hung = sum(thread.is_alive() for thread in threads)
    flight = Counter()
    for call in calls:
        if call.client in in_flight and call.started == in_flight[call.client]:
            flight[call.code] += 1
    after = [call.ended - term_at for call in calls if call.ended >= term_at]
    expected = ("OK", "UNAVAILABLE", "RESOURCE_EXHAUSTED")
    server_drain = None
    for line in server.log_text().splitlines():
        if '"event": "stopped"' in line:
            server_drain = json.loads(line).get("drain_s")
    return DrainReport(clients=clients, sigterm_after_s=sigterm_after_s,
                       drain_s=round(drain_s, 3) if drain_s is not None else None, server_drain_s=server_drain,
                       exit_code=exit_code,
                       by_status=dict(Counter(call.code for call in calls)), in_flight_at_sigterm=len(in_flight),
                       in_flight_outcomes=dict(flight), hung_calls=hung,
                       unexpected=[f"{c.code}: {c.message}" for c in calls if c.code not in expected],
                       longest_call_after_sigterm_s=round(max(after, default=0.0), 3))


def print_table(load: LoadReport, drain: DrainReport | None) -> None:
    lat, rej = load.latency_ok_s, load.reject_s
    rows = [
        ("clients x requests", f"{load.clients} x {load.requests_per_client}"),
        ("calls by status", ", ".join(f"{k}={v}" for k, v in sorted(load.by_status.items()))),
        ("unexpected errors", str(len(load.unexpected))),
        ("wall time", f"{load.wall_s:.1f} s"),
        ("throughput (OK/s)", f"{load.throughput_rps:.2f}"),
        ("latency OK p50 / p99 / max", f"{lat['p50']:.2f} / {lat['p99']:.2f} / {lat['max']:.2f} s"),
        ("time to reject p50 / p99 / max", f"{rej['p50'] * 1000:.1f} / {rej['p99'] * 1000:.1f} / "
                                           f"{rej['max'] * 1000:.1f} ms (n={rej['n']})"),
        ("server RSS after warm-up", f"{load.rss_before_mb:.0f} MB"),
        ("server peak RSS (VmHWM)", f"{load.peak_rss_mb:.0f} MB"),
    ]
    if drain is not None:
        rows += [
            ("SIGTERM drain time", f"{drain.drain_s} s to process exit (exit code {drain.exit_code}); "
                                   f"grpc server stopped after {drain.server_drain_s} s"),
            ("calls in flight at SIGTERM", f"{drain.in_flight_at_sigterm}: "
                                           + ", ".join(f"{k}={v}" for k, v in sorted(drain.in_flight_outcomes.items()))),
            ("drain phase calls by status", ", ".join(f"{k}={v}" for k, v in sorted(drain.by_status.items()))),
            ("hung calls", str(drain.hung_calls)),
        ]
    width = max(len(name) for name, _ in rows)
    print("-" * (width + 40))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print("-" * (width + 40))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=4, help="calls per client")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--timeout", type=float, default=120.0, help="per-call deadline (s)")
    parser.add_argument("--time-budget", type=float, default=600.0, help="stop sending after this many seconds")
    parser.add_argument("--max-concurrency", type=int, default=2)
    parser.add_argument("--max-queue", type=int, default=16)
    parser.add_argument("--target", default="", help="use a running server (127.0.0.1 only; no RSS, no drain)")
    parser.add_argument("--drain", action="store_true", help="then measure the SIGTERM drain under load")
    parser.add_argument("--drain-clients", type=int, default=16)
    parser.add_argument("--drain-after", type=float, default=3.0)
    parser.add_argument("--grace", type=float, default=20.0, help="server grace period (s)")
    parser.add_argument("--out", default="", help="write the report as JSON here")
    args = parser.parse_args(argv)

    flags = {"max_concurrency": args.max_concurrency, "max_queue": args.max_queue, "grace_period_s": args.grace}
    server: ServerProcess | None = None
    if args.target:
        if not args.target.startswith(LOOPBACK + ":"):
            parser.error("--target must be 127.0.0.1:PORT")
        target = args.target
    else:
        server = ServerProcess(**flags)
        print(f"starting {' '.join(server.command())}", file=sys.stderr)
        server.start()
        target = server.target
    try:
        # warm-up: one call per text (prefix cache, grammar cache) before measuring
        from slot.client import SlotClient

        with SlotClient(target) as client:
            for text in TEXTS:
                client.structure(text, RESTAURANT, max_tokens=args.max_tokens)
        rss_before = server.memory_kb()["VmRSS"] / 1024 if server else 0.0
        calls, wall = run_load(target, clients=args.clients, requests=args.requests, max_tokens=args.max_tokens,
                               timeout=args.timeout, time_budget_s=args.time_budget)
        load = summarize(calls, wall, args.clients, args.requests)
        load.server_flags = flags
        if server:
            load.rss_before_mb = round(rss_before, 1)
            load.peak_rss_mb = round(server.memory_kb()["VmHWM"] / 1024, 1)
        drain = None
        if args.drain and server:
            drain = run_drain(server, clients=args.drain_clients, sigterm_after_s=args.drain_after,
                              max_tokens=args.max_tokens, grace_s=args.grace)
    finally:
        if server:
            server.stop()
    print_table(load, drain)
    if args.out:
        report = {"load": asdict(load), "drain": asdict(drain) if drain else None,
                  "cpu_count": os.cpu_count(), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    ok = not load.unexpected and (drain is None or (not drain.unexpected and drain.hung_calls == 0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

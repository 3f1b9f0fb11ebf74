"""`slot serve --engine vllm` as a real process on 127.0.0.1: the gRPC service on the vLLM engine."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed in this venv; `make test-vllm` runs these in .venv-vllm")

from slot.client import DeadlineExceeded, NotFound, SlotClient  # noqa: E402

from .conftest import MAX_TOKENS, dump  # noqa: E402

pytestmark = pytest.mark.vllm

LONG = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "string"}, "minItems": 200}},
        "required": ["items"]}
START_TIMEOUT_S = 420


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_serving(target: str, process: subprocess.Popen, log: Path) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + START_TIMEOUT_S
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"slot serve exited with {process.returncode}:\n{log.read_text()[-4000:]}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service="slot.v1.Slot"), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(1)
    pytest.fail(f"slot serve --engine vllm was not SERVING after {START_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def vllm_server(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("vllm-serve") / "serve.log"
    slot = Path(sys.executable).with_name("slot")
    command = [str(slot), "serve", "--engine", "vllm", "--home", settings.home, "--host", "127.0.0.1",
               "--port", str(port), "--metrics-port", "0", "--http-port", "0", "--max-concurrency", "4", "--grace-period-s", "5",
               "--vllm-max-num-seqs", "4", "--vllm-kv-cache-mb", "256", "--vllm-max-model-len", "2048"]
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=dict(os.environ))
    target = f"127.0.0.1:{port}"
    try:
        _wait_serving(target, process, log)
        yield target
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def test_grpc_service_on_the_vllm_engine(vllm_server, reference, agreement_rows):
    rows = agreement_rows[:4]
    with SlotClient(vllm_server, timeout=120) as client:
        info = client.server_info()
        assert info.engine == "vllm" and "default" in info.adapters and info.default_adapter == "default"

        with ThreadPoolExecutor(max_workers=len(rows)) as pool:  # 4 calls at once: one vLLM batch
            results = list(pool.map(lambda r: client.structure(r["input_text"], r["json_schema"],
                                                               max_tokens=MAX_TOKENS), rows))
        agree = sum(r.output == ref for r, ref in zip(results, reference("default", len(rows))))
        dump("grpc_agreement", {"agree": agree, "rows": len(rows)})
        assert all(r.valid and r.finish_reason == "stop" for r in results)
        assert agree >= len(rows) - 1
        assert all(r.usage["completion_tokens"] > 0 and r.adapter == "default" for r in results)

        events = list(client.structure_stream(rows[0]["input_text"], rows[0]["json_schema"]))
        assert "".join(events[:-1]) == events[-1].output == results[0].output

        with pytest.raises(NotFound, match="nope"):
            client.structure(rows[0]["input_text"], rows[0]["json_schema"], adapter="nope")

        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            client.structure("Fruit: apple, pear, plum.", LONG, max_tokens=400, timeout=1.5)
        assert time.monotonic() - started < 10
        after = client.structure(rows[1]["input_text"], rows[1]["json_schema"])  # the slot was freed
        assert after.valid and after.output == results[1].output

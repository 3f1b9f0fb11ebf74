"""The container command of the rendered manifest, run here with the repository's .venv, starts a server
whose gRPC health check answers SERVING (grpcio-health-checking's stub: the call the kubelet's grpc
probe makes), whose Dockerfile HEALTHCHECK and sidecar agent work against it, and which stops cleanly on
SIGTERM. The manifest's environment is used as is, except SLOT_HOST (127.0.0.1: nothing here may bind
another address), the three ports (free ones) and SLOT_THREADS (at most the cores of this machine). The
image's own environment (HOME and the caches under /tmp, hubs offline) is applied with /tmp mapped to a
temporary folder, and the model folder SLOT_HOME must come out untouched: in the pod it is read-only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from k8s_support import Rendered, container_env, dockerfile_env, exec_form, named_port, quantity, slot_servers
from slot.config import HEALTH_SERVICE_NAME, Settings, env_name
from slot.models import EMBEDDED, converted_dir

pytestmark = pytest.mark.model

STARTUP_TIMEOUT_S = 600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _executable(command: list[str]) -> list[str]:
    """The manifest's command with its program taken from this interpreter's venv (as on the image's PATH)."""
    program = Path(sys.executable).parent / command[0]
    assert program.is_file(), f"{command[0]} is not installed in {program.parent}: run `make install`"
    return [str(program), *command[1:]]


def _health(port: int, service: str) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                         timeout=5).status


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


class Served:
    def __init__(self, process: subprocess.Popen, log: Path, settings: Settings, container: dict[str, Any],
                 home_before: dict[str, tuple[int, int]]) -> None:
        self.process, self.log, self.settings, self.container = process, log, settings, container
        self.home_before = home_before

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def served(rendered: dict[str, Rendered], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    item = rendered["overlays/cpu"]
    (_, _, container), = slot_servers(item)
    command = container["command"] + container.get("args", [])
    scratch = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOT_") or k == env_name("home")}
    # The image's environment (not PATH, not its SLOT_HOME), /tmp standing for the pod's emptyDir.
    for key, value in dockerfile_env("Dockerfile").items():
        if key != "PATH" and not key.startswith("SLOT_"):
            env[key] = value.replace("/tmp", str(scratch / "tmp"))
    (scratch / "tmp").mkdir()
    env.update({k: v for k, v in container_env(item, container).items() if k != env_name("home")})
    env[env_name("host")] = "127.0.0.1"
    env[env_name("port")] = str(_free_port())
    env[env_name("metrics_port")] = str(_free_port())
    env[env_name("http_port")] = str(_free_port())
    env[env_name("threads")] = str(min(int(env[env_name("threads")]), os.cpu_count() or 1))
    settings = Settings.from_env({k: v for k, v in env.items() if k.startswith("SLOT_")})
    model_dir = converted_dir(EMBEDDED[settings.base_model], settings.home_path)
    if not (model_dir / "model.safetensors").is_file():
        pytest.fail(f"{model_dir} is not converted: run `slot model prepare` (make test does)", pytrace=False)
    log = scratch / "serve.log"
    home_before = _tree(model_dir)
    with open(log, "wb") as out:
        process = subprocess.Popen(_executable(command), env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Served(process, log, settings, container, home_before)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        status = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"`{' '.join(command)}` exited with {process.returncode}:\n{served.log_tail()}")
            try:
                status = _health(settings.port, HEALTH_SERVICE_NAME)
                if status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            time.sleep(1)
        else:
            pytest.fail(f"no SERVING within {STARTUP_TIMEOUT_S} s (last {status}):\n{served.log_tail()}")
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def test_health_answers_serving_on_the_manifest_port(served: Served) -> None:
    probe = served.container["readinessProbe"]["grpc"]
    assert probe["service"] == HEALTH_SERVICE_NAME
    for service in (probe["service"], ""):
        assert _health(served.settings.port, service) == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfile_healthcheck_passes(served: Served, dockerfile: str) -> None:
    command = exec_form(dockerfile, "HEALTHCHECK")
    assert command[0] == "python"
    env = dict(os.environ, SLOT_PORT=str(served.settings.port))
    proc = subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_metrics_port_serves_prometheus_text(served: Served) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{served.settings.metrics_port}/metrics", timeout=10) as reply:
        assert reply.status == 200
        assert b"# TYPE" in reply.read()


def test_http_port_is_ready_and_lists_the_models(served: Served) -> None:
    """The manifest's http port (the Service's `http`) serves the OpenAI-compatible API and its probes."""
    assert served.settings.http_port and named_port(served.container, "http")
    base = f"http://127.0.0.1:{served.settings.http_port}"
    with urllib.request.urlopen(f"{base}/readyz", timeout=10) as reply:
        assert reply.status == 200 and json.loads(reply.read()) == {"status": "ready"}
    with urllib.request.urlopen(f"{base}/v1/models", timeout=10) as reply:
        assert "slot" in [model["id"] for model in json.loads(reply.read())["data"]]


def test_sidecar_agent_command_structures_through_slot(served: Served, rendered: dict[str, Rendered]) -> None:
    item = rendered["examples/sidecar"]
    pod = next(d for d in item.docs if d["kind"] == "Deployment")["spec"]["template"]
    agent = next(c for c in pod["spec"]["containers"] if c["name"] == "agent")
    env = dict(os.environ, AGENT_ONCE="1", AGENT_SLOT_TARGET=f"127.0.0.1:{served.settings.port}")
    proc = subprocess.run(_executable(agent["command"]), env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert answer["valid"] is True and isinstance(answer["json"], dict)


def test_slot_home_is_only_read(served: Served) -> None:
    """In the pod SLOT_HOME (/opt/slot/home) is on the read-only root filesystem: serving writes nothing
    into the converted model (only that folder is compared: other processes here may share SLOT_HOME)."""
    model_dir = converted_dir(EMBEDDED[served.settings.base_model], served.settings.home_path)
    assert _tree(model_dir) == served.home_before


def test_peak_rss_fits_the_memory_request(served: Served) -> None:
    """After load, warm-up and the calls above, the server's peak RSS leaves the pod's memory request
    (= its limit) at least 25 % headroom (the prefix cache may still grow in a long-running pod)."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{served.process.pid}/status").read_text().splitlines())
    peak = int(status["VmHWM"].split()[0]) * 1024
    request = quantity(served.container["resources"]["requests"]["memory"])
    print(f"slot serve peak RSS {peak / 2**30:.2f} GiB, memory request {request / 2**30:.2f} GiB")
    assert peak * 1.25 <= request, f"peak RSS {peak / 2**30:.2f} GiB: raise the memory in k8s/base/deployment.yaml"


def test_sigterm_drains_and_exits_cleanly(served: Served) -> None:
    """Last in this module: what the kubelet does after the preStop hook."""
    served.process.send_signal(signal.SIGTERM)
    try:
        code = served.process.wait(served.settings.grace_period_s + 30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {served.settings.grace_period_s + 30} s after SIGTERM:\n{served.log_tail()}")
    assert code == 0, served.log_tail()
    events = [json.loads(line).get("event") for line in served.log.read_text().splitlines() if line.startswith("{")]
    assert "stopped" in events, served.log_tail()

"""Helpers of tests/k8s: where the checkers of `make tools` live, which kustomizations exist, rendering.

Nothing is skipped: a missing checker fails the test with the command that installs it. Imported by the
test modules as `k8s_support` (tests/k8s is put on sys.path by its conftest.py).
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from slot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
TOOLS_BIN = ROOT / ".tools" / "bin"


def tool(name: str) -> Path:
    """A checker installed by `make tools` into .tools/bin (fails, never skips, when it is missing)."""
    path = TOOLS_BIN / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{path} is missing: run `make tools` (installs requirements-tools.txt into .tools/)",
                    pytrace=False)
    return path


def tool_env() -> dict[str, str]:
    """The environment for the checkers: offline, no telemetry, no colour codes in the output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "CKV_"))}
    env.update({"NO_COLOR": "1", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "WARNING"})
    return env


def kind_of(directory: Path) -> str:
    return yaml.safe_load((directory / "kustomization.yaml").read_text()).get("kind", "Kustomization")


def kustomization_dirs() -> list[str]:
    """Every renderable kustomization under k8s/ (components render only through an overlay)."""
    found = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
    return [str(d.relative_to(K8S)) for d in found if kind_of(d) == "Kustomization"]


def component_dirs() -> list[str]:
    found = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
    return [str(d.relative_to(K8S)) for d in found if kind_of(d) == "Component"]


@dataclass
class Rendered:
    """The output of `kubectl kustomize k8s/<name>`."""

    name: str
    path: Path
    error: str = ""
    docs: list[dict[str, Any]] = field(default_factory=list)

    def ok(self) -> "Rendered":
        if self.error:
            pytest.fail(f"kubectl kustomize k8s/{self.name} failed:\n{self.error}", pytrace=False)
        return self

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.ok().docs if d.get("kind") == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.of_kind(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"k8s/{self.name}: expected one {kind} {name or ''}, found {len(found)}"
        return found[0]


def render(name: str, out_dir: Path) -> Rendered:
    """`kubectl kustomize k8s/<name>` into out_dir/<name with _>.yaml."""
    path = out_dir / (name.replace("/", "_") + ".yaml")
    proc = subprocess.run([str(tool("kubectl")), "kustomize", str(K8S / name)], capture_output=True, text=True,
                          env=tool_env(), timeout=120)
    item = Rendered(name, path)
    if proc.returncode != 0:
        item.error = proc.stderr.strip() or f"exit code {proc.returncode}"
    else:
        path.write_text(proc.stdout)
        item.docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return item


# ---------------------------------------------------------------- reading the manifests and Dockerfiles

DOCKERFILES = ("Dockerfile", "Dockerfile.gpu")
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def dockerfile_instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in (ROOT / name).read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if current and line.lstrip().startswith("#"):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        logical.append(current.strip())
        current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text else "") for text in logical]


def final_stage(name: str) -> list[tuple[str, str]]:
    """The instructions of the last stage (the image that runs)."""
    instructions = dockerfile_instructions(name)
    start = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[start:]


def dockerfile_env(name: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for op, args in final_stage(name):
        if op == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def exec_form(name: str, instruction: str) -> list[str]:
    found = [args for op, args in final_stage(name) if op == instruction]
    assert len(found) == 1, f"{name}: expected one {instruction} in the final stage"
    args = found[0]
    if instruction == "HEALTHCHECK":
        assert " CMD " in f" {args} ", f"{name}: HEALTHCHECK without CMD"
        args = args.split("CMD", 1)[1].strip()
    return json.loads(args)


def pod_specs(item: Rendered) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, pod template) of every workload in a rendering."""
    for doc in item.ok().docs:
        if doc["kind"] in WORKLOADS:
            yield doc, doc["spec"]["template"]


def all_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return pod["spec"].get("initContainers", []) + pod["spec"]["containers"]


def slot_servers(item: Rendered) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(workload, pod template, container) for every container that runs `slot serve`."""
    return [(w, pod, c) for w, pod in pod_specs(item) for c in all_containers(pod)
            if c.get("command", [])[:2] == ["slot", "serve"]]


def quantity(value: str) -> float:
    """A Kubernetes quantity (cpu or memory) as a number of units (cores or bytes)."""
    suffixes = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value))
    assert match, value
    return float(match.group(1)) * suffixes.get(match.group(2), 1)


def container_env(item: Rendered, container: dict[str, Any]) -> dict[str, str]:
    """The environment the container gets: envFrom ConfigMaps, then env (resourceFieldRef resolved)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, f"unexpected envFrom {source}"
        env.update(item.one("ConfigMap", source["configMapRef"]["name"]).get("data", {}))
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "resourceFieldRef" in var.get("valueFrom", {}):
            ref = var["valueFrom"]["resourceFieldRef"]
            assert ref.get("containerName", container["name"]) == container["name"]
            kind, resource = ref["resource"].split(".", 1)
            amount = quantity(container["resources"][kind][resource]) / quantity(ref.get("divisor", "1"))
            env[var["name"]] = str(math.ceil(amount))
    return env


def server_settings(item: Rendered, container: dict[str, Any]) -> Settings:
    """The Settings `slot serve` builds from this container's environment (as in slot/config.py)."""
    return Settings.from_env(container_env(item, container))


def named_port(container: dict[str, Any], name: str) -> int:
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    assert name in ports, f"container {container['name']} has no port named {name!r}: {ports}"
    return ports[name]

"""The deployment files pass the checkers a cluster would never run for us: kubectl kustomize renders
every kustomization, kubernetes-validate (offline OpenAPI schemas, strict) accepts every rendered
document, checkov passes on the rendered manifests and both Dockerfiles, hadolint passes on both
Dockerfiles. The tools come from `make tools` (.tools/bin); nothing is skipped when they are missing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from k8s_support import K8S, ROOT, Rendered, component_dirs, kustomization_dirs, tool, tool_env

# Oldest and newest Kubernetes versions the manifests are written for (native sidecars, Job
# backoffLimitPerIndex and the preStop sleep action are all on by default from 1.33).
K8S_VERSIONS = ("1.33.0", "1.37.0")
# Custom resources whose schema is not in Kubernetes' OpenAPI: checked by hand in test_consistency.py.
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
EXPECTED_KUSTOMIZATIONS = {"base", "overlays/cpu", "overlays/gpu", "overlays/production", "examples/sidecar",
                           "jobs/common", "jobs/synth", "jobs/train"}
DOCKERFILES = ("Dockerfile", "Dockerfile.gpu")


def test_every_expected_kustomization_exists() -> None:
    assert EXPECTED_KUSTOMIZATIONS <= set(kustomization_dirs())
    assert {"components/tls", "components/servicemonitor"} <= set(component_dirs())


@pytest.mark.parametrize("name", kustomization_dirs())
def test_kustomize_renders(rendered: dict[str, Rendered], name: str) -> None:
    item = rendered[name].ok()
    assert item.docs, f"k8s/{name} rendered no document"
    for doc in item.docs:
        assert doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"), doc


def test_every_component_is_rendered_by_some_overlay() -> None:
    """A component is only checked through an overlay that uses it: each one must be used."""
    used: set[Path] = set()
    for name in kustomization_dirs():
        spec = yaml.safe_load((K8S / name / "kustomization.yaml").read_text())
        used |= {(K8S / name / c).resolve() for c in spec.get("components", [])}
    for name in component_dirs():
        assert (K8S / name).resolve() in used, f"k8s/{name} is not used by any kustomization, so never checked"


def _validate(paths: list[Path], version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tool("kubernetes-validate")), "--strict", "--kubernetes-version", version,
                           *map(str, paths)], capture_output=True, text=True, env=tool_env(), timeout=300)


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("name", kustomization_dirs())
def test_rendered_documents_validate(rendered: dict[str, Rendered], name: str, version: str) -> None:
    item = rendered[name].ok()
    proc = _validate([item.path], version)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    problems = []
    for line in lines:
        if line.startswith("INFO") and " passed for resource " in line:
            continue
        unknown = re.search(r"Couldn't find schema for kind (\S+) with api version (\S+) ", line)
        if line.startswith("WARN") and unknown and (unknown.group(2), unknown.group(1)) in CRD_KINDS:
            continue
        problems.append(line)
    assert proc.returncode == 0 and not problems, f"k8s/{name} against Kubernetes {version}:\n" + "\n".join(
        problems or lines)
    builtin = [d for d in item.docs if (d["apiVersion"], d["kind"]) not in CRD_KINDS]
    passed = sum(" passed for resource " in line for line in lines)
    assert passed == len(builtin), f"validated {passed} of {len(builtin)} documents:\n" + "\n".join(lines)


def test_validation_is_strict(tmp_path: Path) -> None:
    """The validator really rejects an unknown field and a wrong type (so a pass above means something)."""
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
           "spec": {"ports": [{"port": "not-a-number", "protokol": "TCP"}]}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    proc = _validate([path], K8S_VERSIONS[-1])
    assert proc.returncode != 0, proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def checkov_report(rendered: dict[str, Rendered], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """One checkov run over every rendered kustomization and both Dockerfiles (k8s/checkov.yaml config)."""
    scan = tmp_path_factory.mktemp("checkov")
    for name in kustomization_dirs():
        shutil.copy(rendered[name].ok().path, scan / rendered[name].path.name)
    for dockerfile in DOCKERFILES:
        target = scan / dockerfile.replace(".", "_")
        target.mkdir()
        shutil.copy(ROOT / dockerfile, target / "Dockerfile")
    proc = subprocess.run([str(tool("checkov")), "--config-file", str(K8S / "checkov.yaml"), "--directory",
                           str(scan), "--output", "json", "--skip-download", "--compact"],
                          capture_output=True, text=True, env=tool_env(), timeout=600, cwd=scan)
    try:
        reports = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no JSON (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    reports = reports if isinstance(reports, list) else [reports]
    return {r["check_type"]: r for r in reports}


def _failures(report: dict, file_name: str) -> list[str]:
    return [f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in report["results"]["failed_checks"]
            if Path(f["file_path"]).name == file_name or Path(f["file_path"]).parent.name == file_name]


@pytest.mark.parametrize("name", kustomization_dirs())
def test_checkov_passes_on_manifests(checkov_report: dict[str, dict], rendered: dict[str, Rendered],
                                     name: str) -> None:
    report = checkov_report.get("kubernetes")
    assert report, f"checkov ran no kubernetes checks: {list(checkov_report)}"
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    failures = _failures(report, rendered[name].path.name)
    assert not failures, f"checkov on k8s/{name}:\n" + "\n".join(failures)
    scanned = {Path(r["file_path"]).name for r in report["results"]["passed_checks"]}
    assert rendered[name].path.name in scanned, f"checkov did not scan k8s/{name}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_checkov_passes_on_dockerfile(checkov_report: dict[str, dict], dockerfile: str) -> None:
    report = checkov_report.get("dockerfile")
    assert report, f"checkov ran no dockerfile checks: {list(checkov_report)}"
    folder = dockerfile.replace(".", "_")
    failures = _failures(report, folder)
    assert not failures, f"checkov on {dockerfile}:\n" + "\n".join(failures)
    scanned = {Path(r["file_path"]).parent.name for r in report["results"]["passed_checks"]}
    assert folder in scanned, f"checkov did not scan {dockerfile}"


def test_checkov_skips_are_justified() -> None:
    """Every globally skipped check has a comment right above it; every per-resource skip a reason."""
    lines = (K8S / "checkov.yaml").read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"\s*-\s*CKV", line):
            assert index > 0 and lines[index - 1].strip().startswith("#"), f"k8s/checkov.yaml: {line.strip()} " \
                                                                           "has no justification comment above it"
    for path in K8S.rglob("*.yaml"):
        for match in re.finditer(r"checkov\.io/skip\d+:\s*(\S+)", path.read_text()):
            check, _, reason = match.group(1).partition("=")
            assert check.startswith("CKV") and reason.strip(), f"{path}: skip {check} without a reason"


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_hadolint_passes(dockerfile: str) -> None:
    proc = subprocess.run([str(tool("hadolint")), "--no-color", "--failure-threshold", "info",
                           str(ROOT / dockerfile)], capture_output=True, text=True, env=tool_env(), timeout=120)
    assert proc.returncode == 0, f"hadolint {dockerfile}:\n{proc.stdout}{proc.stderr}"


def test_hadolint_catches_problems(tmp_path: Path) -> None:
    """hadolint really fails on a bad Dockerfile (unpinned image, root user, apt without cleanup)."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get update && apt-get install -y curl\n")
    proc = subprocess.run([str(tool("hadolint")), "--no-color", str(bad)], capture_output=True, text=True,
                          env=tool_env(), timeout=120)
    assert proc.returncode != 0 and "DL3006" in proc.stdout, proc.stdout


def test_checkov_catches_problems(tmp_path: Path) -> None:
    """checkov, run the same way, really fails a privileged root pod (so a pass above means something)."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "slot"},
           "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
                                    "securityContext": {"privileged": True, "runAsUser": 0}}]}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(pod))
    proc = subprocess.run([str(tool("checkov")), "--config-file", str(K8S / "checkov.yaml"), "--directory",
                           str(tmp_path), "--output", "json", "--skip-download", "--compact"],
                          capture_output=True, text=True, env=tool_env(), timeout=600, cwd=tmp_path)
    report = json.loads(proc.stdout)
    report = report[0] if isinstance(report, list) else report
    assert proc.returncode != 0
    assert "CKV_K8S_16" in {f.split()[0] for f in _failures(report, "bad.yaml")}  # privileged container

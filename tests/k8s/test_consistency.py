"""The manifests and Dockerfiles say what the server really does: every SLOT_* name is a Settings field, the
ports and the health service name are the ones slot.config gives the server for that environment, the
container command is the image's ENTRYPOINT, and the selectors, probes and Job shards fit together.
All values come from slot.config (never copied here).
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from k8s_support import (DOCKERFILES, K8S, ROOT, Rendered, all_containers, container_env, dockerfile_env,
                         dockerfile_instructions, exec_form, final_stage, kustomization_dirs, named_port, pod_specs,
                         quantity, server_settings, slot_servers)
from slot.config import HEALTH_SERVICE_NAME, Settings, env_name

SETTING_VARS = {env_name(f.name) for f in fields(Settings)}
SLOT_VAR = re.compile(r"\bSLOT_[A-Z0-9_]+\b")


SERVER_RENDERINGS = [n for n in kustomization_dirs() if n.startswith(("base", "overlays/", "examples/"))]


# ---------------------------------------------------------------- names

def test_setting_vars_come_from_settings() -> None:
    assert env_name("port") in SETTING_VARS and env_name("host") in SETTING_VARS


def test_unknown_slot_var_is_detected() -> None:
    assert set(SLOT_VAR.findall("SLOT_PORT=1 SLOT_NOT_A_SETTING=2")) - SETTING_VARS == {"SLOT_NOT_A_SETTING"}


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in K8S.rglob("*") if p.is_file())
                         + list(DOCKERFILES))
def test_every_slot_var_in_the_sources_is_a_setting(path: str) -> None:
    unknown = set(SLOT_VAR.findall((ROOT / path).read_text())) - SETTING_VARS
    assert not unknown, f"{path} names SLOT_* variables that slot.config.Settings does not read: {sorted(unknown)}"


@pytest.mark.parametrize("name", kustomization_dirs())
def test_every_env_name_in_rendered_manifests_is_a_setting(rendered: dict[str, Rendered], name: str) -> None:
    item = rendered[name].ok()
    names = set()
    for doc in item.of_kind("ConfigMap"):
        names |= set(doc.get("data", {}))
    for _, pod in pod_specs(item):
        for container in all_containers(pod):
            names |= {v["name"] for v in container.get("env", [])}
    unknown = {n for n in names if n.startswith("SLOT_")} - SETTING_VARS
    assert not unknown, f"k8s/{name}: {sorted(unknown)} are not Settings fields"


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_env_is_valid_settings(dockerfile: str) -> None:
    env = dockerfile_env(dockerfile)
    slot_env = {k: v for k, v in env.items() if k.startswith("SLOT_")}
    assert set(slot_env) <= SETTING_VARS, set(slot_env) - SETTING_VARS
    settings = Settings.from_env(slot_env)
    assert settings.host == "0.0.0.0", "a container must listen on all interfaces"
    assert settings.home == "/opt/slot/home", "the model is baked into SLOT_HOME=/opt/slot/home at build time"
    build_home = [args for op, args in dockerfile_instructions(dockerfile) if op == "ENV" and "SLOT_HOME=" in args]
    assert all("SLOT_HOME=/opt/slot/home" in args for args in build_home), "build and runtime SLOT_HOME differ"
    exposed = {int(p.split("/")[0]) for op, args in final_stage(dockerfile) if op == "EXPOSE" for p in args.split()}
    assert exposed == {settings.port, settings.http_port, settings.metrics_port}


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_runs_slot_serve_as_numeric_non_root(dockerfile: str) -> None:
    assert exec_form(dockerfile, "ENTRYPOINT") == ["slot", "serve"]
    users = [args for op, args in final_stage(dockerfile) if op == "USER"]
    assert users, f"{dockerfile}: no USER in the final stage"
    uid_arg = [args for op, args in final_stage(dockerfile) if op == "ARG" and args.startswith("APP_UID=")]
    uid = users[-1].split(":")[0]
    if uid == "${APP_UID}":
        uid = uid_arg[0].split("=", 1)[1]
    assert uid.isdigit() and int(uid) >= 10000, f"{dockerfile}: USER must be a numeric high UID, got {uid}"
    healthcheck = exec_form(dockerfile, "HEALTHCHECK")
    assert f"'{HEALTH_SERVICE_NAME}'" in healthcheck[-1], "HEALTHCHECK must check the server's health service"
    assert "os.environ.get('SLOT_PORT', '" + str(Settings().port) + "')" in healthcheck[-1]


def test_gpu_image_and_overlay_select_vllm(rendered: dict[str, Rendered]) -> None:
    assert Settings.from_env({"SLOT_ENGINE": dockerfile_env("Dockerfile.gpu")["SLOT_ENGINE"]}).engine == "vllm"
    item = rendered["overlays/gpu"]
    (_, pod, container), = slot_servers(item)
    assert server_settings(item, container).engine == "vllm"
    assert container["image"].startswith("slot-gpu")
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["spec"]["tolerations"] and pod["spec"]["nodeSelector"]


# ---------------------------------------------------------------- the server's pods

@pytest.mark.parametrize("name", SERVER_RENDERINGS)
def test_server_container_matches_settings(rendered: dict[str, Rendered], name: str) -> None:
    item = rendered[name]
    servers = slot_servers(item)
    assert servers, f"k8s/{name} runs no `slot serve` container"
    for workload, pod, container in servers:
        settings = server_settings(item, container)
        assert settings.host == "0.0.0.0", "the kubelet's probes dial the pod IP: SLOT_HOST must be 0.0.0.0"
        assert container["command"] == exec_form("Dockerfile", "ENTRYPOINT"), "manifest and image disagree"
        assert named_port(container, "grpc") == settings.port
        assert settings.http_port and named_port(container, "http") == settings.http_port
        assert named_port(container, "metrics") == settings.metrics_port
        assert int(container_env(item, container)["SLOT_THREADS"]) >= 1
        annotations = pod["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true"
        assert int(annotations["prometheus.io/port"]) == settings.metrics_port
        # Probes: startup (model load), readiness and liveness all ask the health service for SLOT.
        for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = container.get(probe_name)
            assert probe, f"k8s/{name}: {probe_name} missing"
            if "grpc" in probe:
                assert probe["grpc"] == {"port": settings.port, "service": HEALTH_SERVICE_NAME}, probe
            else:  # exec probe (TLS): the same Health/Check call from inside the pod
                script = " ".join(probe["exec"]["command"])
                assert f"127.0.0.1:{settings.port}" in script and f'"{HEALTH_SERVICE_NAME}"' in script, script
                assert settings.tls_cert_file, "exec probes are only for the TLS variant"
        startup = container["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 240, "model load needs minutes of budget"
        # SIGTERM drain fits in the termination grace period (preStop sleep runs before SIGTERM).
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        assert pod["spec"]["terminationGracePeriodSeconds"] > pre_stop + settings.grace_period_s
        if container in pod["spec"].get("initContainers", []):
            assert container.get("restartPolicy") == "Always", "an init container server must be a native sidecar"


@pytest.mark.parametrize("name", kustomization_dirs())
def test_pods_are_hardened(rendered: dict[str, Rendered], name: str) -> None:
    for workload, pod in pod_specs(rendered[name]):
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec.get("automountServiceAccountToken") is False
        service_account = spec["serviceAccountName"]
        assert rendered[name].one("ServiceAccount", service_account)["automountServiceAccountToken"] is False
        writable = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v or "persistentVolumeClaim" in v}
        for container in all_containers(pod):
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"] and sc["runAsNonRoot"] is True
            assert isinstance(sc["runAsUser"], int) and sc["runAsUser"] >= 10000
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert mounts.get("/tmp") in writable, f"{container['name']}: /tmp must be an emptyDir"
            resources = container["resources"]
            assert resources["requests"]["memory"] == resources["limits"]["memory"] or container["name"] in (
                "synth", "merge"), f"{container['name']}: memory request != limit"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind])


def test_server_memory_is_sized_above_the_measured_peak(rendered: dict[str, Rendered]) -> None:
    """Requests come from the measured RSS stated in the docs' deployment page."""
    page = (K8S.parent / "docs" / "deployment.md").read_text()
    measured = re.search(r"peak RSS[^0-9]*([0-9.]+) GiB", page)
    assert measured, "docs/deployment.md must state the measured peak RSS of slot serve"
    for name in ("overlays/cpu", "examples/sidecar"):
        for _, _, container in slot_servers(rendered[name]):
            assert quantity(container["resources"]["requests"]["memory"]) >= 1.25 * float(measured.group(1)) * 2**30


@pytest.mark.parametrize("name", [n for n in SERVER_RENDERINGS if not n.startswith("examples/")])
def test_service_networkpolicy_pdb_hpa_fit_the_deployment(rendered: dict[str, Rendered], name: str) -> None:
    item = rendered[name]
    (deployment, pod, container), = slot_servers(item)
    settings = server_settings(item, container)
    labels = pod["metadata"]["labels"]
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    service = item.one("Service", "slot")
    assert service["spec"]["selector"].items() <= labels.items()
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert ports["grpc"]["port"] == settings.port and ports["grpc"]["appProtocol"] == "grpc"
    assert ports["http"]["port"] == settings.http_port and ports["http"]["appProtocol"] == "http"
    assert ports["metrics"]["port"] == settings.metrics_port
    for port in ports.values():
        named_port(container, port["targetPort"])
    policy = item.one("NetworkPolicy", "slot")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    rules = policy["spec"]["ingress"]
    grpc_rule = next(r for r in rules if {"port": "grpc", "protocol": "TCP"} in r["ports"])
    assert grpc_rule["from"] == [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"slot.io/client": "true"}}}]
    http_rule = next(r for r in rules if {"port": "http", "protocol": "TCP"} in r["ports"])
    assert http_rule["from"] == grpc_rule["from"], "the HTTP API admits the same clients as gRPC"
    metrics_rule = next(r for r in rules if {"port": "metrics", "protocol": "TCP"} in r["ports"])
    assert metrics_rule["from"][0]["namespaceSelector"]["matchLabels"]
    for rule in rules:
        for port in rule["ports"]:
            named_port(container, port["port"])
    pdb = item.one("PodDisruptionBudget", "slot")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = item.one("HorizontalPodAutoscaler", "slot")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": deployment["metadata"]["name"]}
    assert hpa["spec"]["minReplicas"] >= 1 and hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert {c["topologyKey"] for c in pod["spec"]["topologySpreadConstraints"]} >= {"kubernetes.io/hostname"}
    for monitor in item.of_kind("ServiceMonitor"):
        assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= set(ports)


def test_tls_component_mounts_the_secret_the_settings_name(rendered: dict[str, Rendered]) -> None:
    item = rendered["overlays/production"]
    (_, pod, container), = slot_servers(item)
    settings = server_settings(item, container)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    tls_dir = mounts["tls"]
    assert volumes["tls"]["secret"]["secretName"] == "slot-tls"
    assert Path(settings.tls_cert_file) == Path(tls_dir) / "tls.crt"
    assert Path(settings.tls_key_file) == Path(tls_dir) / "tls.key"
    script = container["readinessProbe"]["exec"]["command"][-1]
    assert f"{tls_dir}/ca.crt" in script
    assert len(item.of_kind("ServiceMonitor")) == 1


def test_sidecar_agent_talks_to_slot_over_localhost(rendered: dict[str, Rendered]) -> None:
    item = rendered["examples/sidecar"]
    (_, pod, slot), = slot_servers(item)
    agent = next(c for c in pod["spec"]["containers"] if c["name"] == "agent")
    target = {v["name"]: v["value"] for v in agent["env"]}["AGENT_SLOT_TARGET"]
    assert target == f"localhost:{server_settings(item, slot).port}"
    assert slot in pod["spec"]["initContainers"] and slot["restartPolicy"] == "Always"


# ---------------------------------------------------------------- jobs

def test_indexed_synthesis_job_shards_match_completions(rendered: dict[str, Rendered]) -> None:
    from data_synthesis.cli import build_parser

    (job, pod), = pod_specs(rendered["jobs/synth"])
    assert job["spec"]["completionMode"] == "Indexed"
    container, = pod["spec"]["containers"]
    assert container["command"] == ["python", "-m", "data_synthesis"]
    env = {v["name"]: v for v in container["env"]}
    assert env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    args = build_parser().parse_args([a.replace("$(JOB_COMPLETION_INDEX)", "3") for a in container["args"]])
    assert args.command == "generate"
    assert args.num_shards == job["spec"]["completions"]
    assert args.shard_index == 3 and args.out == "/data/shard-3"
    assert "/data" in {m["mountPath"] for m in container["volumeMounts"]}


def test_training_job_merges_every_shard_and_trains(rendered: dict[str, Rendered]) -> None:
    from data_synthesis.cli import build_parser
    from slot.cli import build_parser as slot_parser

    (synth_job, _), = pod_specs(rendered["jobs/synth"])
    (_, pod), = pod_specs(rendered["jobs/train"])
    merge, = pod["spec"]["initContainers"]
    merge_args = build_parser().parse_args(merge["args"])
    shards = [f"/data/shard-{i}" for i in range(synth_job["spec"]["completions"])]
    assert merge_args.command == "merge" and merge_args.inputs == shards
    train, = pod["spec"]["containers"]
    assert train["command"] == ["slot", "train"]
    argv = ["train", *train["args"]]
    args = slot_parser(argv).parse_args(argv)
    assert [str(p) for p in args.data] == [f"{merge_args.out}/train.jsonl"]
    assert str(args.val) == f"{merge_args.out}/validation.jsonl"
    assert str(args.out).startswith("/data/") and str(args.checkpoint_dir).startswith("/data/") and args.resume


# ---------------------------------------------------------------- build context

def _dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins; a pattern matching a parent matches."""
    import fnmatch

    candidates = [path] + [str(Path(*Path(path).parts[:i])) for i in range(1, len(Path(path).parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatchcase(c, pattern) or (pattern.startswith("**/") and fnmatch.fnmatchcase(c, pattern[3:]))
               for c in candidates):
            ignored = not negated
    return ignored


def test_dockerignore_sends_what_the_dockerfiles_copy_and_nothing_big() -> None:
    import subprocess

    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for dockerfile in DOCKERFILES:
        for op, args in dockerfile_instructions(dockerfile):
            if op != "COPY" or args.startswith("--from"):
                continue
            for source in args.split()[:-1]:
                if "*" in source:
                    continue
                assert (ROOT / source).exists(), f"{dockerfile} copies {source}, which does not exist"
                files = [f for f in tracked if f == source or f.startswith(source + "/")]
                assert files, source
                sent = [f for f in files if not _dockerignored(f, patterns) or "__pycache__" in f]
                assert sent == files, f"{dockerfile} copies {source} but .dockerignore drops {set(files) - set(sent)}"
    for heavy in (".venv/bin/python", ".tools/bin/checkov", ".git/HEAD", "tests/conftest.py", "slot/__pycache__/x.pyc"):
        assert _dockerignored(heavy, patterns), f".dockerignore lets {heavy} into the build context"
    assert not _dockerignored("README.md", patterns)

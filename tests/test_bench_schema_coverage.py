"""benchmarks/bench_schema_coverage.py on a tiny corpus in SchemaStore's layout (tests/data/schema_coverage/):
SLOT's path (relaxed and strict) and plain llguidance side by side, closed-object refusals apart, nothing from
../shared."""

from __future__ import annotations

import json

import pytest

from tests.conftest import DATA

pytestmark = pytest.mark.model

CORPUS = DATA / "schema_coverage"


@pytest.fixture(scope="module")
def report(benchmark_module, tmp_path_factory):
    bench = benchmark_module("bench_schema_coverage")
    out = tmp_path_factory.mktemp("coverage") / "coverage.json"
    assert bench.main(["--root", str(CORPUS), "--out", str(out), "--no-kubernetes", "--quiet"]) == 0
    assert out.with_suffix(".md").is_file()
    return json.loads(out.read_text(encoding="utf-8"))


def test_the_numbers_of_each_schema(report):
    source = report["sources"]["schemastore"]
    rows = {row["name"]: row for row in source["schemas"]}
    person, tags, choice, keys = rows["person"], rows["tags"], rows["choice"], rows["keys"]
    # person: 4 valid instances read (JSON and YAML; TOML skipped); the one with an extra key is refused by the
    # closed grammar only; `40.0` is written as the grammar writes it (`40`)
    assert person["slot"] == "accepted" and person["skipped_instances"] == 1
    assert (person["valid"], person["valid_accepted"], person["valid_closed_refused"]) == (4, 3, 1)
    assert person["valid_refused"] == [] and person["served"] and person["closed_objects"] == 1
    assert person["invalid"] == person["invalid_grammar_rejected"] == person["invalid_rejected"] == 2
    assert person["plain"]["status"] == "accepted" and person["plain"]["valid_accepted"] == 4
    # tags: the grammar leaves uniqueItems to post-validation, which rejects the repeated item
    assert tags["slot"] == "accepted" and tags["valid_accepted"] == 1
    assert (tags["invalid_grammar_rejected"], tags["invalid_rejected"], tags["invalid_passed"]) == (0, 1, [])
    assert tags["plain"]["status"] == "refused" and tags["lenient"]["status"] == "accepted"
    assert tags["lenient"]["invalid_rejected"] == 0  # plain lenient llguidance lets the repeated item through
    # choice: overlapping oneOf branches, served relaxed (anyOf in the grammar, oneOf post-checked: the instance
    # matching both branches gets past the grammar, not past post-validation); refused by a strict request and by
    # strict llguidance
    assert choice["slot"] == "accepted" and choice["slot_relaxed"] == ["oneOf"]
    assert choice["served"] and not choice["strict_served"] and choice["valid_accepted"] == choice["valid"] == 2
    assert (choice["invalid_grammar_rejected"], choice["invalid_rejected"], choice["invalid_passed"]) == (0, 1, [])
    assert choice["plain"]["status"] == "refused" and choice["lenient"]["status"] == "accepted"
    # keys: overlapping patternProperties, which not even the lenient grammar can build: the grammar's document
    # leaves the second regex out (slot.grammar.rewrites), served relaxed, naming it; plain llguidance refuses it
    assert (keys["slot"], keys["slot_relaxed"]) == ("accepted", ["patternProperties"]) and keys["served"]
    assert not keys["strict_served"] and keys["lenient"]["status"] == "refused"
    assert person["strict_served"] and tags["strict_served"] and not person["slot_relaxed"]


def test_the_summary_and_the_report(report):
    summary = report["sources"]["schemastore"]["summary"]
    slot, plain, lenient = summary["slot"], summary["plain_llguidance"], summary["plain_llguidance_lenient"]
    strict = summary["slot_strict"]
    assert (summary["schemas"], summary["skipped_instances"]) == (4, 1)
    assert (slot["accepted"], slot["served"], slot["served_without_closed_refusals"]) == (4, 4, 3)
    assert (slot["served_relaxed"], slot["relaxed_keywords"]) == (2, {"oneOf": 1, "patternProperties": 1})
    assert (strict["accepted"], strict["served"]) == (2, 2)
    assert (slot["valid_instances"], slot["valid_accepted"], slot["valid_closed_object_refusals"]) == (8, 7, 1)
    assert (slot["invalid_instances"], slot["invalid_rejected_grammar_or_post"], slot["invalid_passing_both"]) == \
        (4, 4, [])
    assert (strict["invalid_instances"], strict["invalid_rejected_grammar_or_post"]) == (3, 3)
    assert slot["refusals"] == {} and slot["refused_prompt_too_long"] == 0
    assert slot["served_prompt_renderings"] == {"full": 4, "compact": 0, "skeleton": 0}  # small schemas: in full
    assert report["settings"]["max_prompt_tokens"] == 6144
    assert slot["compile_ms"]["p50"] is not None and slot["compile_ms"]["max"] >= slot["compile_ms"]["p95"]
    assert (plain["accepted"], lenient["accepted"]) == (1, 3)
    assert report["sources"]["kubernetes"]["available"] is False
    assert {"date", "commit", "cpu", "cores"} <= report["machine"].keys()


def test_a_missing_corpus_is_a_clear_message_not_a_traceback(benchmark_module, tmp_path, capsys):
    bench = benchmark_module("bench_schema_coverage")
    assert bench.main(["--root", str(tmp_path / "nowhere")]) == 2
    assert "no SchemaStore data at" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tight_report(benchmark_module, tmp_path_factory):
    """The same corpus with a prompt budget of 100 tokens (SLOT_MAX_PROMPT_TOKENS, as the server reads it): the
    instructions alone take 68, so the schemas' renderings decide (person: 132 in full, 100 even as a skeleton;
    choice: 85 in full, 81 as a skeleton; tags and keys: 87 and 97, which no rendering makes smaller)."""
    bench = benchmark_module("bench_schema_coverage")
    out = tmp_path_factory.mktemp("coverage_tight") / "coverage.json"
    with pytest.MonkeyPatch.context() as patch:  # this run only: the other fixture keeps the defaults
        patch.setenv("SLOT_MAX_PROMPT_TOKENS", "100")
        assert bench.main(["--root", str(CORPUS), "--out", str(out), "--no-kubernetes", "--quiet"]) == 0
    return json.loads(out.read_text(encoding="utf-8")), out.with_suffix(".md").read_text(encoding="utf-8")


def test_a_schema_whose_prompt_does_not_fit_is_not_served(tight_report):
    report, text = tight_report
    assert report["settings"]["max_prompt_tokens"] == 100
    rows = {row["name"]: row for row in report["sources"]["schemastore"]["schemas"]}
    person, choice, tags = rows["person"], rows["choice"], rows["tags"]
    # person's grammar is fine, but its prompt leaves no room for a text: refused before the grammar, as
    # ValidateSchema refuses it
    assert (person["slot"], person["served"], person["slot_compile_ms"]) == ("prompt_too_long", False, None)
    assert "prompt budget of 100 tokens" in person["slot_reason"]
    assert (choice["slot"], choice["slot_prompt"], choice["slot_prompt_depth"]) == ("accepted", "skeleton", 1)
    assert choice["served"] and choice["slot_prompt_tokens"] < 100
    assert (tags["slot_prompt"], tags["slot_prompt_depth"]) == ("full", None) and tags["served"]
    slot = report["sources"]["schemastore"]["summary"]["slot"]
    assert (slot["accepted"], slot["served"], slot["refused_prompt_too_long"]) == (3, 3, 1)
    assert slot["refusals"] == {"prompt_too_long:-": 1}
    assert slot["served_prompt_renderings"] == {"full": 2, "compact": 0, "skeleton": 1}
    assert slot["served_skeleton_depths"] == {"1": 1}
    assert "refused as too long even as a skeleton: 1" in text and "its skeleton 1 (cut at depth: 1: 1)" in text


def _kubernetes_folder(root, version: str = "v1.37.0") -> None:
    """A folder laid out like kubernetes-validate's ``<version>-local-strict/``: two per-type schemas whose
    ``$ref`` names ``/api/_definitions.json`` (resolved against their ``$id``), the definitions, and ``all.json``."""
    folder = root / f"{version}-local-strict"
    folder.mkdir(parents=True)
    schema = "https://json-schema.org/draft/2020-12/schema"
    definitions = {"$id": "https://kubernetes.io/api/_definitions.json", "$schema": schema, "$defs": {
        "io.k8s.api.core.v1.PodSpec": {"type": "object", "additionalProperties": False,
                                       "properties": {"hostname": {"type": "string"}}},
        "io.k8s.api.core.v1.Pod": {"type": "object", "additionalProperties": False,
                                   "properties": {"spec": {"$ref": "#/$defs/io.k8s.api.core.v1.PodSpec"}}}}}
    types = {
        "pod-v1": {"$id": "https://kubernetes.io/api/pod/v1", "$schema": schema, "type": "object",
                   "additionalProperties": False, "description": "Pod.",
                   "properties": {"kind": {"type": "string", "enum": ["Pod"]},
                                  "spec": {"$ref": "/api/_definitions.json#/$defs/io.k8s.api.core.v1.PodSpec"}}},
        "quantity-resource": {"$id": "https://kubernetes.io/api/quantity/resource", "$schema": schema,
                              "type": "string", "description": "A quantity."},
    }
    all_types = {"oneOf": [{"$ref": "/api/_definitions.json#/$defs/io.k8s.api.core.v1.Pod"}]}
    for name, document in {"_definitions": definitions, "all": all_types, **types}.items():
        (folder / f"{name}.json").write_text(json.dumps(document), encoding="utf-8")


def test_kubernetes_cases_are_the_newest_versions_type_schemas(benchmark_module, tmp_path):
    bench = benchmark_module("bench_schema_coverage")
    _kubernetes_folder(tmp_path, "v1.9.0")
    _kubernetes_folder(tmp_path, "v1.37.0")
    (tmp_path / "v1.37.0-local").mkdir()  # the non-strict folder beside it: not read
    cases = list(bench.kubernetes_cases(tmp_path))
    assert [c.name for c in cases] == ["v1.37.0-local-strict/pod-v1", "v1.37.0-local-strict/quantity-resource"]
    assert all(c.valid == [] and c.invalid == [] for c in cases)  # no instances ship
    assert [c.name for c in bench.kubernetes_cases(tmp_path / "v1.9.0-local-strict")] == \
        ["v1.9.0-local-strict/pod-v1", "v1.9.0-local-strict/quantity-resource"]  # a version folder named itself
    assert list(bench.kubernetes_cases(tmp_path / "v1.37.0-local")) == []


def test_kubernetes_root_honours_an_explicit_folder(benchmark_module, tmp_path):
    bench = benchmark_module("bench_schema_coverage")
    assert bench.kubernetes_root(tmp_path) == tmp_path
    found = bench.kubernetes_root()  # the interpreter's kubernetes_validate, else .tools/ (`make tools`), else None
    assert found is None or found.name == "kubernetes-json-schema"


def test_the_kubernetes_source_embeds_its_definitions_for_slot_only(benchmark_module, tmp_path):
    """--sources kubernetes needs no SchemaStore corpus; SLOT loads the type schemas with their folder as the
    registry (pod-v1 embeds _definitions.json), plain llguidance gets them as they are (pod-v1 refused)."""
    bench = benchmark_module("bench_schema_coverage")
    _kubernetes_folder(tmp_path / "k8s")
    out = tmp_path / "k8s.json"
    assert bench.main(["--root", str(tmp_path / "nowhere"), "--sources", "kubernetes", "--kubernetes",
                       str(tmp_path / "k8s"), "--limit", "1", "--out", str(out), "--quiet"]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["sources"]["schemastore"] == {"available": False, "reason": "left out (--sources)"}
    source = report["sources"]["kubernetes"]
    assert source["folder"].endswith("v1.37.0-local-strict") and source["registry"]["documents"] == 4
    (pod,) = source["schemas"]  # --limit 1
    assert (pod["name"], pod["slot"], pod["served"]) == ("v1.37.0-local-strict/pod-v1", "accepted", True)
    assert pod["registry_documents"] == ["https://kubernetes.io/api/_definitions.json"]
    assert pod["plain"]["status"] == "refused" and "_definitions.json" in pod["plain"]["reason"]
    slot = source["summary"]["slot"]
    assert (slot["served"], slot["served_without_registry"], source["summary"]["plain_llguidance"]["served"]) == \
        (1, 0, 0)
    text = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "here **served** means accepted with a prompt that fits" in text
    assert "plain llguidance gets each document as is" in text and "SLOT serves 1/1 (100.0%) with it" in text

"""The `slot` command as a user runs it: a real subprocess, real files, the real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "slot" / "samples"


def slot(*args: str, stdin: bytes | None = None, timeout: float = 600,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "slot.cli", *args], input=stdin, capture_output=True,
                          timeout=timeout, env=env, cwd=ROOT)


def test_help_lists_every_command():
    out = slot("--help")
    assert out.returncode == 0
    for command in ("structure", "serve", "model", "train", "eval"):
        assert command in out.stdout.decode()


@pytest.mark.model
def test_structure_text_from_stdin_prints_valid_json():
    out = slot("structure", "--schema", str(SAMPLES / "restaurant.schema.json"),
               stdin=(SAMPLES / "restaurant.txt").read_bytes())
    assert out.returncode == 0, out.stderr.decode()
    value = json.loads(out.stdout)
    assert set(value) == {"name", "food", "area", "familyFriendly", "near"}
    assert value["area"] in ("city centre", "riverside")


@pytest.mark.model
def test_batch_mode_keeps_going_past_bad_lines(tmp_path, e2e_rows):
    rows = [{k: r[k] for k in ("id", "input_text", "json_schema")} for r in e2e_rows[:2]]
    lines = [json.dumps(rows[0]), "{not json", json.dumps({"id": "no-text", "json_schema": {}}),
             json.dumps({"id": "bad-schema", "input_text": "x", "json_schema": {"type": "strin"}}),
             json.dumps({**rows[1], "json_schema": json.dumps(rows[1]["json_schema"])})]
    source = tmp_path / "in.jsonl"
    source.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "latin1", "input_text": "caf\xe9"}\n')
    target = tmp_path / "out.jsonl"
    out = slot("structure", "--input", str(source), "--output", str(target))
    assert out.returncode == 0, out.stderr.decode()
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["id"] for r in records] == [rows[0]["id"], "line-2", "no-text", "bad-schema", rows[1]["id"], "line-6"]
    good = [records[0], records[4]]
    for record in good:
        assert record["valid"] and record["json"] == json.loads(record["output"])
        assert {"finish_reason", "usage", "latency_ms", "errors", "grounding"} <= set(record)
    assert records[1]["error"]["status"] == "INVALID_ARGUMENT" and "not valid JSON" in records[1]["error"]["message"]
    assert "input_text" in records[2]["error"]["message"]
    assert records[3]["error"]["field"] == "schema"
    assert "UTF-8" in records[5]["error"]["message"]
    assert "6 rows, 2 valid, 4 refused" in out.stderr.decode()


@pytest.mark.parametrize("args, stdin, message", [
    (["structure", "--schema", "/nonexistent.json", "--text", "hi"], None, "schema file not found"),
    (["structure"], None, "--schema is required"),
    (["structure", "--schema", "SCHEMA", "--text", "   "], None, "text is empty"),
    (["structure", "--schema", "SCHEMA"], b"caf\xe9 \xff", "not valid UTF-8"),
    (["structure", "--schema", "BADSCHEMA", "--text", "hello"], None, "meta-schema"),
    (["structure", "--schema", "SCHEMA", "--text", "x", "--max-tokens", "-3"], None, "max_tokens must be positive"),
])
@pytest.mark.model
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, args, stdin, message):
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "strin"}')
    args = [str(SAMPLES / "restaurant.schema.json") if a == "SCHEMA" else str(bad) if a == "BADSCHEMA" else a
            for a in args]
    out = slot(*args, stdin=stdin)
    err = out.stderr.decode()
    assert out.returncode == 2, err
    assert message in err and "Traceback" not in err


def test_slot_schema_serves_references_from_the_schema_registry_as_the_server_does(tmp_path):
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "common.json").write_text(json.dumps({
        "$id": "https://example.com/schemas/common.json",
        "$defs": {"city": {"type": "string", "enum": ["Paris", "Rome"]}}}))
    schema = tmp_path / "order.json"
    schema.write_text(json.dumps({"$id": "https://example.com/schemas/order.json", "type": "object",
                                  "properties": {"city": {"$ref": "common.json#/$defs/city"}}, "required": ["city"]}))
    out = slot("schema", str(schema), env={"SLOT_SCHEMA_REGISTRY_DIR": str(registry)})
    assert out.returncode == 0, out.stderr.decode()
    assert len(json.loads(out.stdout)["schema_hash"]) == 64
    refused = slot("schema", str(schema), env={"SLOT_SCHEMA_REGISTRY_DIR": ""})
    err = refused.stderr.decode()
    assert refused.returncode == 2, err
    assert "common.json" in err and "SLOT_SCHEMA_REGISTRY_DIR" in err and "Traceback" not in err


def test_model_info_reports_the_cache(tmp_path):
    out = slot("model", "info", "--home", str(tmp_path))
    assert out.returncode == 0
    info = json.loads(out.stdout)
    assert info["base_model"] == "smollm2-135m" and info["converted"] is False
    assert info["converted_dir"].startswith(str(tmp_path))

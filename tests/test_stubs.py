"""The committed gRPC stubs are exactly what the proto generates (one source of truth: the proto)."""

from __future__ import annotations

from pathlib import Path

from slot.server.protogen import GENERATED, ROOT, generate


def test_stubs_are_up_to_date(tmp_path: Path):
    fresh = generate(tmp_path)
    for path in fresh:
        committed = ROOT / "slot" / "v1" / path.name
        assert committed.read_text() == path.read_text(), f"{committed} is stale: run `make proto`"
    assert {p.name for p in fresh} == set(GENERATED)


def test_every_proto_message_field_is_commented():
    lines = (ROOT / "proto" / "slot" / "v1" / "slot.proto").read_text().splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        is_field = stripped.endswith(";") and "=" in stripped and not stripped.startswith(("syntax", "package", "//", "option"))
        if is_field:
            assert lines[number - 1].strip().startswith("//"), f"line {number + 1} has no comment: {stripped}"

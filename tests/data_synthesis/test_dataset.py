"""Dataset-level properties: determinism, shards, splits, card, CLI errors, E2E conversion."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from data_synthesis.filters import Deduper, text_signature
from data_synthesis.merge import merge
from data_synthesis.pipeline import GenConfig, generate
from tests.conftest import E2E

from .helpers import SPLIT_FILES, all_records, read_split, run_cli

OUT_FILES = SPLIT_FILES + ("signatures.jsonl", "card.json", "card.md", "lengths.png")


def _files(d: Path) -> dict[str, bytes]:
    return {name: (d / name).read_bytes() for name in OUT_FILES}


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_same_seed_same_bytes_any_worker_count(seed):
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp, "a"), Path(tmp, "b")
        generate(GenConfig(n=60, seed=seed, progress=False), a)
        generate(GenConfig(n=60, seed=seed, workers=2, progress=False), b)
        assert _files(a) == _files(b)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(2, 4))
def test_shards_partition_the_whole_and_merge_exactly(seed, k):
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp, "full")
        generate(GenConfig(n=80, seed=seed, progress=False), full)
        shards = []
        for i in range(k):
            d = Path(tmp, f"s{i}")
            generate(GenConfig(n=80, seed=seed, shard_index=i, num_shards=k, progress=False), d)
            shards.append(d)
        ids = [[r["id"] for rs in all_records(d).values() for r in rs] for d in shards]
        flat = [x for xs in ids for x in xs]
        assert len(flat) == len(set(flat))  # shards are disjoint
        merged = Path(tmp, "merged")
        merge(merged, shards)
        for name in SPLIT_FILES + ("signatures.jsonl",):
            assert (merged / name).read_bytes() == (full / name).read_bytes()
        c_full = json.loads((full / "card.json").read_text())
        c_merged = json.loads((merged / "card.json").read_text())
        for key in ("examples", "dropped", "counts", "lengths", "candidates"):
            assert c_full[key] == c_merged[key]


def test_splits_share_no_schema_and_no_text(tmp_path):
    generate(GenConfig(n=600, seed=11, texts_per_schema=3, progress=False), tmp_path)
    recs = all_records(tmp_path)
    assert all(recs.values()), {k: len(v) for k, v in recs.items()}
    schemas = {s: {json.dumps(r["json_schema"], sort_keys=True) for r in rs} for s, rs in recs.items()}
    texts = {s: {r["input_text"] for r in rs} for s, rs in recs.items()}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        assert not schemas[a] & schemas[b]
        assert not texts[a] & texts[b]
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["examples"] == {s: len(v) for s, v in recs.items()}
    assert card["kept"] + sum(card["dropped"].values()) == card["candidates"] == 600
    for split, rs in recs.items():
        assert sum(card["counts"]["text_kind"][split].values()) == len(rs)
    assert (tmp_path / "lengths.png").read_bytes()[:4] == b"\x89PNG"
    assert "## Filters" in (tmp_path / "card.md").read_text()


def test_deduper_catches_near_duplicates_only():
    base = ("The order ORD-1234 was placed on March 5, 2024 by Jane Smith, and the total came to "
            "$1,200.00 with free shipping to Springfield. The customer asked for gift wrapping.")
    near = base.replace("Springfield", "Springfield, USA")
    other = "Patient PT-9 was seen in cardiology on 2024-01-02; heart rate 72 bpm, not admitted."
    d = Deduper()
    assert d.check_and_add(*text_signature(base)) is None
    assert d.check_and_add(*text_signature(base.upper())) == "exact_duplicate"
    assert d.check_and_add(*text_signature(near)) == "near_duplicate"
    assert d.check_and_add(*text_signature(other)) is None


def test_bad_configuration_is_one_line_exit_2(tmp_path):
    bad_schema = tmp_path / "schemas"
    bad_schema.mkdir()
    (bad_schema / "a.json").write_text('{"type": "object", "properties": {"x": {"type": "strin"}}}')
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text("{not json\n")
    cases = [
        ["generate", "--n", "0", "--out", str(tmp_path / "o")],
        ["generate", "--n", "10", "--out", str(tmp_path / "o"), "--shard-index", "4", "--num-shards", "4"],
        ["generate", "--n", "10", "--out", str(tmp_path / "o"), "--schemas", str(tmp_path / "missing")],
        ["generate", "--n", "10", "--out", str(tmp_path / "o"), "--schemas", str(bad_schema)],
        ["generate", "--n", "10", "--out", str(tmp_path / "o"), "--schemas", str(bad_json)],
        ["generate", "--n", "ten", "--out", str(tmp_path / "o")],
        ["generate", "--n", "10", "--out", str(tmp_path / "o"), "--teacher-url", "http://127.0.0.1:9"],
        ["merge", "--out", str(tmp_path / "m"), str(tmp_path / "missing")],
        ["convert-e2e", "--input", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "e")],
    ]
    for args in cases:
        p = run_cli(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert "Traceback" not in p.stderr
        lines = [x for x in p.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), (args, p.stderr)


def test_cli_generate_and_external_schemas(tmp_path):
    schemas = tmp_path / "schemas.jsonl"
    rows = [
        {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string", "format": "email"},
                                          "age": {"type": "integer", "minimum": 18, "maximum": 99}},
         "required": ["name", "email"]},
        {"json_schema": {"type": "object", "$defs": {"Addr": {"type": "object", "properties": {"city": {"type": "string"}},
                                                                "required": ["city"]}},
                         "properties": {"home": {"$ref": "#/$defs/Addr"}, "tags": {"type": "array", "items": {"type": "string"}},
                                        "vip": {"type": ["boolean", "null"]}}, "required": ["home", "tags", "vip"]}},
    ]
    schemas.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    p = run_cli("generate", "--n", "40", "--seed", "3", "--out", str(tmp_path / "o"), "--schemas", str(schemas),
                "--no-progress")
    assert p.returncode == 0, p.stderr
    recs = [r for rs in all_records(tmp_path / "o").values() for r in rs]
    assert len(recs) >= 30
    assert {r["meta"]["domain"] for r in recs} == {"external"}
    assert {json.dumps(r["json_schema"], sort_keys=True) for r in recs} <= {
        json.dumps(s.get("json_schema", s), sort_keys=True) for s in rows}


def test_convert_e2e(tmp_path):
    with gzip.open(E2E, "rt", encoding="utf-8") as handle:
        lines = [line for line, _ in zip(handle, range(300))]
    inp = tmp_path / "e2e.jsonl"
    inp.write_text("".join(lines))
    p = run_cli("convert-e2e", "--input", str(inp), "--out", str(tmp_path / "e2e"))
    assert p.returncode == 0, p.stderr
    recs = [r for name in SPLIT_FILES for r in read_split(tmp_path / "e2e", name)]
    assert recs and all(r["meta"]["source"] == "e2e" for r in recs)
    assert all(set(r) == {"id", "input_text", "json_schema", "gold", "meta"} for r in recs)
    # converted data merges with synthetic data into one dataset
    generate(GenConfig(n=30, seed=1, progress=False), tmp_path / "syn")
    card = merge(tmp_path / "all", [tmp_path / "e2e", tmp_path / "syn"])
    assert set().union(*[set(v) for v in card["counts"]["source"].values()]) == {"e2e", "synthetic"}

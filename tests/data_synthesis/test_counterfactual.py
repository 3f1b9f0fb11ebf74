"""Counterfactual rows: values swapped consistently in text and gold, from two disjoint pools."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from data_synthesis.counterfactual import POOLS, Swapper, eval_pool_values, kind_of, swap_row
from slot.eval.follow import follow_rate, same_value

ROW = {
    "id": "r1",
    "input_text": "The Eagle is a coffee shop near Burger King in the riverside area. It serves English food "
                  "and has a low customer rating; The Eagle is not family-friendly.",
    "json_schema": {"type": "object", "properties": {k: {"type": "string"} for k in
                    ("name", "eatType", "food", "area", "near", "customer rating", "familyFriendly")}},
    "gold": {"name": "The Eagle", "eatType": "coffee shop", "food": "English", "area": "riverside",
             "near": "Burger King", "customer rating": "low", "familyFriendly": "no"},
}


def test_every_stated_value_is_swapped_in_text_and_gold() -> None:
    row = swap_row(ROW, Swapper("eval", 0))
    assert row is not None and row["id"] == "r1-cf"
    swapped = {s["path"]: s for s in row["meta"]["swapped"]}
    assert set(swapped) == {"/name", "/eatType", "/food", "/area", "/near", "/customer rating"}
    for path, swap in swapped.items():
        assert row["gold"][path[1:]] == swap["new"] != swap["old"]
        assert swap["new"].casefold() in row["input_text"].casefold()
        assert swap["old"].casefold() not in row["input_text"].casefold().replace(swap["new"].casefold(), "")
    # both mentions of the name carry the same new value; familyFriendly ("no") is implied, not stated
    assert row["input_text"].count(row["gold"]["name"]) == 2
    assert row["gold"]["familyFriendly"] == "no"
    assert row["gold"]["customer rating"] in ("average", "high")


def test_pools_never_share_a_value() -> None:
    seen: dict[str, set[str]] = {pool: set() for pool in POOLS}
    for pool in POOLS:
        swapper = Swapper(pool, 3)
        for _ in range(150):
            row = swap_row(ROW, swapper)
            assert row is not None
            seen[pool] |= {str(s["new"]).casefold() for s in row["meta"]["swapped"] if s["kind"] != "rating"}
    assert not seen["train"] & seen["eval"]
    assert len(seen["eval"]) > 50


def test_open_vocabularies_widen_the_train_pool_without_touching_the_eval_pool() -> None:
    curated, opened = Swapper("train", 5), Swapper("train", 5, open_share=0.6)
    plain = {kind: {curated.draw(kind, "x", set(), "") for _ in range(300)} for kind in ("venue_kind", "area")}
    wide = {kind: {opened.draw(kind, "x", set(), "") for _ in range(300)} for kind in ("venue_kind", "area")}
    evals = eval_pool_values()
    for kind in plain:
        assert len(wide[kind]) > 3 * len(plain[kind])  # far more distinct values than the curated list
        assert not any(e in value.casefold() for value in wide[kind] for e in evals)
    eval_rows = [swap_row(ROW, Swapper("eval", 3)) for _ in range(50)]
    assert all(s["new"].casefold() in evals for row in eval_rows if row for s in row["meta"]["swapped"]
               if s["kind"] in ("venue_kind", "area", "cuisine"))
    with pytest.raises(ValueError, match="train pool only"):
        Swapper("eval", 0, open_share=0.5)


def test_schema_pinned_values_and_numbers_respect_the_schema() -> None:
    row = {"id": "n", "input_text": "Flat with 3 bedrooms, status active, owner Mara Quill.",
           "json_schema": {"type": "object", "properties": {
               "bedrooms": {"type": "integer", "maximum": 7},
               "status": {"type": "string", "enum": ["active", "sold"]},
               "owner": {"type": "string"}}},
           "gold": {"bedrooms": 3, "status": "active", "owner": "Mara Quill"}}
    for seed in range(20):
        made = swap_row(row, Swapper("train", seed))
        assert made is not None
        assert made["gold"]["status"] == "active"
        assert 0 <= made["gold"]["bedrooms"] <= 7 and made["gold"]["bedrooms"] != 3
        assert f"{made['gold']['bedrooms']} bedrooms" in made["input_text"]
        assert made["gold"]["owner"] != "Mara Quill" and made["gold"]["owner"] in made["input_text"]


def test_a_row_with_nothing_stated_is_not_swapped() -> None:
    row = {"id": "x", "input_text": "It is family friendly.", "json_schema": {},
           "gold": {"familyFriendly": "yes"}}
    assert swap_row(row, Swapper("eval", 0)) is None
    assert kind_of("/familyFriendly", "yes") is None
    assert kind_of("/code", "RX-1968510") is None
    assert kind_of("/eatType", "pub") == "venue_kind"


def test_follow_rate_counts_reproduced_values_per_key_and_kind() -> None:
    row = swap_row(ROW, Swapper("eval", 1))
    assert row is not None
    faithful = json.dumps(row["gold"])
    prior = json.dumps(ROW["gold"])
    half = dict(row["gold"], eatType="coffee shop", food="English")
    outputs = {"a": faithful, "b": prior, "c": json.dumps(half)}
    rows = [dict(row, id=i) for i in outputs]
    assert follow_rate(rows[:1], outputs)["rate"] == 1.0
    assert follow_rate(rows[1:2], outputs)["rate"] == 0.0
    mixed = follow_rate(rows[2:], outputs)
    assert mixed["rate"] == pytest.approx(4 / 6)
    assert mixed["by_key"]["/eatType"]["rate"] == 0.0 and mixed["by_key"]["/name"]["rate"] == 1.0
    assert mixed["by_kind"]["cuisine"] == {"rate": 0.0, "n": 1}
    assert mixed["misses"]["/food"][0]["got"] == "English"
    assert follow_rate(rows[:1], {"a": "not json"})["rate"] == 0.0
    assert same_value("The  eagle", "the Eagle") and not same_value(True, 1) and not same_value("3", 3)


def test_cli_writes_counterfactual_rows(tmp_path: Path) -> None:
    src = tmp_path / "rows.jsonl"
    src.write_text(json.dumps(ROW) + "\n" + json.dumps(dict(ROW, id="r2")) + "\n", encoding="utf-8")
    out = tmp_path / "cf.jsonl"
    done = subprocess.run([sys.executable, "-m", "data_synthesis", "counterfactual", "--input", str(src),
                           "--out", str(out), "--pool", "eval", "--copies", "2"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    made = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in made] == ["r1-cf0", "r1-cf1", "r2-cf0", "r2-cf1"]
    assert made[0]["gold"]["name"] != made[1]["gold"]["name"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "data_synthesis", "counterfactual", "--input", str(bad),
                           "--out", str(out), "--pool", "train"], capture_output=True, text=True)
    assert done.returncode == 2 and "bad.jsonl:1: not JSON" in done.stderr

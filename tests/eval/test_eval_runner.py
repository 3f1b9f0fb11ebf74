"""evaluate / run_predictors / reports / the `slot eval` command, on a tiny hand-made data set."""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from slot.eval import command
from slot.eval.report import ALL, markdown_table, write_report
from slot.eval.runner import evaluate, load_predictions, load_rows, run_predictors, source_of

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"}},
          "required": ["name", "area"], "additionalProperties": False}
ROWS = [
    {"id": "e2e_0", "input_text": "Aromi is in the city centre.", "json_schema": SCHEMA,
     "gold": {"name": "Aromi", "area": "city centre"}},
    {"id": "e2e_1", "input_text": "Cotto is by the riverside.", "json_schema": SCHEMA,
     "gold": {"name": "Cotto", "area": "riverside"}},
    {"id": "x9", "input_text": "Wildwood, riverside.", "json_schema": SCHEMA,
     "gold": {"name": "Wildwood", "area": "riverside"}, "meta": {"source": "synth"}},
]
GOOD = {r["id"]: json.dumps(r["gold"]) for r in ROWS}
BAD = {"e2e_0": '{"name": "Aromi", "area": "riverside"}', "e2e_1": "not json"}  # x9 missing


def exact_sim(pairs: Sequence[tuple[str, str]]) -> list[float]:
    return [1.0 if a == b else 0.0 for a, b in pairs]


def test_source_of() -> None:
    assert [source_of(r) for r in ROWS] == ["e2e", "e2e", "synth"]
    assert source_of({"id": "plain"}) == "unknown"


def test_evaluate_per_system_and_source() -> None:
    report = evaluate(ROWS, {"good": GOOD, "bad": BAD}, similarity=exact_sim)
    assert report.systems == ["good", "bad"] and report.sources == ["e2e", "synth"]
    good = report.get("good", ALL)
    assert (good.rows, good.schema_accuracy, good.content_similarity, good.exact_match) == (3, 1.0, 1.0, 1.0)
    assert good.ungrounded_share == 0.0
    bad = report.get("bad", "e2e")
    # row 0: P = R = 1/2; row 1: unparseable -> 0  => mean 0.25; exact 1 of 4 gold leaves
    assert (bad.rows, bad.schema_accuracy, bad.content_similarity, bad.exact_match) == (2, 0.5, 0.25, 0.25)
    assert bad.ungrounded_share == 0.5  # "riverside" is not in row 0's text; row 1 has no claims
    assert report.get("bad", "synth").missing == 1
    assert report.field_exact_match["bad"] == {"/area": 0.0, "/name": 1 / 3}


def test_report_files(tmp_path: Path) -> None:
    report = evaluate(ROWS, {"good": GOOD, "bad": BAD}, similarity=exact_sim)
    paths = write_report(report, tmp_path / "out")
    data = json.loads(paths["json"].read_text())
    assert {s["system"] for s in data["summary"]} == {"good", "bad"}
    md = paths["markdown"].read_text()
    assert "| e2e | bad | 2 | 50.0 | 25.0 |" in md and markdown_table(report) in md
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(paths["rows"].read_text().splitlines()) == 6


def test_run_predictors_collects_outputs_and_survives_errors() -> None:
    def echo(text: str, schema: dict) -> str:
        if text.startswith("Cotto"):
            raise RuntimeError("boom")
        return json.dumps({"name": text.split()[0].strip(","), "area": "riverside"})

    out = run_predictors(ROWS, {"echo": echo}, progress=False)
    assert out["echo"]["e2e_1"] == "" and json.loads(out["echo"]["x9"])["name"] == "Wildwood"


def test_load_rows_and_predictions(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    assert [r["id"] for r in load_rows(data, limit=2)] == ["e2e_0", "e2e_1"]
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "e2e_0", "output": '{"a": 1}', "json": {"a": 1}}) + "\n"
                     + json.dumps({"id": "e2e_1", "json": {"b": 2}}) + "\n")
    assert load_predictions(preds) == {"e2e_0": '{"a": 1}', "e2e_1": '{"b": 2}'}
    (tmp_path / "bad.jsonl").write_text(json.dumps({"output": "{}"}) + "\n")
    with pytest.raises(ValueError, match="lacks 'id'"):
        load_predictions(tmp_path / "bad.jsonl")


def _write_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text("".join(json.dumps({"id": k, "output": v}) + "\n" for k, v in GOOD.items()))
    bad.write_text("".join(json.dumps({"id": k, "output": v}) + "\n" for k, v in BAD.items()))
    return data, good, bad


def test_command_scores_predictions_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(command, "evaluate", functools.partial(evaluate, similarity=exact_sim))
    data, good, bad = _write_inputs(tmp_path)
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    out = tmp_path / "report"
    args = parser.parse_args(["--data", str(data), "--predictions", str(good), "--predictions",
                              f"broken={bad}", "--out", str(out), "--limit", "2", "--no-progress"])
    assert command.run(args) == 0
    summary = json.loads((out / "report.json").read_text())["summary"]
    assert {(s["system"], s["source"]) for s in summary} == {("good", "e2e"), ("good", ALL),
                                                             ("broken", "e2e"), ("broken", ALL)}
    assert "| e2e | broken | 2 |" in capsys.readouterr().out


def test_command_runs_predictors_when_no_predictions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command, "evaluate", functools.partial(evaluate, similarity=exact_sim))
    monkeypatch.setattr(command, "build_default_predictors",
                        lambda args: {"gold": lambda text, schema: GOOD[next(k for k, r in
                                      zip(GOOD, ROWS) if r["input_text"] == text)]})
    data, _, _ = _write_inputs(tmp_path)
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(["--data", str(data), "--out", str(tmp_path / "o"), "--no-progress", "--no-plot"])
    assert command.run(args) == 0
    saved = load_predictions(tmp_path / "o" / "predictions" / "gold.jsonl")
    assert saved == GOOD
    assert not (tmp_path / "o" / "report.png").exists()


@pytest.mark.model
def test_command_with_the_real_embedder(tmp_path: Path) -> None:
    data, good, bad = _write_inputs(tmp_path)
    assert command.main(["--data", str(data), "--predictions", str(good), "--predictions", str(bad),
                         "--out", str(tmp_path / "r"), "--no-progress"]) == 0
    summary = {(s["system"], s["source"]): s for s in
               json.loads((tmp_path / "r" / "report.json").read_text())["summary"]}
    assert summary[("good", ALL)]["content_similarity"] == pytest.approx(1.0)
    # "riverside" vs "city centre" is similar but not equal: between 0.25 (exact) and 1
    assert 0.25 < summary[("bad", "e2e")]["content_similarity"] < 0.75

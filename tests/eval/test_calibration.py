"""Calibration of per-field confidence: ECE, leaf outcomes, the report and `slot eval --reliability-plot`."""

from __future__ import annotations

import argparse
import functools
import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from slot.eval import command
from slot.eval.calibration import (calibration, caught, expected_calibration_error, leaf_outcomes,
                                   plot_reliability)
from slot.eval.report import ALL, markdown_table, write_report
from slot.eval.runner import Prediction, confidence_of, evaluate, load_confidences, run_predictors

PNG = b"\x89PNG\r\n\x1a\n"


def test_ece_of_one_bin_is_the_gap_between_accuracy_and_confidence():
    assert expected_calibration_error([0.95] * 10, [True] * 9 + [False]) == pytest.approx(0.05)
    assert expected_calibration_error([0.3] * 10, [True] * 3 + [False] * 7) == pytest.approx(0.0)


def test_ece_weights_the_bins_by_their_leaves():
    # bin [0.9, 1.0]: 4 leaves at 0.9, all right (gap 0.1); bin [0.2, 0.3): 1 leaf at 0.2, right (gap 0.8)
    ece = expected_calibration_error([0.9, 0.9, 0.9, 0.9, 0.2], [True] * 5)
    assert ece == pytest.approx(4 / 5 * 0.1 + 1 / 5 * 0.8)
    assert expected_calibration_error([], []) == 0.0
    with pytest.raises(ValueError):
        expected_calibration_error([0.5], [])


def test_bins_are_equal_width_with_one_in_the_last():
    result = calibration([(0.0, False), (0.1, True), (0.999, True), (1.0, True)])
    assert len(result.bins) == 10 and [b.leaves for b in result.bins] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert result.bins[9].accuracy == 1.0 and result.bins[9].confidence == pytest.approx(0.9995)
    assert result.bins[2].accuracy is None and result.accuracy == 0.75
    assert calibration([]).ece is None


def test_leaf_outcomes_compare_with_gold_at_the_same_path():
    predicted = {"name": "Aromi", "rating": 4.0, "kids": True, "near": None, "tags": ["a", "b"]}
    gold = {"name": "Aromi", "rating": 4, "kids": 1, "tags": ["a"]}
    confidence = {"/name": 0.9, "/rating": 0.8, "/kids": 0.7, "/tags/0": 0.6, "/tags/1": math.nan}
    assert leaf_outcomes(predicted, gold, confidence) == [(0.9, True), (0.8, True), (0.7, False), (0.6, True)]
    assert caught([(0.9, True), (0.3, False), (0.8, False)], 0.5) == 0.5
    assert caught([(0.9, True)], 0.5) is None


def test_confidences_are_read_from_a_map_or_from_grounding_fields(tmp_path: Path):
    assert confidence_of({"confidence": {"/a": 0.5}}) == {"/a": 0.5}
    record = {"grounding": {"fields": [{"path": "/a", "status": "grounded", "confidence": 0.25},
                                       {"path": "/b", "status": "grounded"}]}}
    assert confidence_of(record) == {"/a": 0.25} and confidence_of({"grounding": None}) == {}
    path = tmp_path / "p.jsonl"
    lines = [{"id": 1, "output": "{}", **record}, {"id": 2, "output": "{}"}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert load_confidences(path) == {"1": {"/a": 0.25}}


SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"}}}
ROWS = [{"id": f"e2e_{n}", "input_text": f"Venue {n} is by the riverside.", "json_schema": SCHEMA,
         "gold": {"name": f"Venue {n}", "area": "riverside"}} for n in range(4)]
OUTPUTS = {"e2e_0": '{"name": "Venue 0", "area": "riverside"}', "e2e_1": '{"name": "Venue 1", "area": "city centre"}',
           "e2e_2": '{"name": "Venue 2", "area": "riverside"}', "e2e_3": "not json"}
CONFIDENCE = {"e2e_0": {"/name": 0.95, "/area": 0.95}, "e2e_1": {"/name": 0.95, "/area": 0.3},
              "e2e_2": {"/name": 0.95, "/area": 0.95}, "e2e_3": {"/name": 0.1}}


def exact_sim(pairs: Sequence[tuple[str, str]]) -> list[float]:
    return [1.0 if a == b else 0.0 for a, b in pairs]


def test_evaluate_reports_calibration_and_caught_wrong_leaves(tmp_path: Path):
    report = evaluate(ROWS, {"sys": OUTPUTS, "plain": OUTPUTS}, similarity=exact_sim, confidences={"sys": CONFIDENCE})
    assert list(report.calibration) == ["sys"]  # only systems with confidences
    cal = report.calibration["sys"][ALL]
    # 6 leaves of parsed outputs: five at 0.95 all right (gap 0.05), one at 0.3 wrong (gap 0.3); "not json" adds none
    assert cal.leaves == 6 and cal.ece == pytest.approx(5 / 6 * 0.05 + 1 / 6 * 0.3)
    assert report.caught["sys"][ALL] == 1.0
    table = markdown_table(report)
    assert "Calibration of per-field confidence" in table and "| all | sys | 6 | 83.3 |" in table
    data = report.to_dict()["calibration"]["sys"][ALL]
    assert data["ece"] == pytest.approx(cal.ece) and data["caught_below_0.5"] == 1.0
    paths = write_report(report, tmp_path / "r", plot=False, reliability_plot=tmp_path / "r" / "reliability.png")
    assert paths["reliability"].read_bytes()[:8] == PNG


def test_no_reliability_plot_without_confidences(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    report = evaluate(ROWS, {"plain": OUTPUTS}, similarity=exact_sim)
    assert report.calibration == {} and "calibration" not in report.to_dict()
    paths = write_report(report, tmp_path / "r", plot=False, reliability_plot=tmp_path / "rel.png")
    assert "reliability" not in paths and not (tmp_path / "rel.png").exists()
    assert "no reliability plot" in capsys.readouterr().err


def test_plot_reliability_writes_a_png(tmp_path: Path):
    curves = {"a": calibration([(0.9, True), (0.2, False)]), "empty": calibration([])}
    assert plot_reliability(curves, tmp_path / "sub" / "p.png") is True
    assert (tmp_path / "sub" / "p.png").read_bytes()[:8] == PNG


def test_run_predictors_collects_confidences_of_predictions():
    found: dict = {}

    def predict(text: str, schema: dict) -> Prediction:
        return Prediction(json.dumps({"name": text.split(" is")[0]}), {"/name": 0.5})

    outputs = run_predictors(ROWS[:2], {"p": predict, "s": lambda text, schema: "{}"}, progress=False,
                             confidences=found)
    assert outputs["p"]["e2e_1"] == '{"name": "Venue 1"}' and outputs["s"]["e2e_0"] == "{}"
    assert found == {"p": {"e2e_0": {"/name": 0.5}, "e2e_1": {"/name": 0.5}}}


def test_command_scores_confidences_of_predictions_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]):
    monkeypatch.setattr(command, "evaluate", functools.partial(evaluate, similarity=exact_sim))
    data, preds = tmp_path / "rows.jsonl", tmp_path / "sys.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    preds.write_text("".join(json.dumps({"id": k, "output": v, "confidence": CONFIDENCE[k]}) + "\n"
                             for k, v in OUTPUTS.items()))
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    plot = tmp_path / "reliability.png"
    args = parser.parse_args(["--data", str(data), "--predictions", str(preds), "--out", str(tmp_path / "o"),
                              "--no-progress", "--no-plot", "--no-grounding", "--reliability-plot", str(plot)])
    assert command.run(args) == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["calibration"]["sys"][ALL]["leaves"] == 6 and plot.read_bytes()[:8] == PNG
    assert "| all | sys | 6 |" in capsys.readouterr().out


def test_command_saves_the_confidences_of_the_predictors_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(command, "evaluate", functools.partial(evaluate, similarity=exact_sim))
    monkeypatch.setattr(command, "build_default_predictors", lambda args: {
        "m": lambda text, schema: Prediction(OUTPUTS[next(r["id"] for r in ROWS if r["input_text"] == text)],
                                             CONFIDENCE[next(r["id"] for r in ROWS if r["input_text"] == text)])})
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(["--data", str(data), "--out", str(tmp_path / "o"), "--no-progress", "--no-plot",
                              "--no-grounding"])
    assert command.run(args) == 0
    assert load_confidences(tmp_path / "o" / "predictions" / "m.jsonl") == CONFIDENCE
    assert json.loads((tmp_path / "o" / "report.json").read_text())["calibration"]["m"][ALL]["leaves"] == 6

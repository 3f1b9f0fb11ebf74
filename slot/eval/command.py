"""``slot eval``: score predictions files, or run the model four ways, and write a report.

    slot eval --data F.jsonl [--predictions [NAME=]P.jsonl ...] [--out DIR] [--limit N] [--reliability-plot PNG]

Without ``--predictions`` it runs the comparison of the paper on the same rows: the base model
prompting only, the base model with constrained decoding, the adapter without and with constraint.
Systems that report per-field confidence (the model runs, or predictions files that carry it) are also
scored for calibration: ECE over 10 bins, and a reliability plot with ``--reliability-plot``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from slot.eval.runner import (Prediction, Predictor, confidence_of, evaluate, load_confidences, load_predictions,
                              load_rows, run_predictors)

__all__ = ["SYSTEMS", "add_arguments", "build_default_predictors", "run"]

SYSTEMS: dict[str, dict[str, Any]] = {
    "base": {"constrained": False, "adapter": "base"},
    "base+constrained": {"constrained": True, "adapter": "base"},
    "adapter": {"constrained": False, "adapter": None},
    "adapter+constrained": {"constrained": True, "adapter": None},
}
"""The systems of the comparison table: Structurer.structure options (adapter None = the default)."""

_MODEL_SETTINGS = ["home", "base_model", "adapter", "adapters", "grammar_backend", "dtype", "threads",
                   "max_tokens"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``slot eval`` (model settings flags too, used only when the model runs)."""
    parser.add_argument("--data", required=True, type=Path, help="rows: JSONL {id, input_text, json_schema, gold}")
    parser.add_argument("--predictions", action="append", default=[], metavar="[NAME=]FILE",
                        help="JSONL {id, output} of one system (repeatable; NAME defaults to the file stem)")
    parser.add_argument("--out", type=Path, default=Path("eval-report"), help="report directory")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N rows")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help=f"systems to run when no predictions are given (from {', '.join(SYSTEMS)})")
    parser.add_argument("--save-predictions", action=argparse.BooleanOptionalAction, default=True,
                        help="write each system's raw outputs to OUT/predictions/NAME.jsonl when the model runs")
    parser.add_argument("--grounding", action=argparse.BooleanOptionalAction, default=True,
                        help="report the share of predicted values not grounded in the text")
    parser.add_argument("--plot", action=argparse.BooleanOptionalAction, default=True, help="write report.png")
    parser.add_argument("--reliability-plot", type=Path, default=None, metavar="PNG",
                        help="write the reliability plot of per-field confidence (accuracy per confidence bin) here")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bars")
    try:
        from slot.config import Settings
    except ImportError:  # pragma: no cover - settings ship with the service
        return
    Settings.add_arguments(parser, names=_MODEL_SETTINGS)


def _parse_prediction_args(items: list[str]) -> dict[str, Path]:
    named: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or Path(item).exists():
            name, path = Path(item).stem, item
        if name in named:
            raise ValueError(f"two predictions files are named {name!r}; use NAME=FILE")
        named[name] = Path(path)
    return named


def build_default_predictors(args: argparse.Namespace) -> dict[str, Predictor]:
    """One predictor per requested system, all sharing one loaded :class:`Structurer`."""
    from slot.config import Settings
    from slot.structurer import Structurer

    settings = Settings.from_args(args)
    structurer = Structurer.from_settings(settings, progress=getattr(args, "progress", True))
    wanted = [s.strip() for s in str(getattr(args, "systems", ",".join(SYSTEMS))).split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SYSTEMS]
    if unknown:
        raise ValueError(f"unknown systems {unknown}; choose from {', '.join(SYSTEMS)}")
    if getattr(structurer, "default_adapter", None) is None:
        dropped = [s for s in wanted if SYSTEMS[s]["adapter"] is None]
        if dropped:
            print(f"slot eval: no adapter is loaded, skipping {', '.join(dropped)}", file=sys.stderr)
        wanted = [s for s in wanted if SYSTEMS[s]["adapter"] is not None]

    def make(options: dict[str, Any]) -> Predictor:
        def predict(text: str, schema: dict[str, Any]) -> Prediction:
            result = structurer.structure(text, schema, **options)
            return Prediction(result.output, confidence_of({"grounding": result.grounding}))
        return predict

    return {name: make(SYSTEMS[name]) for name in wanted}


def _save(outputs: dict[str, dict[str, str]], out: Path,
          confidences: dict[str, dict[str, dict[str, float | None]]] | None = None) -> None:
    folder = out / "predictions"
    folder.mkdir(parents=True, exist_ok=True)
    for name, preds in outputs.items():
        known = (confidences or {}).get(name, {})
        with (folder / f"{name.replace('+', '_')}.jsonl").open("w", encoding="utf-8") as fh:
            for rid, text in preds.items():
                line = {"id": rid, "output": text} | ({"confidence": known[rid]} if rid in known else {})
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``slot eval``; returns the process exit status."""
    from slot.eval.report import markdown_table, write_report

    rows = load_rows(args.data, limit=args.limit)
    if not rows:
        print(f"slot eval: no rows in {args.data}", file=sys.stderr)
        return 2
    confidences: dict[str, dict[str, dict[str, float | None]]] = {}
    if args.predictions:
        named = _parse_prediction_args(args.predictions)
        outputs = {name: load_predictions(path) for name, path in named.items()}
        confidences = {name: found for name, path in named.items() if (found := load_confidences(path))}
    else:
        outputs = run_predictors(rows, build_default_predictors(args), progress=args.progress, confidences=confidences)
        if args.save_predictions:
            _save(outputs, args.out, confidences)
    report = evaluate(rows, outputs, ground_values=args.grounding, progress=args.progress, confidences=confidences)
    paths = write_report(report, args.out, plot=args.plot, reliability_plot=getattr(args, "reliability_plot", None))
    print(markdown_table(report), end="")
    print("report: " + ", ".join(str(p) for p in paths.values()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m slot.eval.command``: the same as ``slot eval``."""
    parser = argparse.ArgumentParser(prog="slot eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())

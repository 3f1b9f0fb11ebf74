"""Aggregate row scores per (system, data source) and write the report: JSON, markdown, PNG.

Row-level metrics (schema accuracy, content similarity and its soft precision/recall) are means
over rows; field-level ones are pooled over leaves: exact match = matched gold leaves / gold leaves,
ungrounded share = ungrounded predicted leaves / predicted leaves with a value. Calibration of per-field
confidence (``slot.eval.calibration``) pools the leaves that carry a confidence.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from slot.eval.calibration import Calibration, plot_reliability
from slot.eval.metrics import RowScore
from slot.leaves import field_path

__all__ = ["ALL", "CAUGHT_BELOW", "GroupSummary", "EvalReport", "summarise", "markdown_table", "follow_table",
           "calibration_table", "write_report"]

ALL = "all"
CAUGHT_BELOW = 0.5
"""A wrong leaf counts as caught when its confidence is below this."""
_METRICS = [("schema_accuracy", "schema acc."), ("content_similarity", "content sim."),
            ("precision", "soft P"), ("recall", "soft R"), ("exact_match", "exact match"),
            ("ungrounded_share", "ungrounded")]


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """Metrics of one system on one data source (or on all rows: source ``"all"``)."""

    system: str
    source: str
    rows: int
    parsed: float
    schema_accuracy: float
    content_similarity: float
    precision: float
    recall: float
    exact_match: float
    ungrounded_share: float | None
    missing: int


@dataclass
class EvalReport:
    """Everything one evaluation produced."""

    systems: list[str]
    sources: list[str]
    summary: list[GroupSummary]
    field_exact_match: dict[str, dict[str, float]]
    scores: dict[str, list[RowScore]] = field(repr=False)
    follow: dict[str, dict[str, Any]] = field(default_factory=dict)
    """System -> :func:`slot.eval.follow.follow_rate` on rows that record value swaps (else empty)."""
    calibration: dict[str, dict[str, Calibration]] = field(default_factory=dict)
    """System -> source (and ``all``) -> calibration of its per-field confidences (systems that report them)."""
    caught: dict[str, dict[str, float | None]] = field(default_factory=dict)
    """System -> source -> share of its wrong leaves with confidence below ``CAUGHT_BELOW``."""

    def get(self, system: str, source: str = ALL) -> GroupSummary:
        """The summary of one system on one source."""
        for s in self.summary:
            if s.system == system and s.source == source:
                return s
        raise KeyError((system, source))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able report without the per-row scores (those go to rows.jsonl)."""
        return {"systems": self.systems, "sources": self.sources,
                "summary": [asdict(s) for s in self.summary],
                "field_exact_match": self.field_exact_match} | ({"follow_rate": self.follow} if self.follow else {}) \
            | ({"calibration": {system: {source: c.to_dict() | {"caught_below_0.5": self.caught[system][source]}
                                         for source, c in by_source.items()}
                                for system, by_source in self.calibration.items()}} if self.calibration else {})


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _group(system: str, source: str, scores: list[RowScore], missing: set[str]) -> GroupSummary:
    gold = sum(s.gold_leaves for s in scores)
    claimed = sum(s.claimed_leaves for s in scores)
    return GroupSummary(
        system=system, source=source, rows=len(scores),
        parsed=_mean([float(s.parsed) for s in scores]),
        schema_accuracy=_mean([float(s.parsed and s.schema_valid) for s in scores]),
        content_similarity=_mean([s.content_similarity for s in scores]),
        precision=_mean([s.precision for s in scores]),
        recall=_mean([s.recall for s in scores]),
        exact_match=sum(s.exact_matches for s in scores) / gold if gold else 1.0,
        ungrounded_share=sum(s.ungrounded_leaves for s in scores) / claimed if claimed else None,
        missing=sum(1 for s in scores if s.id in missing),
    )


def summarise(scores: dict[str, list[RowScore]], missing: dict[str, set[str]] | None = None) -> EvalReport:
    """Group row scores per system and per source, plus an ``all`` group per system."""
    missing = missing or {}
    sources = sorted({s.source for rows in scores.values() for s in rows})
    summary: list[GroupSummary] = []
    fields: dict[str, dict[str, float]] = {}
    for system, rows in scores.items():
        for source in sources:
            subset = [s for s in rows if s.source == source]
            if subset:
                summary.append(_group(system, source, subset, missing.get(system, set())))
        summary.append(_group(system, ALL, rows, missing.get(system, set())))
        hits: dict[str, list[bool]] = defaultdict(list)
        for s in rows:
            for path, ok in s.field_matches.items():
                hits[field_path(path) or "<root>"].append(ok)
        fields[system] = {name: _mean([float(x) for x in v]) for name, v in sorted(hits.items())}
    return EvalReport(systems=list(scores), sources=sources, summary=summary, field_exact_match=fields,
                      scores=scores)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"


def markdown_table(report: EvalReport) -> str:
    """One table: a row per (source, system), metrics in percent."""
    head = "| source | system | rows | " + " | ".join(label for _, label in _METRICS) + " |"
    lines = [head, "|---|---|---:|" + "---:|" * len(_METRICS)]
    for source in report.sources + [ALL]:
        for system in report.systems:
            try:
                g = report.get(system, source)
            except KeyError:
                continue
            cells = " | ".join(_fmt(getattr(g, key)) for key, _ in _METRICS)
            lines.append(f"| {source} | {system} | {g.rows} | {cells} |")
    return "\n".join(lines) + "\n" + (follow_table(report) if report.follow else "") \
        + (calibration_table(report) if report.calibration else "")


def calibration_table(report: EvalReport) -> str:
    """Calibration of per-field confidence per (source, system): leaves, accuracy, mean confidence, ECE (10 bins)
    and the share of wrong leaves caught below ``CAUGHT_BELOW``."""
    out = ["", f"Calibration of per-field confidence (leaves with a confidence; ECE over 10 bins; caught: wrong "
           f"leaves with confidence < {CAUGHT_BELOW}):", "",
           "| source | system | leaves | accuracy | mean conf. | ECE | caught |", "|---|---|---:|---:|---:|---:|---:|"]
    for source in report.sources + [ALL]:
        for system, by_source in report.calibration.items():
            c = by_source.get(source)
            if c is None:
                continue
            ece = "n/a" if c.ece is None else f"{c.ece:.3f}"
            out.append(f"| {source} | {system} | {c.leaves} | {_fmt(c.accuracy)} | {_fmt(c.mean_confidence)} | {ece} "
                       f"| {_fmt(report.caught[system].get(source))} |")
    return "\n".join(out) + "\n"


def follow_table(report: EvalReport) -> str:
    """Follow rate of swapped values per system: overall, per value kind, and per key when there are few keys."""
    out = ["", "Follow rate of swapped values (percent of swapped values reproduced; n swapped):", ""]
    for group, label in (("by_kind", "kind"), ("by_key", "key")):
        names = sorted({k for f in report.follow.values() for k in f[group]})
        if group == "by_key" and len(names) > 10:
            continue
        out += [f"| system | all | " + " | ".join(f"{label} {n}" for n in names) + " |",
                "|---|---:|" + "---:|" * len(names)]
        for system, f in report.follow.items():
            cells = [f"{100 * f[group][n]['rate']:.1f} ({f[group][n]['n']})" if n in f[group] else "n/a" for n in names]
            out.append(f"| {system} | **{100 * f['rate']:.1f}** ({f['n']}) | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def _plot(report: EvalReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [("schema_accuracy", "Schema accuracy"), ("content_similarity", "Content similarity"),
               ("exact_match", "Exact match per field")]
    groups = report.sources + [ALL] if len(report.sources) > 1 else [ALL]
    width = 0.8 / max(1, len(report.systems))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.8), sharey=True)
    for ax, (key, title) in zip(axes, metrics):
        for i, system in enumerate(report.systems):
            values = [100 * getattr(report.get(system, g), key) for g in groups]
            xs = [j + (i - (len(report.systems) - 1) / 2) * width for j in range(len(groups))]
            ax.bar(xs, values, width, label=system)
        ax.set_xticks(range(len(groups)), groups)
        ax.set_title(title)
        ax.set_ylim(0, 100)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("%")
    axes[-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(report: EvalReport, out_dir: str | Path, *, plot: bool = True,
                 reliability_plot: str | Path | None = None) -> dict[str, Path]:
    """Write report.json, report.md, rows.jsonl and (with ``plot``) report.png into ``out_dir``; with
    ``reliability_plot``, the reliability plot of every system's confidences on all rows there (skipped with a
    message when matplotlib is missing or no system reports confidences)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "markdown": out / "report.md", "rows": out / "rows.jsonl"}
    paths["json"].write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md = "# SLOT evaluation\n\nMetrics in percent.\n\n" + markdown_table(report)
    paths["markdown"].write_text(md, encoding="utf-8")
    with paths["rows"].open("w", encoding="utf-8") as fh:
        for system, rows in report.scores.items():
            for s in rows:
                fh.write(json.dumps({"system": system, **s.to_dict()}, ensure_ascii=False) + "\n")
    if plot:
        paths["plot"] = out / "report.png"
        _plot(report, paths["plot"])
    if reliability_plot is not None:
        curves = {system: by_source[ALL] for system, by_source in report.calibration.items() if ALL in by_source}
        if not curves:
            print("slot eval: no system reports confidences; no reliability plot", file=sys.stderr)
        elif plot_reliability(curves, reliability_plot):
            paths["reliability"] = Path(reliability_plot)
        else:
            print("slot eval: matplotlib is not installed; no reliability plot", file=sys.stderr)
    return paths

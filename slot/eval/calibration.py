"""Calibration of per-field confidence: is a value stated with confidence c right c of the time?

Each predicted leaf that carries a confidence (``slot.confidence``; the leaves grounding reports: null and
empty values state nothing) is one outcome: its confidence, and whether it is correct, i.e. JSON-equal
(``slot.eval.metrics.json_equal``) to the gold value at the same JSON Pointer (a path gold lacks is wrong).
Expected calibration error (ECE) over ``BINS`` equal-width bins: the mean over bins, weighted by their share
of the leaves, of |accuracy - mean confidence|; 0 is perfect. The reliability plot draws accuracy against
mean confidence per bin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from slot.eval.metrics import json_equal
from slot.leaves import leaf_map

__all__ = ["BINS", "Bin", "Calibration", "leaf_outcomes", "calibration", "expected_calibration_error",
           "caught", "plot_reliability"]

BINS = 10


@dataclass(frozen=True, slots=True)
class Bin:
    """One confidence bin ``[low, high)`` (the last includes 1.0): its leaves, their accuracy and mean confidence."""

    low: float
    high: float
    leaves: int
    accuracy: float | None
    confidence: float | None


@dataclass(frozen=True, slots=True)
class Calibration:
    """Calibration of one set of outcomes: ECE, accuracy, mean confidence and the bins of the reliability plot."""

    leaves: int
    accuracy: float | None
    mean_confidence: float | None
    ece: float | None
    bins: list[Bin] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def leaf_outcomes(predicted: Any, gold: Any, confidence: Mapping[str, float | None]) -> list[tuple[float, bool]]:
    """``(confidence, correct)`` of every leaf of ``predicted`` with a known confidence; correct when gold has an
    equal value at its path."""
    if confidence is None:
        return []
    gold_leaves = leaf_map(gold)
    out = []
    for path, value in leaf_map(predicted).items():
        c = confidence.get(path)
        if c is None or (isinstance(c, float) and math.isnan(c)):
            continue
        out.append((float(c), path in gold_leaves and json_equal(value, gold_leaves[path])))
    return out


def _bin_of(confidence: float, bins: int) -> int:
    return min(bins - 1, max(0, int(confidence * bins)))


def calibration(outcomes: Sequence[tuple[float, bool]], bins: int = BINS) -> Calibration:
    """ECE and the reliability bins of ``(confidence, correct)`` outcomes (None-valued when there are none)."""
    groups: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for c, ok in outcomes:
        groups[_bin_of(c, bins)].append((c, ok))
    table = [Bin(low=i / bins, high=(i + 1) / bins, leaves=len(g),
                 accuracy=sum(ok for _, ok in g) / len(g) if g else None,
                 confidence=sum(c for c, _ in g) / len(g) if g else None) for i, g in enumerate(groups)]
    n = len(outcomes)
    if not n:
        return Calibration(leaves=0, accuracy=None, mean_confidence=None, ece=None, bins=table)
    ece = sum(b.leaves / n * abs(b.accuracy - b.confidence) for b in table if b.leaves)  # type: ignore[operator]
    return Calibration(leaves=n, accuracy=sum(ok for _, ok in outcomes) / n,
                       mean_confidence=sum(c for c, _ in outcomes) / n, ece=ece, bins=table)


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = BINS) -> float:
    """ECE of paired confidences and outcomes over ``bins`` equal-width bins (0.0 when there are none)."""
    if len(confidences) != len(correct):
        raise ValueError("confidences and outcomes differ in length")
    return calibration(list(zip(confidences, correct)), bins).ece or 0.0


def caught(outcomes: Sequence[tuple[float, bool]], threshold: float) -> float | None:
    """Share of the wrong leaves whose confidence is below ``threshold`` (None when no leaf is wrong)."""
    wrong = [c for c, ok in outcomes if not ok]
    return sum(c < threshold for c in wrong) / len(wrong) if wrong else None


def plot_reliability(curves: Mapping[str, Calibration], path: str | Path, *, title: str = "") -> bool:
    """Write a reliability plot (accuracy against mean confidence per bin, one line per curve, the diagonal
    for reference, leaf counts as a histogram below) to ``path``; False when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, hist) = plt.subplots(2, 1, figsize=(5.2, 6.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    width = 1 / max(1, len(curves)) / BINS * 0.9
    for i, (name, cal) in enumerate(curves.items()):
        used = [b for b in cal.bins if b.leaves]
        label = f"{name} (ECE {cal.ece:.3f}, n={cal.leaves})" if cal.ece is not None else f"{name} (no leaves)"
        ax.plot([b.confidence for b in used], [b.accuracy for b in used], marker="o", label=label)
        hist.bar([b.low + (i + 0.5) * width for b in cal.bins], [b.leaves for b in cal.bins], width=width, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("accuracy (leaf equals gold)")
    ax.set_title(title or "Reliability of per-field confidence")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    hist.set_yscale("log")
    hist.set_xlabel("confidence")
    hist.set_ylabel("leaves")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True

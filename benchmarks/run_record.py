"""What every benchmark run file records beside its numbers: date, commit and machine (and its load: the
machine is often shared, and a loaded machine inflates every time)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict[str, Any]:
    """Date (UTC), short commit, CPU model, cores, Python version and the 1/5/15-minute load averages."""
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "commit": commit.stdout.strip(),
            "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "load": list(os.getloadavg()) if hasattr(os, "getloadavg") else []}

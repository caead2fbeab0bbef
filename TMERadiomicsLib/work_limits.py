"""Bounds on the size options: a count is checked against the time, memory and
disk it would need before any work begins (issue 20).

Every size option (cases, workers, resamples, permutations, perturbations)
has a per-unit cost here, taken from a measured run, and is refused with one
line naming the value, the estimate and the limit when the estimate exceeds
the limit. The band widths are bounded the same way in ``regions.options``.
Standard library only: the CLI calls these before importing the library.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

# Ceilings. A command that would run longer than a day (a long-running analysis
# step: an hour) or need more than this working memory is far more likely a
# typo than intended; the limits are module constants so a deliberate huge
# run can raise them.
TIME_LIMIT_HOURS = 24.0
ANALYSIS_TIME_LIMIT_HOURS = 1.0
MEMORY_LIMIT_GB = 4.0


@dataclass(frozen=True)
class UnitCost:
    """What one unit of a size option costs (seconds of wall time, GB of memory and disk)."""

    seconds: float = 0.0
    memory_gb: float = 0.0
    disk_gb: float = 0.0


# cohort: 18.7 s for 90 cases on an idle 2-core machine (docs/cohort.md), 0.21 s a case;
# 5.4 MB on disk for 10 small cases (images, masks, the expression columns), 0.55 MB a case.
COHORT_CASE = UnitCost(seconds=0.21, disk_gb=0.6e-3)
# demo: 3 min 14 s for 90 cases (docs/cohort.md), 2.2 s a case (120 cases at load 1.3: 3 min 21 s,
# 1.7 s a case; the larger figure is kept). Memory: per case the features of both presets
# (~4,600 float columns) in a few copies (wide, combined, training matrices): ~0.2 MB.
# Disk: the cohort's 0.55 MB plus each preset's batch outputs (0.23 MB a case for han2024, measured
# on 3 cohort cases; qian2024's tables are 2.6x wider): rounded up to 1.5 MB.
DEMO_CASE = UnitCost(seconds=2.2, memory_gb=0.2e-3, disk_gb=1.5e-3)
# One feature worker on a case (batch_cmd.WORKER_MEMORY_GB: a full-size case's three regions).
WORKER = UnitCost(memory_gb=1.0)
# One bootstrap resample of an AUC: two stratified draws and a rank AUC, ~50 us on a cohort of
# tens of cases; 8 bytes kept per resample.
BOOTSTRAP_RESAMPLE = UnitCost(seconds=50e-6, memory_gb=8e-9)
# One CIBERSORT permutation: three nu-SVR fits on the signature's genes, ~0.1 s (libsvm).
CIBERSORT_PERMUTATION = UnitCost(seconds=0.1)


def check_count(flag: str, value: int, unit: UnitCost, *, multiplier: int = 1,
                time_limit_hours: float = TIME_LIMIT_HOURS, disk_at: str | Path | None = None) -> None:
    """Refuse ``value`` units of ``unit`` (times ``multiplier``: e.g. one bootstrap per score) whose
    estimated time, memory or disk (free space at ``disk_at``) exceeds the limit."""
    units = value * multiplier
    hours = units * unit.seconds / 3600
    if hours > time_limit_hours:
        raise InputError(f"{flag} {value} would take about {_hours(hours)} "
                         f"({unit.seconds:g} s each); the limit is {_hours(time_limit_hours)}", value=value)
    memory = units * unit.memory_gb
    limit = min(MEMORY_LIMIT_GB, machine_memory_gb())
    if memory > limit:
        raise InputError(f"{flag} {value} would need about {memory:.1f} GB of memory ({unit.memory_gb:g} GB each); "
                         f"the limit is {limit:.1f} GB", value=value)
    if disk_at is not None and unit.disk_gb:
        free = free_disk_gb(disk_at)
        disk = units * unit.disk_gb
        if disk > free:
            raise InputError(f"{flag} {value} would write about {disk:.1f} GB ({unit.disk_gb * 1e3:g} MB each); "
                             f"{disk_at} has {free:.1f} GB free", value=value)


def check_workers(flag: str, value: int, unit: UnitCost = WORKER) -> None:
    """Refuse more worker processes than the machine's memory holds (each may reach ``unit.memory_gb``)."""
    total = machine_memory_gb()
    if value * unit.memory_gb > total:
        raise InputError(f"{flag} {value} workers may need about {value * unit.memory_gb:g} GB "
                         f"({unit.memory_gb:g} GB each), more than this machine's {total:.0f} GB", value=value)


def machine_memory_gb() -> float:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e9
    except (AttributeError, ValueError, OSError):  # not POSIX: no figure, no memory bound beyond the limit
        return float("inf")


def free_disk_gb(path: str | Path) -> float:
    """Free space of the nearest existing folder at or above ``path``."""
    folder = Path(path).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free / 1e9


def _hours(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    return f"{hours:.1f} h".replace(".0 h", " h") if hours < 10 else f"{hours:,.0f} h"

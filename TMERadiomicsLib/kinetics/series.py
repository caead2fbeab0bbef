"""A DCE series for kinetics: every phase on one grid, with the time of each.

Phase 0 is the pre-contrast scan and its time is taken as the injection time:
DICOM rarely records the injection, and the phase times of a study are seconds
after the first phase (``io.dicom_series.phase_times``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import SimpleITK as sitk

from ..errors import InputError
from ..io.images import geometry_difference
from .definitions import EARLY_S, LATE_S, MIN_PHASES


@dataclass(frozen=True)
class KineticSeries:
    """Phases (3-D scalar images on one grid) and their times in seconds, pre-contrast first."""

    phases: tuple[sitk.Image, ...]
    times_s: tuple[float, ...]
    source: str = ""  # where the times came from: "DICOM acquisition time", "phantom.json", "--times"

    @classmethod
    def of(cls, phases: Sequence[sitk.Image], times_s: Sequence[float | None] | None, *, source: str = "",
           case_id: str | None = None, file=None) -> KineticSeries:
        """Check the phases and times and make the series; every problem is one ``InputError``."""
        phases = tuple(phases)
        if len(phases) < MIN_PHASES:
            raise InputError(f"kinetics need a pre-contrast and at least two post-contrast phases "
                             f"({MIN_PHASES}); got {len(phases)}", file=file, case=case_id, value=len(phases))
        for number, phase in enumerate(phases[1:], start=1):
            difference = geometry_difference(phases[0], phase)
            if difference:
                raise InputError(f"DCE phase {number} is not on the grid of phase 0 ({difference})",
                                 file=file, case=case_id)
        times = check_times(times_s, len(phases), case_id=case_id, file=file)
        return cls(phases, times, source)

    @property
    def reference(self) -> sitk.Image:
        return self.phases[0]

    def phase(self, number: int, *, file=None, case_id: str | None = None) -> sitk.Image:
        """Phase ``number`` (``--phase``: the one whose texture is extracted), refused when the study lacks it."""
        if not 0 <= number < len(self.phases):
            raise InputError(f"--phase {number} is not a phase of this study (0..{len(self.phases) - 1})",
                             file=file, case=case_id, value=number)
        return self.phases[number]

    def early_late(self, early_s: float = EARLY_S, late_s: float = LATE_S) -> tuple[int, int]:
        """The post-contrast phases nearest the early and late times, as I-SPY's UCSF code picks them
        (``definitions.py``): targets counted from the first post-contrast phase, each phase at its centre."""
        times = self.times_s
        if len(times) == 3:  # a pre-contrast and two post-contrast phases
            return 1, 2
        resolution = times[2] - times[1]
        centre = [t + resolution / 2.0 for t in times]
        post = range(1, len(times))
        early = min(post, key=lambda i: (abs(centre[i] - (times[1] + early_s)), i))
        later = [i for i in post if i > early]
        if not later:  # the early target is past the last phase: the last two phases
            return len(times) - 2, len(times) - 1
        late = min(later, key=lambda i: (abs(centre[i] - (times[1] + late_s)), i))
        return early, late


def check_times(times_s: Sequence[float | None] | None, count: int, *, case_id: str | None = None,
                file=None) -> tuple[float, ...]:
    """Finite, strictly increasing times from 0 (the pre-contrast phase), one per phase."""
    hint = "give them with --times S0,S1,... (seconds after the pre-contrast phase)"
    if times_s is None or any(t is None for t in times_s):
        raise InputError(f"the DCE phase times are missing; {hint}", file=file, case=case_id)
    times = [float(t) for t in times_s]
    if len(times) != count:
        raise InputError(f"{len(times)} phase times for {count} DCE phases", file=file, case=case_id,
                         value=",".join(f"{t:g}" for t in times))
    if not all(math.isfinite(t) for t in times):
        raise InputError("a DCE phase time is not a finite number", file=file, case=case_id,
                         value=",".join(f"{t:g}" for t in times))
    if any(b <= a for a, b in zip(times, times[1:])):
        raise InputError("DCE phase times must increase strictly from the pre-contrast phase (phases out of "
                         "order or repeated)", file=file, case=case_id, value=",".join(f"{t:g}" for t in times))
    start = times[0]
    return tuple(round(t - start, 6) for t in times)

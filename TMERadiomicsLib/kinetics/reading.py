"""Read every phase of a DCE study and the time of each, for kinetics.

The phases come as the project's other commands take them (``io.preprocessing``):
a 4-D or multi-component file, a DICOM folder whose series share one grid (ordered
by ``io.dicom_series.dce_phases``), or one 3-D file or folder per phase. The times,
first found of:

1. ``times`` given by the caller (``--times``);
2. the DICOM Acquisition Time of each phase series (``io.dicom_series.phase_times``);
3. ``phantom.json`` beside the files, when they are the ``phase<N>.nrrd`` files
   ``tmeradiomics phantom`` writes (its ``phase_times_s``); the folder itself may be
   given for them.

Anything else is refused: kinetics without times would be made up.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Union

import SimpleITK as sitk

from ..errors import InputError
from ..io.checks import check_dicom_files, check_read
from ..io.dicom_series import phase_times, read_series
from ..io.images import check_image, read_any
from ..io.preprocessing import _phase_count, dce_study, select_phase
from .series import KineticSeries

PathLike = Union[str, os.PathLike]
PHANTOM_PHASE = re.compile(r"phase(\d+)\.nrrd$")


def read_kinetic_series(paths: PathLike | Sequence[PathLike], *, times_s: Sequence[float] | None = None,
                        case_id: str | None = None) -> KineticSeries:
    """The phases and their times; every problem is one ``InputError``."""
    paths = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    if not paths:
        raise InputError("no DCE phase given", case=case_id)
    if len(paths) == 1 and _phantom_files(paths[0]):
        paths = _phantom_files(paths[0])  # a folder written by ``tmeradiomics phantom``
    if len(paths) == 1:
        phases, found, source = _one_source(paths[0], case_id)
    else:
        phases = [_read_phase(p, case_id) for p in paths]
        found, source = _phantom_times(paths), "phantom.json"
    if times_s is not None:
        found, source = list(times_s), "--times"
    elif found is None:
        source = ""
    return KineticSeries.of(phases, found, source=source, case_id=case_id, file=paths[0])


def _one_source(path: Path, case_id: str | None) -> tuple[list[sitk.Image], list | None, str]:
    study = dce_study(path, case_id=case_id)
    if study is not None:
        series = study[0]
        check_dicom_files(path, [f for s in series for f in s.files], case_id=case_id)
        phases = []
        for number, info in enumerate(series):
            try:
                image = read_series(info)
            except RuntimeError as error:
                reason = str(error).strip().splitlines()[-1] if str(error).strip() else "unknown"
                raise InputError(f"cannot read DCE phase {number} ({reason})", file=path, case=case_id) from None
            check_read(image, path, what="image", case_id=case_id)
            check_image(image, file=path, case_id=case_id)
            phases.append(image)
        return phases, phase_times(series), "DICOM acquisition time"
    image = read_any(path, case_id=case_id)
    count = _phase_count(image)
    if count < 2:
        raise InputError("kinetics need every DCE phase: give a 4-D image, a DICOM folder of the phase series, "
                         "or one file per phase (this image has one phase)", file=path, case=case_id, value=count)
    phases = [select_phase(image, i, file=path, case_id=case_id) for i in range(count)]
    for phase in phases:
        check_image(phase, file=path, case_id=case_id)
    return phases, None, ""


def _read_phase(path: Path, case_id: str | None) -> sitk.Image:
    image = read_any(path, case_id=case_id)
    check_image(image, file=path, case_id=case_id)
    return image


def _phantom_files(folder: Path) -> list[Path]:
    """The phase<N>.nrrd files of a phantom folder (beside its phantom.json) in phase order; [] otherwise."""
    if not folder.is_dir() or not (folder / "phantom.json").is_file():
        return []
    found = {int(m.group(1)): p for p in folder.iterdir() if (m := PHANTOM_PHASE.fullmatch(p.name))}
    return [found[n] for n in range(len(found))] if found and set(found) == set(range(len(found))) else []


def _phantom_times(paths: list[Path]) -> list[float] | None:
    """The phantom's phase times when the files are its phase<N>.nrrd, in order, beside its phantom.json."""
    numbers = [PHANTOM_PHASE.search(p.name) for p in paths]
    folders = {p.parent.resolve() for p in paths}
    if None in numbers or len(folders) != 1:
        return None
    description = paths[0].parent / "phantom.json"
    try:
        times = json.loads(description.read_text(encoding="utf-8"))["phase_times_s"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(times, list):
        return None
    try:
        return [times[int(m.group(1))] for m in numbers]  # type: ignore[union-attr]
    except (IndexError, TypeError):
        return None

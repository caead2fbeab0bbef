"""The DICOM series of a folder: listing them, picking one, and ordering a DCE study into phases.

A study folder often holds several series. ``list_series`` reads one header
per series (SimpleITK's GDCM, so also on Python 3.9); ``pick_series`` takes
``--series UID|NUMBER|DESCRIPTION``. Series that share one grid (rows,
columns, slices, spacing, orientation) are the phases of a DCE study:
``dce_phases`` orders them by Temporal Position Identifier, else by
Acquisition Time, else by Series Number, and gives each phase's time after
the first. Anything else without ``--series`` is refused, listing the series.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import SimpleITK as sitk

from ..errors import InputError
from .acquisition import ACQUISITION_TIME, TEMPORAL_POSITION, header

TAGS = {"number": "0020|0011", "description": "0008|103e", "rows": "0028|0010", "columns": "0028|0011",
        "spacing": "0028|0030", "orientation": "0020|0037"}
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class SeriesInfo:
    uid: str
    number: int | None
    description: str
    files: tuple[str, ...]
    grid: tuple[str, ...]  # rows, columns, slices, spacing, orientation as written
    acquisition_s: float | None  # seconds since midnight
    temporal_position: int | None

    def label(self) -> str:
        number = "?" if self.number is None else self.number
        return f"{number} {self.description!r} ({len(self.files)} slices)"

    def as_dict(self) -> dict:
        return {"series_uid": self.uid, "number": self.number, "description": self.description,
                "slices": len(self.files), "acquisition_s": self.acquisition_s,
                "temporal_position": self.temporal_position}


def list_series(folder: Path, *, case_id: str | None = None) -> list[SeriesInfo]:
    """Every DICOM series of the folder, by Series Number."""
    from .images import itk_warnings_off  # noqa: PLC0415 - images imports this module on use

    found = []
    with itk_warnings_off():  # GDCM's notes on non-DICOM files: what matters reaches the user as an InputError
        ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
        names = {uid: tuple(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), uid)) for uid in ids}
    for uid in ids:
        files = names[uid]
        try:
            reader = header(files[0])
        except RuntimeError as error:
            raise InputError(f"cannot read DICOM header ({error})", file=files[0], case=case_id) from None
        text = {key: reader.GetMetaData(tag).strip() if reader.HasMetaDataKey(tag) else "" for key, tag in TAGS.items()}
        found.append(SeriesInfo(
            uid=uid, number=_int(text["number"]), description=text["description"], files=files,
            grid=(text["rows"], text["columns"], str(len(files)), text["spacing"], text["orientation"]),
            acquisition_s=_seconds(reader.GetMetaData(ACQUISITION_TIME) if reader.HasMetaDataKey(ACQUISITION_TIME)
                                   else ""),
            temporal_position=_int(reader.GetMetaData(TEMPORAL_POSITION) if reader.HasMetaDataKey(TEMPORAL_POSITION)
                                   else "")))
    return sorted(found, key=lambda s: (s.number is None, s.number or 0, s.uid))


def listing(series: list[SeriesInfo]) -> str:
    return "; ".join(s.label() for s in series[:12]) + (f"; and {len(series) - 12} more" if len(series) > 12 else "")


def pick_series(series: list[SeriesInfo], selector: str, *, folder: Path, case_id: str | None = None) -> SeriesInfo:
    """The series ``--series`` names: its UID, else its Series Number, else its description (ignoring case)."""
    text = str(selector).strip()
    for match in ([s for s in series if s.uid == text],
                  [s for s in series if text.isdigit() and s.number == int(text)],
                  [s for s in series if s.description.casefold() == text.casefold()]):
        if len(match) == 1:
            return match[0]
        if len(match) > 1:
            raise InputError(f"--series {text!r} matches {len(match)} series; give its UID ({listing(match)})",
                             file=folder, case=case_id, value=text)
    raise InputError(f"--series {text!r} is no series of the folder ({listing(series)})", file=folder,
                     case=case_id, value=text)


def dce_phases(series: list[SeriesInfo]) -> tuple[list[SeriesInfo], str] | None:
    """The series as DCE phases in time order, and what ordered them; None unless they share one grid."""
    if len(series) < 2 or len({s.grid for s in series}) != 1:
        return None
    positions = [s.temporal_position for s in series]
    if None not in positions and len(set(positions)) == len(positions):
        return sorted(series, key=lambda s: s.temporal_position), "temporal position"
    times = [s.acquisition_s for s in series]
    if None not in times and len(set(times)) == len(times):
        return sorted(series, key=lambda s: s.acquisition_s), "acquisition time"
    return list(series), "series number"


def phase_times(phases: list[SeriesInfo]) -> list[float | None]:
    """Seconds from the first phase's acquisition to each phase's (across midnight too).

    A study ordered by temporal position may hold a phase acquired before the first one (its
    time says so, the scanner's temporal position says otherwise): that phase's time is
    negative, not nearly a day. No DCE study lasts 12 hours, so a later difference is midnight.
    """
    start = phases[0].acquisition_s
    if start is None:
        return [None] * len(phases)
    return [None if p.acquisition_s is None else round(_signed(p.acquisition_s - start), 3) for p in phases]


def _signed(seconds: float) -> float:
    seconds %= SECONDS_PER_DAY
    return seconds - SECONDS_PER_DAY if seconds > SECONDS_PER_DAY / 2 else seconds


def phase_record(phases: list[SeriesInfo], order: str, chosen: int) -> dict:
    """What the diagnostics say about a DCE study read from one folder (no UIDs: only the chosen series
    is referenced by anything written)."""
    return {"ordered_by": order, "chosen_phase": chosen,
            "phases": [{"phase": i, "series_number": p.number, "description": p.description, "time_s": t}
                       for i, (p, t) in enumerate(zip(phases, phase_times(phases)))]}


def read_series(info: SeriesInfo) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(list(info.files))
    return reader.Execute()


def _int(text: str) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None


def _seconds(text: str) -> float | None:
    text = str(text).strip()
    try:
        return int(text[0:2]) * 3600 + int(text[2:4]) * 60 + float(text[4:] or 0)
    except ValueError:
        return None

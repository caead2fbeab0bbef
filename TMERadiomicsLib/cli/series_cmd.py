"""``tmeradiomics series FOLDER``: the DICOM series of a folder, and whether they form a DCE study."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "series",
        help="list the DICOM series of a folder",
        description="List the DICOM series of a folder as JSON (UID, number, description, slices, acquisition "
        "time, temporal position), for --series UID|NUMBER|DESCRIPTION. Series that share one grid form a DCE "
        "study: they are listed in phase order with each phase's time after the first.",
    )
    parser.add_argument("folder", type=Path, help="folder holding DICOM files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..io.dicom_series import dce_phases, list_series, phase_times

    if not args.folder.is_dir():
        raise InputError("not a folder", file=args.folder)
    series = list_series(args.folder)
    if not series:
        raise InputError("folder holds no DICOM series", file=args.folder)
    study = dce_phases(series)
    report: dict = {"folder": str(args.folder), "series": [s.as_dict() for s in series]}
    if study is not None:
        phases, order = study
        report["dce"] = {"ordered_by": order, "phases": [
            {"phase": i, "series_uid": p.uid, "number": p.number, "description": p.description, "time_s": t}
            for i, (p, t) in enumerate(zip(phases, phase_times(phases)))]}
    print(json.dumps(report, indent=2))
    return 0

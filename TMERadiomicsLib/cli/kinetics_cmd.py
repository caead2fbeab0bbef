"""``tmeradiomics kinetics``: DCE kinetic maps, features and mean curves of one case's regions.

Takes every phase (a 4-D file, a DICOM folder of the phase series, or one file per
phase) and the tumour mask, builds the regions as ``tmeradiomics regions`` does, and
writes the maps as NRRD, the features and curves as CSV, the curves and an SER
overlay as PNG, and ``kinetics.json`` (docs/kinetics.md). The folder is written
only when everything is complete.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from ..errors import InputError
from .argtypes import case_id
from .regions_cmd import add_region_options, build_regions, case_id_of, check_widths

SUMMARY = ("PE_early_median", "SER_mean", "washout_fraction", "FTV_ml")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "kinetics",
        help="DCE kinetic maps, features and mean curves of the regions of one case",
        description="Read every DCE phase and its time, build the intratumoral, peritumoral and ring regions, "
        "and write the enhancement, SER, wash-in, wash-out, time-to-peak, iAUC, curve-type and FTV maps "
        "(NRRD), the kinetic features per region (kinetics.csv), each region's mean curve (curves.csv, "
        "curves.png), an SER overlay (ser_overlay.png) and kinetics.json.",
    )
    parser.add_argument("phases", type=Path, nargs="+", metavar="IMAGE_4D|PHASE",
                        help="a 4-D (or multi-component) image, a DICOM folder of the DCE phase series, or one 3-D "
                        "file per phase, pre-contrast first")
    parser.add_argument("mask", type=Path, metavar="TUMOUR_MASK",
                        help="tumour mask on the phases' grid: a label image, a Slicer .seg.nrrd, a DICOM SEG or an "
                        "RTSTRUCT")
    parser.add_argument("--times", type=phase_times, metavar="S0,S1,...",
                        help="the phase times in seconds (the first is the pre-contrast phase); default: the DICOM "
                        "acquisition times, or the phantom.json beside tmeradiomics phantom's phase files")
    parser.add_argument("--case-id", type=case_id,
                        help="case identifier written into every output (default: the first file's name)")
    parser.add_argument("--label", type=int, help="value of the tumour in a label map (required when the mask "
                        "is not binary)")
    parser.add_argument("--segment", metavar="NAME|NUMBER", help="the segment of a multi-segment mask to use")
    parser.add_argument("--resample-mask", action="store_true",
                        help="resample the masks onto the phases' grid (nearest neighbour) instead of refusing a "
                        "geometry mismatch")
    add_region_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an existing output folder")
    parser.set_defaults(func=run)


def phase_times(text: str) -> list[float]:
    """``0,60,120``: seconds (their count and order are checked against the phases when read)."""
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated seconds, e.g. 0,60,120: {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from ..dce import DEFAULT_PHASE
    from ..io.segments import read_tumour
    from ..kinetics import kinetic_features, read_kinetic_series
    from ..kinetics.outputs import write_kinetic_outputs
    from ..outputs import check_out_dir, staged_dir

    check_widths(args)
    out = check_out_dir(args.out, args.overwrite)
    args.image = args.phases[0]  # the default case ID is the first file's name, as for the other commands
    case = case_id_of(args)
    series = read_kinetic_series(args.phases, times_s=args.times, case_id=case)
    # The regions are built on the phase the other commands read by default (--air-below applies to it).
    image = series.phases[min(DEFAULT_PHASE, len(series.phases) - 1)]
    tumour = read_tumour(args.mask, reference=image, label=args.label, segment=args.segment, case_id=case,
                         resample=args.resample_mask)
    regions = build_regions(args, case, image, tumour.mask)
    result = kinetic_features(series, regions.masks, case_id=case)
    if result.maps is None:
        raise InputError("every region is empty, so there is no kinetic map", file=args.mask, case=case)
    with staged_dir(out) as stage:
        written = write_kinetic_outputs(stage, result, series, case)
    print(json.dumps(_summary(case, series, result, out, written), indent=2))
    return 0


def _summary(case: str, series, result, out: Path, written: list[str]) -> dict:
    regions = {region: {name: _number(values[f"kinetics_{name}"]) for name in SUMMARY}
               for region, values in result.values.items()}
    return {"case_id": case, "times_s": list(series.times_s), "times_source": series.source,
            "early_s": result.maps.info["early_s"], "late_s": result.maps.info["late_s"], "regions": regions,
            "failures": result.failures, "out": str(out), "files": written}


def _number(value: float) -> float | None:
    """JSON has no NaN: an undefined value (a region without FTV voxels has no SER) prints as null."""
    return None if math.isnan(value) else value

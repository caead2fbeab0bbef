"""``tmeradiomics regions``: intratumoral, peritumoral and ring masks for one case.

The argument helpers here (``add_case_arguments``, ``add_region_options``,
``load_case``, ``build_regions``) are shared by every command that starts
from an image and a tumour mask.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from .argtypes import case_id, finite_float
from .lazy import LazyDefault, given

if TYPE_CHECKING:
    import SimpleITK as sitk

    from ..io.segments import TumourMask
    from ..regions import Regions
    from ..regions.options import RegionOptions


def add_case_arguments(parser: argparse.ArgumentParser) -> None:
    """IMAGE and TUMOUR_MASK plus the options that say how to read them."""
    parser.add_argument("image", type=Path, help="image file (NRRD, NIfTI, MHA) or DICOM folder (one series, or "
                        "the series of a DCE study on one grid, ordered into phases by time)")
    parser.add_argument("--series", metavar="UID|NUMBER|DESCRIPTION",
                        help="the series to read from a DICOM folder holding several (tmeradiomics series lists them)")
    parser.add_argument("mask", type=Path, metavar="TUMOUR_MASK",
                        help="tumour mask: a label image on the image's grid, a Slicer .seg.nrrd, a DICOM SEG or an "
                        "RTSTRUCT (these two are placed by their own frame of reference)")
    parser.add_argument("--case-id", type=case_id, help="case identifier written into every output (default: the image file name)")
    parser.add_argument("--label", type=int, help="value of the tumour in a label map (required when the mask is not binary)")
    lesions = parser.add_mutually_exclusive_group()
    lesions.add_argument("--segment", metavar="NAME|NUMBER",
                         help="the segment of a multi-segment mask to use (name, ignoring case, or number; in a label "
                         "map the label value)")
    lesions.add_argument("--each-segment", action="store_true",
                         help="one case per segment (lesion), with the case ID <case-id>_<segment name>")
    parser.add_argument("--phase", type=int, default=LazyDefault(".dce", "DEFAULT_PHASE"), help="DCE phase of a 4-D image, 0 = pre-contrast (default: %(default)s)")
    parser.add_argument("--resample-mask", action="store_true", help="resample masks onto the image grid (nearest neighbour) instead of refusing a geometry mismatch")


def add_region_options(parser: argparse.ArgumentParser) -> None:
    """Band widths, exclusions, air threshold and component handling."""
    parser.add_argument("--peritumoral-mm", type=finite_float, default=5.0, help="outer width of the peritumoral shell in mm (default: %(default)s)")
    parser.add_argument("--ring-mm", type=finite_float, default=2.0, help="half-width of the ring on each side of the border in mm (default: %(default)s)")
    parser.add_argument("--exclude", type=Path, action="append", default=[], metavar="MASK", help="mask removed from peritumoral and ring (vessels, chest wall, skin, organs); repeatable")
    parser.add_argument("--air-below", type=finite_float, metavar="VALUE", help="remove voxels with intensity below VALUE from peritumoral and ring")
    parser.add_argument("--largest-component", action="store_true", help="keep only the largest connected component of the tumour")
    parser.add_argument("--allow-empty-regions", action="store_true",
                        help="accept a peritumoral or ring region that the exclusions leave empty (its features "
                        "are NaN) instead of failing the case")


def add_small_regions_option(parser: argparse.ArgumentParser) -> None:
    """``--allow-small-regions``, for the commands that extract features of the regions."""
    parser.add_argument("--allow-small-regions", action="store_true",
                        help="write NaN features for a region too small for them (e.g. a one-voxel tumour) "
                        "instead of failing the case")


def case_id_of(args: argparse.Namespace) -> str:
    """``--case-id``, or the image file name without its extension (checked like any case ID)."""
    from ..case_ids import check_case_id

    if args.case_id:
        return args.case_id
    name = args.image.name
    for suffix in (".nii.gz", ".seg.nrrd", ".nrrd", ".nii", ".mha", ".mhd"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    # The file is named by repr in the value: its name may hold the very newline refused.
    return check_case_id(name, source=f"case ID from the image file name {str(args.image)!r} (give --case-id)")


def load_case(args: argparse.Namespace) -> tuple[str, sitk.Image, sitk.Image]:
    """Read and validate the image (one DCE phase) and the tumour mask (``--segment`` picks one)."""
    case_id, image, cases = load_cases(args)
    if len(cases) != 1:
        raise InputError("this command takes one tumour; --each-segment is for regions and extract")
    return cases[0][0], image, cases[0][1].mask


def load_cases(args: argparse.Namespace, image: sitk.Image | None = None
               ) -> tuple[str, sitk.Image, list[tuple[str, TumourMask]]]:
    """The image (read here unless given) and (case ID, tumour) per case: one, or one per segment with
    ``--each-segment``."""
    from ..io.preprocessing import read_dce
    from ..io.segments import each_segment, read_tumour

    case_id = case_id_of(args)
    if image is None:
        image = read_dce(args.image, args.phase, case_id=case_id, phase_chosen=given(args, "phase"),
                         series=getattr(args, "series", None))
    if getattr(args, "each_segment", False):
        if args.label is not None:
            raise InputError("--each-segment takes every segment; --label picks one", file=args.mask, case=case_id)
        return case_id, image, each_segment(args.mask, reference=image, case_id=case_id, resample=args.resample_mask)
    tumour = read_tumour(args.mask, reference=image, label=args.label, segment=getattr(args, "segment", None),
                         case_id=case_id, resample=args.resample_mask)
    return case_id, image, [(case_id, tumour)]


def build_regions(args: argparse.Namespace, case_id: str, image: sitk.Image, tumour: sitk.Image) -> Regions:
    """Read the exclusion masks and build the regions with the command-line options."""
    return region_options(args).build(case_id, image, tumour)


def region_options(args: argparse.Namespace) -> RegionOptions:
    from ..regions.options import RegionOptions

    return RegionOptions(
        peritumoral_mm=args.peritumoral_mm,
        ring_mm=args.ring_mm,
        exclude=tuple(Path(p) for p in args.exclude),
        air_below=args.air_below,
        largest_component=args.largest_component,
        resample_mask=args.resample_mask,
        allow_empty=args.allow_empty_regions,
        allow_small=getattr(args, "allow_small_regions", False),  # only the commands that extract have it
    )


def check_widths(args: argparse.Namespace) -> None:
    """Refuse bad widths before any file is read."""
    for flag, value in (("--peritumoral-mm", args.peritumoral_mm), ("--ring-mm", args.ring_mm)):
        if not value > 0 or value != value or value == float("inf"):
            raise InputError(f"{flag} must be a positive number of mm", value=value)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "regions",
        help="build intratumoral, peritumoral and ring masks",
        description="Build the intratumoral, peritumoral (0 < d <= W_p) and ring (-W_r <= d <= W_r) regions "
        "of one tumour, write them as NRRD masks and one Slicer segmentation, and print the summary as JSON.",
    )
    add_case_arguments(parser)
    add_region_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an existing output folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..outputs import check_out_dir, staged_dir
    from ..regions.outputs import write_regions

    from ..regions.outputs import summary_with_source

    check_widths(args)
    out = check_out_dir(args.out, args.overwrite)
    _, image, cases = load_cases(args)
    built = [(case, tumour.source, build_regions(args, case, image, tumour.mask)) for case, tumour in cases]
    with staged_dir(out) as stage:
        for case, source, result in built:
            # --each-segment: one folder per lesion, named by its case ID
            write_regions(result, stage / case if args.each_segment else stage, image, mask_source=source)
    summaries = [summary_with_source(result, source) for _, source, result in built]
    print(json.dumps(summaries if args.each_segment else summaries[0], indent=2))
    return 0

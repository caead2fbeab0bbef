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

    from ..regions import Regions
    from ..regions.options import RegionOptions


def add_case_arguments(parser: argparse.ArgumentParser) -> None:
    """IMAGE and TUMOUR_MASK plus the options that say how to read them."""
    parser.add_argument("image", type=Path, help="image file (NRRD, NIfTI, MHA) or DICOM series folder")
    parser.add_argument("mask", type=Path, metavar="TUMOUR_MASK", help="tumour mask on the image's grid")
    parser.add_argument("--case-id", type=case_id, help="case identifier written into every output (default: the image file name)")
    parser.add_argument("--label", type=int, help="value of the tumour in a label map (required when the mask is not binary)")
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
    """Read and validate the image (one DCE phase) and the tumour mask."""
    from ..io.images import read_mask
    from ..io.preprocessing import read_dce

    case_id = case_id_of(args)
    image = read_dce(args.image, args.phase, case_id=case_id, phase_chosen=given(args, "phase"))
    tumour = read_mask(args.mask, reference=image, label=args.label, case_id=case_id, resample=args.resample_mask)
    return case_id, image, tumour


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

    check_widths(args)
    out = check_out_dir(args.out, args.overwrite)
    case_id, image, tumour = load_case(args)
    result = build_regions(args, case_id, image, tumour)
    with staged_dir(out) as stage:
        write_regions(result, stage, image)
    print(json.dumps(result.summary_dict(), indent=2))
    return 0

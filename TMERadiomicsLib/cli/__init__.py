"""The ``tmeradiomics`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to the
function that runs it. ``main`` turns an ``InputError`` into one line on
stderr and exit code 2, with no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import InputError

# Module names of the sub-commands, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "demo_cmd",
    "phantom_cmd",
    "cohort_cmd",
    "regions_cmd",
    "extract_cmd",
    "presets_cmd",
    "calibrate_cmd",
    "train_cmd",
    "evaluate_cmd",
    "score_cmd",
    "labels_cmd",
    "survival_cmd",
    "response_cmd",
    "session_cmd",
    "icc_cmd",
    "perturb_cmd",
    "batch_cmd",
)

EXIT_INPUT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tmeradiomics",
        description="Breast DCE-MRI radiomics of the tumour immune microenvironment.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # PyRadiomics logs routine notes (e.g. GLCM symmetry) as warnings.
    logging.getLogger("radiomics").setLevel(logging.INFO if args.verbose else logging.ERROR)
    try:
        return int(args.func(args) or 0)
    except InputError as error:
        print(f"tmeradiomics {args.command}: error: {error}", file=sys.stderr)
        return EXIT_INPUT_ERROR


if __name__ == "__main__":
    sys.exit(main())

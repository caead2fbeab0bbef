"""Headless batch in Slicer:

    Slicer --no-main-window --python-script batch.py MANIFEST.csv --out results/ \
        [--preset qian2024] [--model BUNDLE_FOLDER ...] [--peritumoral-mm 5] [--ring-mm 2] [--overwrite]

Runs every case of the manifest through the same Logic calls as the panel
(generateRegions, computeFeatures, applyModels) and exits with 0 when every
case succeeded, 1 when some failed (see failures.csv) or the run failed,
2 on bad arguments or input, 130 when interrupted. Inside Slicer it always
ends with ``slicer.util.exit(status)``: a script that returns or raises
would leave the application running.
"""

import argparse
import logging
import sys
import traceback
from pathlib import Path

MODULE_DIR = Path(__file__).resolve().parent.parent
for folder in (MODULE_DIR, MODULE_DIR.parent):  # installed layout, then source layout
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="TMERadiomics headless batch over a manifest CSV")
    parser.add_argument("manifest", help="CSV with case_id, image, tumour[, exclusions]")
    parser.add_argument("--out", required=True, help="output folder (features.csv, scores.csv, failures.csv)")
    parser.add_argument("--preset", default="qian2024")
    parser.add_argument("--model", action="append", default=[], help="calibrated model bundle folder (repeatable)")
    parser.add_argument("--peritumoral-mm", type=float, default=5.0)
    parser.add_argument("--ring-mm", type=float, default=2.0)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    import slicer

    from TMERadiomicsLogic.batch import run_batch

    scene = getattr(slicer, "mrmlScene", None)
    if scene is None:  # slicer-core: a scene of our own, with segmentations support
        scene = slicer.vtkMRMLScene()
        segmentations = slicer.vtkSlicerSegmentationsModuleLogic()
        segmentations.SetMRMLScene(scene)
    try:
        counts = run_batch(args.manifest, args.out, scene, preset=args.preset, models=args.model,
                           peritumoral_mm=args.peritumoral_mm, ring_mm=args.ring_mm, overwrite=args.overwrite)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{counts['done']} case(s) done, {counts['failed']} failed; results in {args.out}")
    return 0 if counts["failed"] == 0 else 1


def guarded_main(argv) -> int:
    """``main`` with every failure turned into an exit status (argparse's own exits included)."""
    try:
        return main(argv)
    except SystemExit as stop:  # argparse: --help (0) or bad arguments (2)
        return stop.code if isinstance(stop.code, int) else 2
    except KeyboardInterrupt:
        print("interrupted; no results written", file=sys.stderr)
        return 130
    except BaseException as error:  # anything else: say what, never leave Slicer running
        traceback.print_exc()
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


def leave(status: int) -> None:
    """Exit with ``status``: through ``slicer.util.exit`` inside the Slicer application, else plainly."""
    try:
        import slicer

        app_exit = slicer.util.exit if getattr(slicer, "app", None) is not None else None
    except (ImportError, AttributeError):
        app_exit = None
    if app_exit is not None:
        app_exit(status)
    else:
        sys.exit(status)


if __name__ == "__main__":
    leave(guarded_main(sys.argv[1:]))

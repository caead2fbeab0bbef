"""Render the TMERadiomics panel, driven on the rig, to the PNGs shown in docs/slicer.md.

    PYTHONPATH=$PWD python Testing/slicer_rig/render_panel.py docs/images

Two pictures on Slicer 5.12.3's runtime (QWidget.grab, offscreen): the panel
as a stock Slicer first shows it (a phantom case loaded, the packages the
panel lacks named), and after Run all with a signature calibrated on
generated phantoms (TMERadiomicsLogic.scene.calibrated_phantom_bundles, for
demos only: phantom risk groups say nothing about patients). About a minute,
most of it the calibration.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TESTING = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(TESTING), str(TESTING.parent)]

from slicer_rig import runtime  # noqa: E402
from slicer_rig.pythonqt import answer  # noqa: E402

TAG = "v5.12.3"


def _case(rig):
    rig.load_module()
    from TMERadiomicsLogic.scene import add_phantom_case

    volume, segmentation, ids = add_phantom_case(rig.slicer.mrmlScene, seed=3, name="case-3")
    return volume, segmentation, ids


def _open(rig):
    widget = rig.create_widget()
    rig.enter()
    return widget, widget.ui


def render_first_open(out: Path) -> Path:
    rig = runtime.install(TAG)  # a stock Slicer: pandas, scikit-learn, PyYAML, skops missing
    try:
        _case(rig)
        _open(rig)
        return rig.render_panel(out / "slicer-panel-first-open.png")
    finally:
        rig.uninstall()


def render_after_run_all(out: Path) -> Path:
    rig = runtime.install(TAG, blocked=())
    try:
        volume, segmentation, ids = _case(rig)
        from TMERadiomicsLogic.scene import calibrated_phantom_bundles

        with tempfile.TemporaryDirectory() as folder:
            bundle = calibrated_phantom_bundles(folder, ["qian2024-combined"])[0]
            widget, ui = _open(rig)
            ui.tumorSegmentSelector.setCurrentSegmentID(ids["Tumour"])
            ui.exclusionSegmentSelector.setSelectedSegmentIDs([ids["Vessels"]])
            answer(str(bundle))
            ui.addModelButton.click()
            ui.runAllButton.click()
            if rig.dialogs[1:] or rig.slot_errors:
                raise RuntimeError(f"Run all failed on the rig: {rig.dialogs} {rig.slot_errors}")
            return rig.render_panel(out / "slicer-panel-after-run-all.png")
    finally:
        rig.uninstall()


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs/images")
    out.mkdir(parents=True, exist_ok=True)
    for path in (render_first_open(out), render_after_run_all(out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The Logic's Kinetics on slicer-core: a DCE sequence (times from its index), separately loaded phases
(times typed), maps as coloured volumes, and each region's mean curve as a table and a plot chart.
Every value is compared with the library run directly on the same SimpleITK data."""

import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

slicer = pytest.importorskip("slicer", reason="slicer-core is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "TMERadiomics"))

from test_slicer_logic import build_sequence_case, oblique  # noqa: E402
from TMERadiomicsLogic import kinetics as slicer_kinetics  # noqa: E402
from TMERadiomicsLogic import volumes  # noqa: E402
from TMERadiomicsLogic.scene import add_segmentation, add_volume  # noqa: E402
from TMERadiomicsLib import regions  # noqa: E402
from TMERadiomicsLib.kinetics import KineticSeries, kinetic_features  # noqa: E402

pytestmark = pytest.mark.slicer
TIMES = "0, 60, 120, 180, 240, 300"


@pytest.fixture(scope="module")
def case():
    c = build_sequence_case(seconds_per_phase=60)
    segmentation, ids = add_segmentation(c["scene"], c["proxy"], {"Tumour": oblique(c["phantom"].tumour)})
    c["segmentation"], c["region_ids"] = segmentation, c["logic"].generateRegions(c["proxy"], segmentation,
                                                                                    ids["Tumour"])
    phases = [oblique(p) for p in c["phantom"].phases]
    built = regions.build(oblique(c["phantom"].tumour), phases[2], case_id="DCE")
    c["expected"] = kinetic_features(KineticSeries.of(phases, c["phantom"].times_s), built.masks)
    c["output"] = c["logic"].computeKinetics(c["proxy"], segmentation, c["region_ids"])
    return c


def test_sequence_kinetics_equal_the_library_s(case):
    output, expected = case["output"], case["expected"]
    assert output.times_s == (0.0, 60.0, 120.0, 180.0, 240.0, 300.0)
    assert output.times_source == "sequence index (s)"
    for region, values in expected.values.items():
        for name, value in values.items():
            assert output.result.values[region][name] == pytest.approx(value, rel=1e-9, nan_ok=True), (region, name)
    assert case["browser"].GetSelectedItemNumber() == 4  # the user's view did not move


def test_maps_are_volumes_in_place_with_their_colour_tables(case):
    output = case["output"]
    assert set(output.maps) == set(slicer_kinetics.SHOWN_MAPS)
    ser = output.maps["SER"]
    display = ser.GetDisplayNode()
    assert display.GetColorNode().GetName() == "TMERadiomics kinetics SER"
    assert (display.GetWindowLevelMin(), display.GetWindowLevelMax()) == slicer_kinetics.SER_RANGE
    assert output.maps["curve_type"].GetDisplayNode().GetColorNode().GetColorName(3) == "wash-out"
    # The map volume lies on the DCE grid: at the tumour's centre it holds the library's map value there
    # (the library ran on the whole phases, the Logic on the regions' box of each).
    library = case["expected"].maps
    centre = np.argwhere(case["expected"].masks_on_box["intratumoral"]).mean(axis=0).round().astype(int)
    full = oblique(case["phantom"].phases[0])
    point = full.TransformIndexToPhysicalPoint([int(s.start + c) for s, c in zip(library.box[::-1], centre[::-1])])
    image = volumes.volume_to_image(ser)
    index = image.TransformPhysicalPointToIndex(point)
    assert sitk.GetArrayViewFromImage(image)[index[::-1]] == pytest.approx(float(library.values["SER"][tuple(centre)]))


def test_mean_curves_table_and_chart(case):
    output, expected = case["output"], case["expected"]
    table = output.table.GetTable()
    assert table.GetNumberOfRows() == 6 and table.GetNumberOfColumns() == 4
    pe = table.GetColumnByName("intratumoral mean PE (%)")
    assert [pe.GetValue(i) for i in range(6)] == pytest.approx(expected.curves["intratumoral"]["mean_PE"], rel=1e-9)
    assert output.chart.GetNumberOfPlotSeriesNodes() == 3
    assert output.chart.GetNthPlotSeriesNode(0).GetXColumnName() == "time_s"


def test_a_second_run_replaces_the_first_run_s_nodes(case):
    scene = case["scene"]
    before = scene.GetNumberOfNodes()
    case["logic"].computeKinetics(case["proxy"], case["segmentation"], case["region_ids"])
    assert scene.GetNumberOfNodes() == before


def test_separately_loaded_phases_with_typed_times(case):
    scene = case["scene"]
    phases = [add_volume(scene, oblique(p), f"loaded phase {n}") for n, p in enumerate(case["phantom"].phases)]
    logic = case["logic"]
    assert logic.kineticsBlocker(None, case["segmentation"], case["region_ids"], phases) is None
    nodes = scene.GetNumberOfNodes()
    with pytest.raises(ValueError, match="phase times are missing"):
        logic.computeKinetics(None, case["segmentation"], case["region_ids"], phases)
    assert scene.GetNumberOfNodes() == nodes  # refused before the scene changed
    output = logic.computeKinetics(None, case["segmentation"], case["region_ids"], phases, TIMES)
    assert output.times_source == "typed"
    expected = case["expected"].values["intratumoral"]
    assert output.result.values["intratumoral"]["kinetics_SER_mean"] == pytest.approx(
        expected["kinetics_SER_mean"], rel=1e-9)


def test_refusals_name_the_problem():
    c = build_sequence_case()  # index values are item numbers, without a time unit
    segmentation, ids = add_segmentation(c["scene"], c["proxy"], {"Tumour": oblique(c["phantom"].tumour)})
    region_ids = c["logic"].generateRegions(c["proxy"], segmentation, ids["Tumour"])
    with pytest.raises(ValueError, match="phase times are missing"):
        c["logic"].computeKinetics(c["proxy"], segmentation, region_ids)
    with pytest.raises(ValueError, match="must increase strictly"):
        c["logic"].computeKinetics(c["proxy"], segmentation, region_ids, timesText="0, 60, 60, 180, 240, 300")
    with pytest.raises(ValueError, match="seconds separated by commas"):
        c["logic"].computeKinetics(c["proxy"], segmentation, region_ids, timesText="0, 1 min")
    plain = add_volume(c["scene"], oblique(c["phantom"].image()), "one phase")
    assert "one phase" in c["logic"].kineticsBlocker(plain, segmentation, region_ids)

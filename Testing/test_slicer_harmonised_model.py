"""The Slicer Logic's Apply models with a bundle harmonised by site (``train --harmonise``), on slicer-core:
the panel's Site field gives the case's site; without it, or with a site the fit never saw, one message."""

import sys
from pathlib import Path

import numpy as np
import pytest

slicer = pytest.importorskip("slicer", reason="slicer-core is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "TMERadiomics"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_training_harmonise import FAST_LASSO, sited_tables  # noqa: E402
from TMERadiomicsLogic import TMERadiomicsLogic, tables  # noqa: E402
from TMERadiomicsLib.errors import InputError  # noqa: E402
from TMERadiomicsLib.training import train  # noqa: E402

pytestmark = pytest.mark.slicer


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    features, labels = sited_tables()
    bundle = train(features, labels, "qian2024-lasso", seed=2, label="state", options=FAST_LASSO, harmonise="site")
    return bundle, bundle.save(tmp_path_factory.mktemp("harmonised") / "bundle"), features


def _features_node(scene, row):
    frame, meta = tables.features_frame(row)
    node = scene.AddNewNodeByClass("vtkMRMLTableNode", "case features")
    tables.frame_to_table(frame, node, {"Kind": "features", **meta})
    return node


def test_apply_models_scores_by_the_typed_site_and_refuses_without_one(bundle_path):
    bundle, path, features = bundle_path
    scene = slicer.vtkMRMLScene()
    logic = TMERadiomicsLogic(scene)
    case = features.iloc[[7]]
    node = _features_node(scene, case.drop(columns="site"))
    nodes = scene.GetNumberOfNodes()
    with pytest.raises(ValueError, match="type the case's site in the Site field, one of A, B, C"):
        logic.applyModels(node, [str(path)])
    logic.caseSite = "Z"
    with pytest.raises(InputError, match="site in column 'site' was not seen.*value: Z"):
        logic.applyModels(node, [str(path)])
    assert scene.GetNumberOfNodes() == nodes  # refused before the scene changed
    logic.caseSite = str(case["site"].iloc[0])
    scores = tables.table_to_frame(logic.applyModels(node, [str(path)]))
    expected = bundle.score(case)["probability"].iloc[0]
    assert np.isclose(float(scores["Probability"].iloc[0]), expected, rtol=0, atol=1e-9)
    logic.caseSite = "A" if case["site"].iloc[0] != "A" else "B"  # another site gives another probability
    other = tables.table_to_frame(logic.applyModels(node, [str(path)]))
    assert not np.isclose(float(other["Probability"].iloc[0]), expected, rtol=0, atol=1e-6)

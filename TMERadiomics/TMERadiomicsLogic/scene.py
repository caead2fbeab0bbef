"""Putting library data into a scene: phantoms for the self-test, files for the batch.

Reading goes through the library's readers and the same volume/segment
bridge the Logic uses, so headless tests on slicer-core cover the batch
and the self-test paths too.
"""

from __future__ import annotations

import SimpleITK as sitk

from . import segments, volumes


def add_volume(scene, image: sitk.Image, name: str):
    """A scalar volume node holding ``image``."""
    return volumes.image_to_volume(image, scene, name)


def add_segmentation(scene, volume_node, masks: dict[str, sitk.Image], name: str = "Segmentation"):
    """A segmentation on the volume's geometry with one segment per named mask; returns (node, ids)."""
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", name)
    node.CreateDefaultDisplayNodes()
    node.SetReferenceImageGeometryParameterFromVolumeNode(volume_node)
    ids = {}
    for index, (segment_name, mask) in enumerate(masks.items()):
        colour = _PALETTE[index % len(_PALETTE)]
        ids[segment_name] = segments.add_mask_segment(node, mask, segment_name, colour, region=None)
    return node, ids


_PALETTE = ((0.5, 0.68, 0.5), (0.94, 0.84, 0.57), (0.69, 0.48, 0.4), (0.44, 0.72, 0.82))


def add_phantom_case(scene, seed: int = 0, size: str = "small", name: str | None = None):
    """A generated DCE phantom (second post-contrast phase) and its Tumour and Vessels segments."""
    from TMERadiomicsLib.cohort.phantom import make_phantom

    phantom = make_phantom(size, seed=seed)
    volume = add_volume(scene, phantom.image(), name or f"phantom-{seed}")
    segmentation, ids = add_segmentation(scene, volume, {"Tumour": phantom.tumour, "Vessels": phantom.vessels})
    return volume, segmentation, ids


def calibrated_phantom_bundles(out_dir, names, seeds=range(10)) -> list:
    """Bundled Qian signatures calibrated on generated phantoms (for self-tests and demos only).

    Phantom cohorts say nothing about patients: these groups only exercise
    the overlay.
    """
    from pathlib import Path

    import pandas as pd

    from TMERadiomicsLib import regions
    from TMERadiomicsLib.features.extract import extract_case
    from TMERadiomicsLib.models import bundled_model, calibrate, load_bundle
    from TMERadiomicsLib.cohort.phantom import make_phantom

    rows = []
    for seed in seeds:
        phantom = make_phantom("small", seed=seed)
        result = regions.build(phantom.tumour, phantom.image(), case_id=f"calibration-{seed}")
        masks = {name: result.masks[name] for name in ("intratumoral", "peritumoral")}
        rows.append(extract_case(phantom.image(), masks, "qian2024", case_id=f"calibration-{seed}").combined())
    cohort = pd.concat(rows, ignore_index=True)
    return [calibrate(load_bundle(bundled_model(name)), cohort).save(Path(out_dir) / name) for name in names]

"""Headless batch: every case of a manifest through the Logic, tables written atomically.

Manifest CSV columns: ``case_id``, ``image`` (volume file), ``tumour`` (mask
file), optional ``exclusions`` (mask files separated by ``;``). Writes
``features.csv`` (combined view, one row per case), ``scores.csv`` (one row
per case and model) and ``failures.csv`` (case, reason) into ``out``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from .i18n import tr as _
from . import scene as scene_io
from . import tables

logger = logging.getLogger(__name__)


def run_batch(manifest: str | Path, out: str | Path, scene, *, preset: str = "qian2024",
              models: Sequence[str | Path] = (), peritumoral_mm: float = 5.0, ring_mm: float = 2.0,
              overwrite: bool = False) -> dict[str, int]:
    """Run every case; returns counts of ``done`` and ``failed`` cases."""
    import pandas as pd

    from TMERadiomicsLib.models.tables import read_table
    from TMERadiomicsLib.outputs import atomic_write_text, check_out_dir, staged_dir

    from .logic import TMERadiomicsLogic

    out = check_out_dir(out, overwrite)
    cases = read_table(manifest)
    for column in ("image", "tumour"):
        if column not in cases.columns:
            raise ValueError(_("manifest {manifest} has no {column} column").format(manifest=manifest, column=column))
    logic = TMERadiomicsLogic(scene)
    features, scores, failures = [], [], []
    for row in cases.itertuples(index=False):
        try:
            combined, scored = _run_case(logic, scene, row, Path(manifest).parent, preset, models,
                                         peritumoral_mm, ring_mm)
            features.append(combined)
            scores.extend(scored)
        except ValueError as error:  # user-fixable: record and go on with the next case
            logger.error("case %s: %s", row.case_id, error)
            failures.append({"case_id": row.case_id, "reason": str(error)})
        except Exception as error:  # a fault of one case must not lose the others' results
            logger.exception("case %s failed", row.case_id)
            failures.append({"case_id": row.case_id, "reason": f"{type(error).__name__}: {error}"})
        finally:
            scene.Clear(0)
    with staged_dir(out) as stage:
        if features:
            atomic_write_text(stage / "features.csv", pd.concat(features, ignore_index=True).to_csv(index=False))
        atomic_write_text(stage / "scores.csv", pd.DataFrame(scores, columns=["case_id", *tables.SCORE_COLUMNS])
                          .to_csv(index=False))
        atomic_write_text(stage / "failures.csv", pd.DataFrame(failures, columns=["case_id", "reason"])
                          .to_csv(index=False))
    return {"done": len(features), "failed": len(failures)}


def _run_case(logic, scene, row, base: Path, preset, models, peritumoral_mm, ring_mm):
    from TMERadiomicsLib.io.images import read_image, read_mask

    def path(value) -> Path:
        return (base / str(value)).resolve()

    image = read_image(path(row.image), case_id=row.case_id)
    masks = {"Tumour": read_mask(path(row.tumour), reference=image, case_id=row.case_id)}
    exclusions = getattr(row, "exclusions", "")
    for index, name in enumerate(str(exclusions).split(";") if isinstance(exclusions, str) and exclusions else []):
        masks[f"Exclusion {index + 1}"] = read_mask(path(name), reference=image, case_id=row.case_id)
    volume = scene_io.add_volume(scene, image, str(row.case_id))
    segmentation, ids = scene_io.add_segmentation(scene, volume, masks)
    exclusion_ids = [ids[n] for n in masks if n != "Tumour"]
    _ids, features, scored = logic.runAll(volume, segmentation, ids["Tumour"], preset, list(models),
                                          peritumoralMm=peritumoral_mm, ringMm=ring_mm,
                                          exclusionSegmentIds=exclusion_ids)
    rows = []
    if scored is not None:
        rows = [{"case_id": row.case_id, **r} for r in tables.table_to_frame(scored).to_dict("records")]
    return tables.combined_from_table(features), rows

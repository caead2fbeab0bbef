"""A cohort folder without a manifest: its cases found by layout, then checked as a manifest's rows.

Two layouts are understood, the ones radiomics data usually comes in:

- one sub-folder per case (the case ID is the folder's name) holding one
  image and one mask, e.g. ``P001/dce.nrrd`` + ``P001/tumour.seg.nrrd``;
- flat pairs in the folder itself, ``<case>_image.<ext>`` (or ``<case>.<ext>``)
  beside ``<case>_mask.<ext>``, as PyRadiomics' own samples are named
  (``breast1_image.nrrd``, ``breast1_label.nrrd``).

A mask is the file whose name holds a mask word as a token (``mask``,
``label``, ``seg``, ``roi``, ``tumour`` ...); a ``.seg.nrrd`` is always one.
Anything the rules cannot pair without guessing (two images in a case
folder, a mask with no image) is listed in one ``InputError``, with the hint
to write a manifest: a batch never runs on a pairing the user did not see.
The pairing found is recorded in the batch folder's run record.

A folder holding ``manifest.csv`` is that manifest (the layout the synthetic
cohort and the panel write).
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

from ..errors import InputError
from .manifest import CaseSpec, read_manifest, specs_from_table

MANIFEST_IN_FOLDER = "manifest.csv"
IMAGE_SUFFIXES = (".nii.gz", ".nrrd", ".nhdr", ".nii", ".mha", ".mhd")
MASK_WORDS = frozenset({"mask", "masks", "label", "labels", "labelmap", "seg", "segmentation", "roi", "voi",
                        "tumour", "tumor", "gtv", "lesion"})
IMAGE_WORDS = ("image", "img", "volume", "dce")  # the flat layout's image names: <case>_image.nrrd


def read_cases(source: str | PathLike) -> tuple[list[CaseSpec], list[dict[str, str]] | None]:
    """The cases of a manifest CSV or of a cohort folder; with the discovered rows (None for a manifest)."""
    source = Path(source)
    if not source.is_dir():
        return read_manifest(source), None
    if (source / MANIFEST_IN_FOLDER).is_file():
        return read_manifest(source / MANIFEST_IN_FOLDER), None
    rows = discover_rows(source)
    import pandas as pd

    return specs_from_table(pd.DataFrame(rows, columns=["case_id", "image", "mask"], dtype=str), source,
                            source.absolute()), rows


def discover_rows(folder: Path) -> list[dict[str, str]]:
    """``case_id``, ``image``, ``mask`` (relative to ``folder``) of every case the layout rules pair."""
    rows, problems = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        row, problem = _case_folder(sub, folder)
        rows += row
        problems += problem
    flat_rows, flat_problems = _flat_pairs(folder)
    rows += flat_rows
    problems += flat_problems
    if problems:
        raise InputError(f"cohort folder has {len(problems)} case(s) that cannot be paired without guessing: "
                         + "; ".join(problems) + f"; write a {MANIFEST_IN_FOLDER} (case_id,image,mask) to choose",
                         file=folder)
    if not rows:
        raise InputError(f"cohort folder holds no {MANIFEST_IN_FOLDER}, no case folders with an image and a mask, "
                         f"and no <case>_image/<case>_mask pairs ({', '.join(IMAGE_SUFFIXES)})", file=folder)
    return sorted(rows, key=lambda r: r["case_id"])


def is_image_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.name.lower().endswith(IMAGE_SUFFIXES)


def is_mask_name(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".seg.nrrd") or bool(MASK_WORDS & set(_tokens(_stem(path))))


def _stem(path: Path) -> str:
    name = path.name
    for suffix in IMAGE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _tokens(stem: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", stem.lower()) if t]


def _case_folder(sub: Path, root: Path) -> tuple[list[dict[str, str]], list[str]]:
    files = sorted(p for p in sub.iterdir() if is_image_file(p))
    if not files:
        return [], []  # not a case folder (notes, DICOM, outputs): left alone
    masks = [p for p in files if is_mask_name(p)]
    images = [p for p in files if not is_mask_name(p)]
    if len(images) == 1 and len(masks) == 1:
        return [{"case_id": sub.name, "image": _rel(images[0], root), "mask": _rel(masks[0], root)}], []
    found = f"{len(images)} image(s) ({_names(images)}) and {len(masks)} mask(s) ({_names(masks)})"
    return [], [f"case folder {sub.name}: {found}, need one of each"]


def _flat_pairs(folder: Path) -> tuple[list[dict[str, str]], list[str]]:
    files = sorted(p for p in folder.iterdir() if is_image_file(p))
    masks = [p for p in files if is_mask_name(p)]
    images = {_stem(p): p for p in files if not is_mask_name(p)}
    rows, problems, used = [], [], set()
    for mask in masks:
        case_id = _case_prefix(_stem(mask))
        image = _image_for(case_id, images)
        if image is None:
            problems.append(f"mask {mask.name}: no image {case_id}_image.* or {case_id}.* beside it")
            continue
        used.add(image)
        rows.append({"case_id": case_id, "image": image.name, "mask": mask.name})
    problems += [f"image {p.name}: no mask {_case_prefix(_stem(p))}_mask.* beside it"
                 for p in images.values() if p not in used]
    return rows, problems


def _case_prefix(stem: str) -> str:
    """``breast1`` of ``breast1_label`` / ``breast1_image``: the stem up to its last separator token."""
    parts = re.split(r"([_\-. ]+)", stem)
    words = parts[0::2]
    if len(words) > 1 and (words[-1].lower() in MASK_WORDS or words[-1].lower() in IMAGE_WORDS):
        return "".join(parts[:-2])
    return stem


def _image_for(case_id: str, images: dict[str, Path]) -> Path | None:
    candidates = [f"{case_id}{sep}{word}" for sep in ("_", "-", ".") for word in IMAGE_WORDS] + [case_id]
    for stem in candidates:
        if stem in images:
            return images[stem]
    return None


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _names(paths: list[Path]) -> str:
    return ", ".join(p.name for p in paths) or "none"

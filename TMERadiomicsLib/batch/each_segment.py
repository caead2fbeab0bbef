"""``batch --each-segment``: a manifest row whose mask holds several lesions becomes one case per lesion.

The case IDs are those ``extract --each-segment`` gives (``io.segments.segment_case_ids``:
``<case_id>_<segment name>``), and each derived case names its segment, so a worker reads
just that one and its fingerprint covers it. A row that already picks one tumour (a
``segment`` or ``label`` cell) stays as it is. The masks are read here, before any work,
so that every problem (unreadable mask, derived IDs that clash) is refused in one message.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import InputError
from .manifest import SAFE_CASE_ID, CaseSpec


def expand_segments(specs: list[CaseSpec], phase: int, manifest: Path) -> tuple[list[CaseSpec], list[dict]]:
    """The cases, one per segment of each multi-segment mask, and the record of what came from where."""
    cases: list[CaseSpec] = []
    record: list[dict] = []
    problems: list[str] = []
    for spec in specs:
        if spec.segment is not None or spec.label is not None:
            cases.append(spec)
            continue
        try:
            derived = _segment_cases(spec, phase)
        except InputError as error:
            problems.append(f"line {spec.line} (case {spec.case_id}): {error}")
            continue
        cases += derived
        record += [{"case_id": c.case_id, "line": spec.line, "row_case_id": spec.case_id, "segment": c.segment}
                   for c in derived]
    problems += _clashes(cases, specs)
    if problems:
        raise InputError(f"--each-segment refused, {len(problems)} problem(s): " + "; ".join(problems),
                         file=manifest)
    return cases, record


def _segment_cases(spec: CaseSpec, phase: int) -> list[CaseSpec]:
    from ..io.segments import read_mask_file, segment_case_ids

    mask_file = read_mask_file(spec.mask, reference=_rtstruct_reference(spec, phase), case_id=spec.case_id)
    segments = mask_file.segments
    ids = segment_case_ids(spec.case_id, segments)
    if len(segments) == 1:  # the only segment: read as the mask itself, as extract does
        return [replace(spec, case_id=ids[segments[0].number])]
    names = [s.name.casefold() for s in segments]
    # A name picks its segment when no other segment has it; else the number does.
    return [replace(spec, case_id=ids[s.number],
                    segment=s.name if names.count(s.name.casefold()) == 1 else str(s.number))
            for s in segments]


def _rtstruct_reference(spec: CaseSpec, phase: int):
    """The image an RTSTRUCT is rasterised onto (its ROI names need no more; SEG and label maps need none)."""
    from ..io.dicom_support import dicom_modality, is_dicom_file

    if not is_dicom_file(spec.mask) or dicom_modality(spec.mask, case_id=spec.case_id) != "RTSTRUCT":
        return None
    from ..io.preprocessing import read_dce

    return read_dce(spec.image, phase, case_id=spec.case_id)


def _clashes(cases: list[CaseSpec], rows: list[CaseSpec]) -> list[str]:
    """Derived case IDs that two cases share (or that a folder name cannot hold), naming the rows."""
    given = {spec.line: spec.case_id for spec in rows}
    where: dict[str, list[str]] = {}
    problems = []
    for case in cases:
        derived = case.case_id != given.get(case.line)
        segment = f"segment {case.segment!r}" if case.segment else "its only segment"
        origin = f"line {case.line}" + (f" (case {given.get(case.line)}, {segment})" if derived else "")
        where.setdefault(case.case_id, []).append(origin)
        if not SAFE_CASE_ID.match(case.case_id):
            problems.append(f"{origin}: derived case ID {case.case_id!r} is no folder name (letters, digits and "
                            "_ . + -, at most 128 characters)")
    problems += [f"case ID {case_id} would be given to {len(found)} cases: {', '.join(found)}"
                 for case_id, found in where.items() if len(found) > 1]
    return problems

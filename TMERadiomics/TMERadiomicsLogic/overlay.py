"""Risk-group colours of the region segments and the text summary.

Every region of a lesion takes the hue of its risk group; the bands are
lighter shades of it, so the regions stay distinguishable while the hue
alone says "low" or "high". The two hues are Okabe-Ito's blue and
vermillion: a pair that stays apart under protanopia and deuteranopia
(red/green would not), and far from the regions' own colours
(``TMERadiomicsLib.regions.REGION_COLOURS``), so a tumour never looks
high-risk before a model has run. Testing/test_slicer_colours.py measures both.
"""

from __future__ import annotations

import math

from .i18n import tr as _

# Index 0 is the manifest's first (lower-risk) group, index 1 the second.
GROUP_COLOURS = ((0x00 / 255, 0x72 / 255, 0xB2 / 255),  # Okabe-Ito blue #0072B2
                 (0xD5 / 255, 0x5E / 255, 0x00 / 255))  # Okabe-Ito vermillion #D55E00
REGION_LIGHTENING = {"intratumoral": 0.0, "peritumoral": 0.35, "ring": 0.6}


def risk_colour(group_index: int, region: str) -> tuple[float, float, float]:
    """The colour of a region's segment for a risk group (0 = lower risk)."""
    base = GROUP_COLOURS[group_index]
    amount = REGION_LIGHTENING.get(region, 0.0)
    return tuple(round(c + (1.0 - c) * amount, 6) for c in base)


def summary_text(case_id: str, rows: list[dict[str, object]]) -> str:
    """Lines for the slice-view corner and the panel: model, score, group or status."""
    lines = [f"TMERadiomics - {case_id}"]
    for row in rows:
        score = row["Score"]
        shown = _("n/a") if score is None or (isinstance(score, float) and math.isnan(score)) else f"{score:.3f}"
        group = row["Risk group"] or row["Status"]
        lines.append(_("{model}: {score_name} {score} - {group}").format(
            model=row["Model"], score_name=row["Score name"], score=shown, group=group))
    lines.append(_("Research use only; not for diagnosis."))
    return "\n".join(lines)

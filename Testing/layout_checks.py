"""Measured layout of matplotlib figures: does a legend overlap the plotting area, or leave the figure?"""

from __future__ import annotations


def legend_problems(fig) -> list[str]:
    """Every overlap of a legend with an axes (its curves are clipped to it) or the axes' drawn tick
    labels, axis labels and title, and every legend not wholly inside the figure; empty when clean."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    problems = []
    for legend in legends:
        box = legend.get_window_extent(renderer)
        name = legend.get_texts()[0].get_text()[:30] if legend.get_texts() else "legend"
        if not (fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1):
            problems.append(f"{name!r} leaves the figure: {box} outside {fig.bbox}")
        for k, ax in enumerate(fig.axes):
            # The axes' tight box: the plotting area and the tick labels, axis labels and title drawn.
            if box.overlaps(ax.get_tightbbox(renderer)):
                problems.append(f"{name!r} overlaps axes {k} ({ax.get_title()!r}) or its labels")
    return problems

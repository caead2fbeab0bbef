"""One layout for every report panel: the same size, legends outside the plotting area.

Each panel is drawn on a figure of ``PANEL_SIZE`` inches with constrained
layout and saved without a tight bounding box, so every PNG of a report has
the same pixel size and the panels line up when the page sets them side by
side. Legends go below the axes (``fig.legend(loc="outside lower center")``):
never over a curve, a band or an axis, whatever the data.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be set first)

PANEL_SIZE = (5.6, 5.2)  # inches; room below the axes for a legend of up to five entries
DPI = 110


def panel(**subplot_options):
    """A new figure and axes of the report's panel size, laid out by constrained layout."""
    fig, ax = plt.subplots(figsize=PANEL_SIZE, layout="constrained", **subplot_options)
    return fig, ax


def legend_below(fig, ax, *, title: str | None = None, fontsize: float = 7.5, ncol: int = 1):
    """The axes' legend below them, outside the plotting area; None when nothing is labelled."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    return fig.legend(handles, labels, loc="outside lower center", fontsize=fontsize, title=title,
                      title_fontsize=fontsize, ncol=ncol, frameon=False)


def png(fig) -> bytes:
    """The figure as PNG bytes, at the panel's own size (no tight box: all panels stay equal)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return buffer.getvalue()

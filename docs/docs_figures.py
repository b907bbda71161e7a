"""Figures in the documentation: matplotlib figures as inline PNG images."""

from __future__ import annotations

import base64
import io


def png(fig, dpi: int = 80) -> str:
    """An ``<img>`` tag with the figure as an inline PNG; closes the figure."""
    import matplotlib.pyplot as plt

    figure = getattr(fig, "figure", fig)  # an Axes gives its figure
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def interval_plot(table, title: str):
    """Conditional modes with 95% intervals (condval +- 1.96 condsd), sorted, for one term."""
    import matplotlib.pyplot as plt

    table = table.sort_values("condval").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.16 * len(table))), layout="constrained")
    ax.errorbar(
        table["condval"], range(len(table)), xerr=1.96 * table["condsd"], fmt="o", ms=3, lw=1
    )
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.set_yticks(range(len(table)), table["level"].astype(str), fontsize=7)
    ax.set_xlabel("conditional mode (link scale)")
    ax.set_title(title)
    return fig

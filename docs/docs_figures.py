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


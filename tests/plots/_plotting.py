"""Helpers of the plot tests: rendering, and finding what a plot drew."""

from __future__ import annotations

import io

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.collections import LineCollection  # noqa: E402
from scipy import stats  # noqa: E402

Z95 = stats.norm.ppf(0.975)


def render(fig) -> bytes:
    """Render to PNG (catches errors that only show when drawing)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    data = buffer.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def lines_with_label(ax, label):
    return [line for line in ax.get_lines() if line.get_label() == label]


def collections_of(ax, kind=LineCollection):
    return [c for c in ax.collections if isinstance(c, kind)]

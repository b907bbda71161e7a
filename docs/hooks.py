"""mkdocs hook: the examples run against this source tree and can show matplotlib figures."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def on_startup(**kwargs) -> None:
    """Import ``mixedmodels`` from ``src/`` and ``docs_figures`` from ``docs/``."""
    for path in (ROOT / "src", ROOT / "docs"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    import matplotlib

    matplotlib.use("Agg")

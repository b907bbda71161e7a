"""mypy at its default settings (pyproject's [tool.mypy]) finds no error in the package."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_error():
    api = pytest.importorskip("mypy.api")
    out, err, _ = api.run(["--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "src")])
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert not errors, "\n".join(errors[:20])

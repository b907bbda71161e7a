"""examples/statsmodels_notebook.py runs end to end and saves its figures."""

from __future__ import annotations

import runpy
import warnings
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "statsmodels_notebook.py"


def test_notebook_runs_and_saves_figures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    main = runpy.run_path(str(EXAMPLE))["main"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = main(tmp_path)
    assert [str(w.message) for w in caught] == []
    assert {p.name for p in results["figures"]} == {
        "profile_intercept_variance.png",
        "profile_slope_variance.png",
    }
    for path in results["figures"]:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert -2 * results["sitka_rs"].llf == pytest.approx(124.966889, abs=1e-6)
    assert -2 * results["dietox_rs"].llf == pytest.approx(4434.094918, abs=1e-6)
    printed = capsys.readouterr().out
    assert printed.count("Mixed Linear Model Regression Results") == 5

"""The documentation site builds with warnings as errors, executing every example."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")
pytest.importorskip("markdown_exec")
pytest.importorskip("material")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.stem for p in (ROOT / "docs" / "examples").glob("*.md"))


def test_one_example_per_bundled_dataset():
    bundled = sorted(p.stem for p in (ROOT / "src/mixedmodels/datasets/data").glob("*.csv"))
    assert bundled == EXAMPLES


def build(out: Path) -> None:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]


def test_strict_build_executes_examples_and_documents_the_api(tmp_path):
    """One test, one build (under pytest-xdist a fixture would build once per worker)."""
    site = tmp_path / "site"
    build(site)
    for name in EXAMPLES:
        page = (site / "examples" / name / "index.html").read_text(encoding="utf-8")
        assert "data:image/png;base64," in page, f"no figure on the {name} page"
        assert "inear mixed model fit by" in page, f"no executed summary on the {name} page"
    sleep = (site / "examples" / "sleepstudy" / "index.html").read_text(encoding="utf-8")
    reference = json.loads((ROOT / "tests/reference/sleepstudy_rs.json").read_text())
    assert f"REML criterion at convergence: {reference['objective']:.4f}" in sleep

    page = (site / "api" / "models" / "index.html").read_text(encoding="utf-8")
    for name in ("lmer", "lmer_many", "LinearMixedModel", "LmerResult", "ranef_table", "predict"):
        assert name in page
    plots = (site / "api" / "plots" / "index.html").read_text(encoding="utf-8")
    for name in ("caterpillar", "profile_zeta", "profile_pairs", "trajectories"):
        assert f'id="mixedmodels.plots.{name}"' in plots

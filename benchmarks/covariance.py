"""The covariance-structure cases (issue 16): our fits beside glmmTMB's, timed in the same run.

The models are the glmmTMB references of tests/covariance/reference (``specs.json``, each by
REML and ML). Ours: ``mixedmodels.lmer`` from DataFrame to fitted result (benchmarks.cases).
glmmTMB: its default call through ``Rscript benchmarks/glmmtmb_fit.R`` when R with glmmTMB is
installed (``apt-get install r-cran-glmmtmb``); its objective is on lme4's scale
(``2 * fit$objective``), so "glmmTMB - ours" above 0 means glmmTMB stopped at a worse optimum.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "src" / "mixedmodels" / "datasets" / "data"
REFERENCE = ROOT / "tests" / "covariance" / "reference"
QUICK = {"cov_sleepstudy_ar1"}

__all__ = ["cases", "glmmtmb_times", "table", "QUICK"]


def cases(repeats: int = 5) -> list[tuple[str, dict, dict]]:
    """``(name, our spec, glmmTMB spec)`` per model and criterion."""
    out = []
    for spec in json.loads((REFERENCE / "specs.json").read_text()):
        for reml in (True, False):
            ref_id = spec["id"] + ("" if reml else "_ml")
            ours = {"kind": "covariance", "id": ref_id, "repeats": repeats}
            theirs = {
                "id": f"cov_{ref_id}",
                "csv": str(DATA / f"{spec['data']}.csv"),
                "formula": spec["glmmtmb"],
                "factors": spec["factors"],
                "subset": spec.get("subset"),
                "map": spec.get("map"),
                "REML": reml,
                "repeats": 3,
            }
            out.append((f"cov_{ref_id}", ours, theirs))
    return out


def glmmtmb_times(specs: list[dict], timeout: float) -> dict[str, dict]:
    """glmmTMB's times and objectives, or {} when Rscript with glmmTMB is not installed."""
    if not specs or shutil.which("Rscript") is None:
        return {}
    check = subprocess.run(["Rscript", "-e", "library(glmmTMB)"], capture_output=True)
    if check.returncode != 0:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        spec_file, out_file = Path(tmp) / "specs.json", Path(tmp) / "out.json"
        spec_file.write_text(json.dumps(specs))
        try:
            subprocess.run(
                ["Rscript", str(HERE / "glmmtmb_fit.R"), str(spec_file), str(out_file)],
                capture_output=True,
                timeout=timeout,
                check=True,
            )
        except (subprocess.SubprocessError, OSError):
            return {}
        return {row["id"]: row for row in json.loads(out_file.read_text())}


def _time(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def table(rows: list[dict]) -> str:
    """The markdown table of the covariance cases (rows with a ``glmmtmb`` entry)."""
    rows = [row for row in rows if row["name"].startswith("cov_")]
    if not rows:
        return ""
    head = [
        "",
        "### Covariance structures against glmmTMB in the same run",
        "",
        "Models of tests/covariance/reference (issue 16). Ours: median (min) of 5 fits from "
        "DataFrame to result. glmmTMB 1.1.5: median of 3 default `glmmTMB()` calls "
        "(`se = FALSE` where its standard-error step fails: marked *). glmmTMB - ours: the "
        "two criteria on lme4's scale (REML criterion or deviance); above 0: glmmTMB stopped "
        "at a worse point. Evaluations: ours (optimiser + convergence check).",
        "",
        "| model | n | formula | ours median (min) | glmmTMB | glmmTMB/ours |"
        " glmmTMB - ours | evals |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    lines = []
    for row in rows:
        ours, theirs = row["ours"], row.get("glmmtmb")
        name = row["name"].removeprefix("cov_")
        formula = row.get("formula", "").replace("|", "\\|")
        if "error" in ours:
            lines.append(f"| {name} | - | `{formula}` | {ours['error']} | | | | |")
            continue
        t = ours["seconds"]
        if theirs is None:
            cells = ["-", "-", "-"]
        elif "error" in theirs:
            cells = [theirs["error"], "-", "-"]
        else:
            star = "" if theirs.get("se", True) else "*"
            cells = [
                _time(theirs["seconds"]) + star,
                f"{theirs['seconds'] / t:.1f}x",
                f"{theirs['objective'] - ours['objective']:+.1e}",
            ]
        evals = f"{ours['evaluations']}+{ours.get('check_evaluations', 0)}"
        lines.append(
            f"| {name} | {ours['n']} | `{formula}` | {_time(t)} ({_time(ours['min_seconds'])}) | "
            + " | ".join(cells)
            + f" | {evals} |"
        )
    return "\n".join(head + lines) + "\n"


def formula_of(ref_id: str) -> str:
    """Our formula of a reference model."""
    return json.loads((REFERENCE / f"{ref_id}.json").read_text())["formula"]

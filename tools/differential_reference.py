"""Make lme4's reference for the differential test (tests/differential), with R.

usage: python tools/differential_reference.py [--only ID,ID] [--workdir DIR]

Writes every problem of tests/differential/problem_families.py as CSV with a manifest, fits them
with tests/differential/make_reference.R (lme4, best of its optimizers), checks each reference
against the dense arbiter at lme4's theta (the criterion must agree to 1e-8 relative: the same
data on both sides, the same criterion), and writes tests/differential/reference/lme4.json.
With --only, the named problems are refitted and merged into the existing reference.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "tests" / "differential"
sys.path.insert(0, str(HERE))

import dense_arbiter  # noqa: E402
from problem_families import make_problem, problem_ids  # noqa: E402

REFERENCE = HERE / "reference" / "lme4.json"


def write_problems(ids: list[str], workdir: Path) -> dict:
    manifest, problems = [], {}
    for pid in ids:
        problem = make_problem(pid)
        (workdir / f"{pid}.csv").write_text(problem.csv)
        manifest.append(
            {
                "id": pid,
                "formula": problem.formula,
                "REML": problem.reml,
                "weights": problem.weights,
                "offset": problem.offset,
                "sha256": problem.checksum,
            }
        )
        problems[pid] = problem
    (workdir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return problems


def arbiter_check(problem, ref: dict) -> float:
    """Relative difference of the arbiter's criterion at lme4's theta from lme4's."""
    value = dense_arbiter.criterion(
        problem.frame(),
        cnms=ref["cnms"],
        fixed=list(ref["fixef"]),
        theta=ref["theta"],
        reml=ref["REML"],
        weights=problem.weights,
        offset=problem.offset,
    )
    return abs(value - ref["objective"]) / max(1.0, abs(ref["objective"]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    parser.add_argument("--workdir", default="")
    args = parser.parse_args()
    ids = args.only.split(",") if args.only else problem_ids()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="differential-"))
    workdir.mkdir(parents=True, exist_ok=True)
    problems = write_problems(ids, workdir)
    raw = workdir / "lme4_raw.json"
    began = time.perf_counter()
    subprocess.run(["Rscript", str(HERE / "make_reference.R"), str(workdir), str(raw)], check=True)
    print(f"R: {time.perf_counter() - began:.0f} s for {len(ids)} problems")
    fitted = json.loads(raw.read_text())
    worst = 0.0
    for ref in fitted["problems"]:
        if "error" in ref:
            print(f"{ref['id']}: lme4 error: {ref['error']}")
            continue
        gap = arbiter_check(problems[ref["id"]], ref)
        ref["arbiter_gap"] = gap
        worst = max(worst, gap)
        if gap > 1e-8:
            print(f"{ref['id']}: arbiter and lme4 differ by {gap:.2e} (relative)")
    print(f"largest arbiter-lme4 relative gap at lme4's theta: {worst:.2e}")
    merged = {p["id"]: p for p in fitted["problems"]}
    if args.only and REFERENCE.exists():
        old = json.loads(REFERENCE.read_text())
        merged = {p["id"]: p for p in old["problems"]} | merged
    order = {pid: i for i, pid in enumerate(problem_ids())}
    out = {
        "lme4_version": fitted["lme4_version"],
        "R_version": fitted["R_version"],
        "problems": sorted(merged.values(), key=lambda p: order.get(p["id"], 10**9)),
    }
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()

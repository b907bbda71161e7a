"""Run the differential test's comparisons and count the failures by class.

usage: python tools/differential_triage.py [--jobs 2] [--write-known] [--out FILE.json]
       python tools/differential_triage.py --show ID     (one problem: ours against lme4)
       python tools/differential_triage.py --csv ID      (its data, as R read it)

Prints each class with its count and a few problem ids; --write-known rewrites
tests/differential/known_failures.json (the xfail list) from what it found; --out keeps the
full findings (per problem: classes and messages, objectives, arbiter values) as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "tests" / "differential"
sys.path.insert(0, str(HERE))
sys.path.append(str(ROOT / "src"))  # after PYTHONPATH: another worktree can point at its src

from checks import KNOWN_FAILURES_FILE, compare, fit_ours, reference  # noqa: E402
from invariance import check  # noqa: E402
from problem_families import make_problem, problem_ids  # noqa: E402
from test_differential import invariance_ids  # noqa: E402


def run_problem(pid: str) -> dict:
    began = time.perf_counter()
    problem = make_problem(pid)
    found = compare(problem, reference()[pid])
    return {
        "id": pid,
        "family": problem.family,
        "classes": found.classes,
        "failures": found.failures,
        "ours": found.ours,
        "lme4": found.lme4,
        "arbiter": found.arbiter,
        "formula": problem.formula,
        "reml": problem.reml,
        "seconds": time.perf_counter() - began,
    }


def run_invariances(pid: str, kinds: list[str]) -> list[dict]:
    problem = make_problem(pid)
    original = fit_ours(problem)
    out = []
    for kind in kinds:
        began = time.perf_counter()
        if original.error is not None:
            broken = f"error: {original.error}"
        else:
            broken = check(problem, reference()[pid], original, kind)
        classes = [] if broken is None else ["error" if broken.startswith("error") else kind]
        out.append(
            {
                "id": f"{pid}:{kind}",
                "classes": classes,
                "failures": {} if broken is None else {classes[0]: broken},
                "seconds": time.perf_counter() - began,
            }
        )
    return out


def show(pid: str) -> None:
    problem = make_problem(pid)
    ref = reference()[pid]
    frame = problem.frame()
    print(
        f"{pid}: {problem.formula}  REML={problem.reml} weights={problem.weights} "
        f"offset={problem.offset}  rows={len(frame)} (lme4 used {ref['nobs']})"
    )
    outcome = fit_ours(problem, frame)
    found = compare(problem, ref, outcome)
    if outcome.fit is not None:
        print(
            f"  ours: criterion {outcome.fit.objective:.10f} theta {outcome.fit.theta.round(6)}"
            f" singular={outcome.fit.is_singular} warnings={outcome.convergence_warnings}"
        )
    print(
        f"  lme4: criterion {ref['objective']:.10f} theta {[round(t, 6) for t in ref['theta']]}"
        f" singular={ref['singular']} optimizer={ref['optimizer']} "
        f"warnings={ref['convergence_warnings']}"
    )
    if found.arbiter:
        print(
            f"  arbiter: at our theta {found.arbiter['ours']:.10f}, "
            f"at lme4's {found.arbiter['lme4']:.10f}"
        )
    for c, message in found.failures.items():
        print(f"  FAIL {c}: {message}")
    if not found.failures:
        print("  ok")


def _invariance_task(item):
    return run_invariances(*item)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--write-known", action="store_true")
    parser.add_argument("--out", default="")
    parser.add_argument("--show", default="")
    parser.add_argument("--csv", default="")
    parser.add_argument("--markdown", default="", help="write the counts table here")
    args = parser.parse_args()
    if args.csv:
        sys.stdout.write(make_problem(args.csv).csv)
        return
    if args.show:
        show(args.show)
        return
    by_problem: dict[str, list[str]] = defaultdict(list)
    for case in invariance_ids():
        pid, kind = case.split(":")
        by_problem[pid].append(kind)
    began = time.perf_counter()
    with Pool(args.jobs) as pool:
        problems = pool.map(run_problem, problem_ids(), chunksize=4)
        invariances = [r for rs in pool.map(_invariance_task, by_problem.items()) for r in rs]
    wall = time.perf_counter() - began
    counts: dict[str, list[str]] = defaultdict(list)
    for r in problems + invariances:
        for c in r["classes"]:
            counts[c].append(r["id"])
    failing = sum(bool(r["classes"]) for r in problems)
    print(
        f"{len(problems)} problems, {failing} failing; {len(invariances)} invariance cases, "
        f"{sum(bool(r['classes']) for r in invariances)} failing; {wall:.0f} s wall"
    )
    for c, ids in sorted(counts.items(), key=lambda kv: -len(kv[1])):
        print(f"  {c}: {len(ids)}  e.g. {', '.join(ids[:4])}")
    if args.markdown:
        rows = ["| class | count | examples |", "| --- | --- | --- |"]
        for c, ids in sorted(counts.items(), key=lambda kv: -len(kv[1])):
            rows.append(f"| {c} | {len(ids)} | {', '.join(ids[:3])} |")
        Path(args.markdown).write_text("\n".join(rows) + "\n")
    if args.out:
        Path(args.out).write_text(
            json.dumps(
                {
                    "problems": problems,
                    "invariances": invariances,
                    "wall_seconds": wall,
                    "jobs": args.jobs,
                },
                indent=1,
            )
        )
    if args.write_known:
        known = {
            "problem": {r["id"]: r["classes"] for r in problems if r["classes"]},
            "invariance": {r["id"]: r["classes"] for r in invariances if r["classes"]},
        }
        KNOWN_FAILURES_FILE.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")
        print(f"wrote {KNOWN_FAILURES_FILE}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()

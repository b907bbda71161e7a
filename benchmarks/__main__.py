"""Run the benchmark suite: ``python -m benchmarks [--quick] [--large] [--only NAME ...]``.

Prints a table and writes it to ``benchmarks/results.md``: per model the rows, our time from
DataFrame to fitted result, statsmodels' time in the same run (within a time limit), lme4's
time when ``Rscript`` with lme4 is installed, the ratios, the objective evaluations (ours,
lme4's), the peak memory above what the process held before the fit, and the objective's
difference from the stored lme4 reference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import covariance
from benchmarks.peers import installed as installed_peers
from benchmarks.routes import line as routes_line

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "src" / "mixedmodels" / "datasets" / "data"

SM_SINGLE = {"single_group": True}
REFERENCE_CASES = [
    # id, repeats, statsmodels translation (None: not expressible)
    ("dyestuff", 20, {"fixed": "Yield ~ 1", "groups": "Batch"}),
    ("dyestuff_ml", 20, {"fixed": "Yield ~ 1", "groups": "Batch"}),
    ("dyestuff2", 20, {"fixed": "Yield ~ 1", "groups": "Batch"}),
    (
        "sleepstudy_rs",
        20,
        {"fixed": "Reaction ~ Days", "groups": "Subject", "re_formula": "1 + Days"},
    ),
    (
        "sleepstudy_rs_ml",
        20,
        {"fixed": "Reaction ~ Days", "groups": "Subject", "re_formula": "1 + Days"},
    ),
    (
        "sleepstudy_zc",
        20,
        {
            "fixed": "Reaction ~ Days",
            "groups": "Subject",
            "re_formula": "1",
            "vc_formula": {"Days": "0 + Days"},
        },
    ),
    ("dietox_ri", 20, {"fixed": "Weight ~ Time", "groups": "Pig"}),
    ("dietox_ri_ml", 20, {"fixed": "Weight ~ Time", "groups": "Pig"}),
    ("dietox_rs", 20, {"fixed": "Weight ~ Time", "groups": "Pig", "re_formula": "1 + Time"}),
    (
        "dietox_indep",
        20,
        {
            "fixed": "Weight ~ Time",
            "groups": "Pig",
            "re_formula": "1",
            "vc_formula": {"Time": "0 + Time"},
        },
    ),
    ("sitka_ri", 20, {"fixed": "size ~ Time", "groups": "tree"}),
    ("sitka_rs", 20, {"fixed": "size ~ Time", "groups": "tree", "re_formula": "1 + Time"}),
    (
        "penicillin",
        20,
        {
            "fixed": "diameter ~ 1",
            **SM_SINGLE,
            "vc_formula": {"plate": "0 + C(plate)", "sample": "0 + C(sample)"},
        },
    ),
    (
        "pastes",
        20,
        {
            "fixed": "strength ~ 1",
            "groups": "batch",
            "re_formula": "1",
            "vc_formula": {"cask": "0 + C(cask)"},
        },
    ),
    (
        "insteval",
        3,
        {
            "fixed": "y ~ service + lectage + studage",
            **SM_SINGLE,
            "vc_formula": {"s": "0 + C(s)", "d": "0 + C(d)", "ds": "0 + C(dept):C(service)"},
        },
    ),
    (
        "insteval_simple",
        3,
        {
            "fixed": "y ~ service",
            **SM_SINGLE,
            "vc_formula": {"s": "0 + C(s)", "d": "0 + C(d)", "dept": "0 + C(dept)"},
        },
    ),
]
ML_CASES = [("insteval_ml", "insteval", 3)]  # a reference model fitted by ML instead

SYNTHETIC_CASES = [
    ("movielens_1m_like", "movielens_like", {}, "rating ~ 1 + (1|user) + (1|movie)", 1),
    ("one_factor_1e3x1e4", "one_factor", {"levels": 1000, "rows": 10_000}, "y ~ x + (1|g)", 3),
    ("one_factor_1e4x1e5", "one_factor", {"levels": 10_000, "rows": 100_000}, "y ~ x + (1|g)", 3),
    (
        "one_factor_1e5x1e6",
        "one_factor",
        {"levels": 100_000, "rows": 1_000_000},
        "y ~ x + (1|g)",
        1,
    ),
    (
        "one_factor_1e6x1e7",
        "one_factor",
        {"levels": 1_000_000, "rows": 10_000_000},
        "y ~ x + (1|g)",
        1,
    ),
    (
        "crossed_1e3x1e3",
        "crossed",
        {"levels1": 1000, "levels2": 1000, "rows": 50_000},
        "y ~ x + (1|a) + (1|b)",
        1,
    ),
    (
        "crossed_1e4x1e3",
        "crossed",
        {"levels1": 10_000, "levels2": 1000, "rows": 200_000},
        "y ~ x + (1|a) + (1|b)",
        1,
    ),
    (
        "crossed_1e4x1e4",
        "crossed",
        {"levels1": 10_000, "levels2": 10_000, "rows": 500_000},
        "y ~ x + (1|a) + (1|b)",
        1,
    ),
    (
        "slopes3_1e3x1e4",
        "slopes3",
        {"levels": 1000, "rows": 10_000},
        "y ~ x1 + x2 + (1 + x1 + x2 | g)",
        3,
    ),
    (
        "slopes3_1e4x1e5",
        "slopes3",
        {"levels": 10_000, "rows": 100_000},
        "y ~ x1 + x2 + (1 + x1 + x2 | g)",
        1,
    ),
    (
        "slopes3_1e5x1e6",
        "slopes3",
        {"levels": 100_000, "rows": 1_000_000},
        "y ~ x1 + x2 + (1 + x1 + x2 | g)",
        1,
    ),
]
# scaling cases that take minutes or gigabytes: run with --large or by name with --only
LARGE = {"one_factor_1e6x1e7", "crossed_1e4x1e4", "slopes3_1e5x1e6"}
QUICK = {
    "dyestuff",
    "sleepstudy_rs",
    "dietox_rs",
    "penicillin",
    "insteval",
    "many_sleepstudy",
    "insteval_routes",
}


def _run(spec: dict, timeout: float) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.cases", json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:g} s"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        if "MemoryError" in proc.stderr or "Unable to allocate" in proc.stderr:
            tail = f"out of memory (limit {spec.get('memory_limit_gb')} GB)"
        return {"error": tail[:80]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _lme4(specs: list[dict], timeout: float) -> dict[str, dict]:
    """lme4's times and evaluations, or {} when Rscript with lme4 is not installed."""
    if shutil.which("Rscript") is None:
        return {}
    check = subprocess.run(["Rscript", "-e", "library(lme4)"], capture_output=True)
    if check.returncode != 0:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        spec_file, out_file = Path(tmp) / "specs.json", Path(tmp) / "out.json"
        spec_file.write_text(json.dumps(specs))
        try:
            subprocess.run(
                ["Rscript", str(HERE / "lme4_fit.R"), str(spec_file), str(out_file)],
                capture_output=True,
                timeout=timeout,
                check=True,
            )
        except (subprocess.SubprocessError, OSError):
            return {}
        return {row["id"]: row for row in json.loads(out_file.read_text())}


def _fmt_time(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few representative models")
    parser.add_argument("--only", nargs="*", help="case names to run")
    parser.add_argument(
        "--large", action="store_true", help=f"also the large cases: {', '.join(sorted(LARGE))}"
    )
    parser.add_argument("--no-lme4", action="store_true")
    parser.add_argument("--no-glmmtmb", action="store_true", help="skip glmmTMB's timings")
    parser.add_argument(
        "--covariance",
        action="store_true",
        help="only the covariance-structure cases against glmmTMB "
        "(written to benchmarks/results_covariance.md)",
    )
    parser.add_argument("--no-statsmodels", action="store_true")
    parser.add_argument("--no-peers", action="store_true", help="skip mixedlm and lme-python")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="time limit per statsmodels fit, seconds"
    )
    parser.add_argument(
        "--memory-limit-gb",
        type=float,
        default=8.0,
        help="address-space limit for the statsmodels process",
    )
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = str(HERE / ("results_covariance.md" if args.covariance else "results.md"))

    def wanted(name: str) -> bool:
        if args.covariance:
            return name.startswith("cov_") and (not args.only or name in args.only)
        if args.only:
            return name in args.only
        if name in LARGE and not args.large:
            return False
        return name in (QUICK | covariance.QUICK) if args.quick else True

    rows = []
    lme4_specs = []
    cases = []
    for ref_id, repeats, sm in REFERENCE_CASES:
        if wanted(ref_id):
            cases.append((ref_id, {"kind": "reference", "id": ref_id, "repeats": repeats}, sm))
            ref = json.loads((ROOT / "tests" / "reference" / f"{ref_id}.json").read_text())
            lme4_specs.append(
                {
                    "id": ref_id,
                    "csv": str(DATA / f"{ref['data']}.csv"),
                    "formula": ref["formula"],
                    "factors": ref["factors"],
                    "REML": ref["REML"],
                    "repeats": 1 if repeats < 5 else 5,
                }
            )
    for name, ref_id, repeats in ML_CASES:
        if wanted(name):
            cases.append(
                (name, {"kind": "reference", "id": ref_id, "repeats": repeats, "REML": False}, None)
            )
            ref = json.loads((ROOT / "tests" / "reference" / f"{ref_id}.json").read_text())
            lme4_specs.append(
                {
                    "id": name,
                    "csv": str(DATA / f"{ref['data']}.csv"),
                    "formula": ref["formula"],
                    "factors": ref["factors"],
                    "REML": False,
                    "repeats": 1,
                }
            )
    for name, maker, kwargs, formula, repeats in SYNTHETIC_CASES:
        if wanted(name):
            cases.append(
                (
                    name,
                    {
                        "kind": "synthetic",
                        "maker": maker,
                        "args": kwargs,
                        "formula": formula,
                        "repeats": repeats,
                    },
                    None,
                )
            )
    glmmtmb_specs = []
    for name, spec, theirs in covariance.cases():
        if wanted(name):
            cases.append((name, spec, None))
            glmmtmb_specs.append(theirs)
    lme4 = {} if args.no_lme4 else _lme4(lme4_specs, timeout=3600)
    glmmtmb = {} if args.no_glmmtmb else covariance.glmmtmb_times(glmmtmb_specs, timeout=7200)
    peers = [] if args.no_peers else installed_peers()
    for name, spec, sm in cases:
        ours = _run({**spec, "runner": "ours"}, timeout=3600)
        row = {"name": name, "ours": ours, "lme4": lme4.get(name)}
        if spec["kind"] == "covariance":
            row["glmmtmb"] = glmmtmb.get(name)
            row["formula"] = covariance.formula_of(spec["id"])
        if sm is not None and not args.no_statsmodels:
            row["statsmodels"] = _run(
                {
                    **spec,
                    "runner": "statsmodels",
                    "statsmodels": sm,
                    "memory_limit_gb": args.memory_limit_gb,
                },
                timeout=args.timeout,
            )
        row["peers"] = {
            package: _run({**spec, "runner": "peer", "package": package}, timeout=args.timeout)
            for package in peers
        }
        rows.append(row)
        print(_line(row), flush=True)
    if wanted("many_sleepstudy"):
        many = _run(
            {"runner": "many", "count": 1000, "formula": "Reaction ~ Days + (Days | Subject)"},
            timeout=3600,
        )
        rows.append({"name": "many_sleepstudy", "ours": many})
        print(_line(rows[-1]), flush=True)
    routes = None
    if wanted("insteval_routes"):  # what the sparse route wins over dense LAPACK
        routes = _run({"runner": "routes", "id": "insteval", "repeats": 10}, timeout=3600)
        print(routes_line(routes) if "error" not in routes else routes["error"], flush=True)
    text = _markdown(rows, args)
    if routes is not None and "error" not in routes:
        text = text.rstrip("\n") + "\n\n### Sparse against dense\n\n" + routes_line(routes) + "\n"
    out = Path(args.out)
    if out.exists():  # keep hand-written sections (## ...) that follow the generated table
        old = out.read_text()
        at = old.find("\n## ")
        if at >= 0:
            text = text.rstrip("\n") + "\n" + old[at:]
    out.write_text(text)
    print(f"\nwritten to {args.out}")
    return 0


def _line(row: dict) -> str:
    ours = row["ours"]
    if "error" in ours:
        return f"{row['name']:22s} ours: {ours['error']}"
    line = (
        f"{row['name']:22s} n={ours.get('n', '-'):>9} ours {_fmt_time(ours['seconds']):>10}"
        f"  evals {ours.get('evaluations')}"
    )
    if "per_fit_ms" in ours:
        line += (
            f"  ({ours['n_jobs']} processes, {ours['per_fit_ms']:.2f} ms per fit; one process"
            f" {_fmt_time(ours['serial_seconds'])}, {ours['serial_per_fit_ms']:.2f} ms per fit)"
        )
    return line


def _markdown(rows: list[dict], args) -> str:
    load = os.getloadavg()
    head = [
        "# Benchmark results",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (other processes slow every time).",
        "",
        "Times are from DataFrame to fitted result (median of repeats, after a warm-up fit of "
        "another model in the same process). lme4: `lme4::lmer` through Rscript, same data. "
        f"statsmodels: `MixedLM` in its own process, time limit {args.timeout:g} s and "
        f"{args.memory_limit_gb:g} GB. Evaluations: objective evaluations by the optimiser "
        "(ours + convergence check; lme4's `feval`). Peak memory: the fit's peak resident "
        "memory above what the process held before it. Objective difference: ours minus the "
        "stored lme4 reference (negative = better).",
        "",
        "| model | n | ours median (min) | lme4 | lme4/ours | statsmodels | sm/ours |"
        " evals (ours+check / lme4) | peak MB (input MB) | objective diff |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines = []
    for row in rows:
        ours, lme4, sm = row["ours"], row.get("lme4"), row.get("statsmodels")
        if "error" in ours:
            lines.append(f"| {row['name']} | - | {ours['error']} | | | | | | | |")
            continue
        t = ours["seconds"]
        lme4_t = lme4["seconds"] if lme4 else None
        if sm is None:
            sm_text, sm_ratio = "-", "-"
        elif "error" in sm:
            sm_text, sm_ratio = sm["error"], "-"
        else:
            sm_text, sm_ratio = _fmt_time(sm["seconds"]), f"{sm['seconds'] / t:.1f}x"
        evals = f"{ours['evaluations']}"
        if ours.get("check_evaluations"):
            evals += f"+{ours['check_evaluations']}"
        if lme4:
            evals += f" / {lme4['feval']}"
        if row["name"] == "many_sleepstudy":
            evals = f"{ours['evaluations']:.1f}+{ours.get('check_evaluations', 0):.1f} per fit"
        diff = ours.get("objective_diff")
        best = f" ({_fmt_time(ours['min_seconds'])})" if "min_seconds" in ours else ""
        peak = (
            f"{ours['peak_mb']:.0f} ({ours.get('input_mb', 0):.0f})" if ours.get("peak_mb") else "-"
        )
        name = row["name"]
        if name == "many_sleepstudy":
            name = (
                f"sleepstudy x {ours['count']} resamples, `lmer_many` with {ours['n_jobs']}"
                f" processes (total; {ours['per_fit_ms']:.2f} ms per fit; one process "
                f"{_fmt_time(ours['serial_seconds'])}, {ours['serial_per_fit_ms']:.2f} ms per fit)"
            )
        lines.append(
            f"| {name} | {ours['n']} | {_fmt_time(t)}{best} | {_fmt_time(lme4_t)} | "
            f"{(f'{lme4_t / t:.1f}x' if lme4_t else '-')} | {sm_text} | {sm_ratio} | {evals} | "
            f"{peak} | {('-' if diff is None else f'{diff:+.1e}')} |"
        )
    lines = [line for line, row in zip(lines, _table_rows(rows), strict=True) if row]
    if not lines:  # only the covariance cases (--covariance): their own table
        return "\n".join(head[:3]) + "\n" + covariance.table(rows)
    return "\n".join(head + lines) + "\n" + _peer_table(rows, args) + covariance.table(rows)


def _table_rows(rows: list[dict]) -> list[bool]:
    """Whether each row belongs to the main table (the covariance cases have their own)."""
    return [not row["name"].startswith("cov_") for row in rows]


def _peer_table(rows: list[dict], args) -> str:
    """Our time beside the peer packages' (mixedlm, lme-python) on the same cases."""
    packages = sorted({p for row in rows for p in row.get("peers", {})})
    if not packages:
        return ""
    head = [
        "",
        "### Python peers in the same run",
        "",
        "From DataFrame to fitted result (median of up to 5 repeats after a warm-up fit), each "
        f"package in its own process, time limit {args.timeout:g} s. Ratio: the peer's time over "
        "ours (above 1: we are faster). Objective: the peer's REML criterion or deviance minus "
        "ours (positive: the peer stopped at a worse optimum).",
        "",
        "| model | ours | "
        + " | ".join(f"{p} | {p}/ours | {p} objective - ours" for p in packages)
        + " |",
        "|---|---:|" + "---:|---:|---:|" * len(packages),
    ]
    lines = []
    for row in rows:
        ours = row["ours"]
        if "error" in ours or not row.get("peers"):
            continue
        cells = [row["name"], _fmt_time(ours["seconds"])]
        for package in packages:
            peer = row["peers"].get(package)
            if peer is None:
                cells += ["-", "-", "-"]
            elif "error" in peer:
                cells += [peer["error"], "-", "-"]
            else:
                cells += [
                    _fmt_time(peer["seconds"]),
                    f"{peer['seconds'] / ours['seconds']:.1f}x",
                    f"{peer['objective'] - ours['objective']:+.1e}",
                ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(head + lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

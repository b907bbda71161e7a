"""GLMM benchmarks: ``python -m benchmarks.glmm [--only NAME ...] [--rounds R] [--no-lme4]``.

Every model of ``tests/glmm/reference`` (lme4's glmer references), plus a one-factor logistic
model with 10^6 rows (10^4 levels, seeded), each fitted in a fresh process: our time from
DataFrame to fitted result (after a warm-up fit of another model in the same process), the
peak resident memory above what the process held before, lme4's ``glmer`` time
(``Rscript benchmarks/lme4_glmer.R``, one model per R process) and mixedlm's
(``pip install mixedlm``) where it fits the model. lme4 and ours run on the same model one
right after the other, in ``--rounds`` interleaved rounds, and the fastest time of each (over
repeats and rounds) counts, so that a load that changes during the run meets both alike.
Writes ``benchmarks/results_glmm.md`` with the ratios and the load average.
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "src" / "mixedmodels" / "datasets" / "data"
REFERENCE = ROOT / "tests" / "glmm" / "reference"
SYNTHETIC = "logistic_1e6"
REPEATS = {"verbagg": 5, SYNTHETIC: 1}


def _references() -> list[dict]:
    out = []
    for path in sorted(REFERENCE.glob("*.json")):
        ref = json.loads(path.read_text())
        if "spec" not in ref:
            out.append(ref)
    return out


def synthetic_logistic(rows: int = 1_000_000, levels: int = 10_000, seed: int = 1):
    """0/1 outcomes with one covariate and a random intercept per level (seeded)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    g = rng.integers(0, levels, rows)
    x = rng.normal(size=rows)
    eta = -0.5 + 0.7 * x + rng.normal(scale=0.8, size=levels)[g]
    y = (rng.uniform(size=rows) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int8)
    return pd.DataFrame({"y": y, "x": x, "g": pd.Categorical(g)})


def _case(spec: dict):
    import mixedmodels as mm

    if spec["id"] == SYNTHETIC:
        return synthetic_logistic(), "y ~ x + (1 | g)", "binomial", None, 1, None
    ref = json.loads((REFERENCE / f"{spec['id']}.json").read_text())
    data = mm.datasets.load(ref["data"])
    return data, ref["formula"], ref["family"], ref["link"], ref["nAGQ"], ref["weights"]


def run_case(spec: dict) -> dict:
    """One case in this process (called through ``python -m benchmarks.glmm --case``)."""
    import warnings

    import numpy as np

    import mixedmodels as mm
    from benchmarks.cases import _peak_mb, _reset_peak, _rss_mb

    data, formula, family, link, n_agq, weights = _case(spec)
    if spec["runner"] == "mixedlm":
        return _run_mixedlm(data, formula, family, n_agq, int(spec["repeats"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cbpp = mm.datasets.load("cbpp")
        mm.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp)
        mm.glmer("incidence ~ period + (1 | herd) + (1 | obs)", cbpp, family="poisson")
    base = _rss_mb()
    _reset_peak()
    times, fit = [], None
    for _ in range(int(spec["repeats"])):
        fit = None
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = mm.glmer(formula, data, family, link, nAGQ=n_agq, weights=weights)
        times.append(time.perf_counter() - start)
    return {
        "n": int(fit.nobs),
        "seconds": float(np.median(times)),
        "min_seconds": float(np.min(times)),
        "evaluations": int(fit.optsum.evaluations),
        "check_evaluations": int(fit.optsum.check_evaluations),
        "minus2loglik": float(fit.minus2loglik),
        "peak_mb": max(_peak_mb() - base, 0.0),
        "input_mb": float(data.memory_usage(deep=True).sum() / 2**20),
    }


def _run_mixedlm(data, formula, family, n_agq, repeats) -> dict:
    import warnings

    import mixedlm
    import numpy as np
    import pandas as pd
    from mixedlm import families

    fam = {"binomial": families.Binomial, "poisson": families.Poisson}[family]()
    import re

    formula = re.sub(r"\(([^()|]*)\)", r"\1", formula)  # its parser rejects "(a + b) + ..."
    data = data.copy()
    for col in data.columns:
        if isinstance(data[col].dtype, pd.CategoricalDtype):
            data[col] = data[col].astype(str)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mixedlm.glmer(formula, data, family=fam, nAGQ=n_agq)  # warm-up
        for _ in range(max(repeats, 1)):
            start = time.perf_counter()
            fit = mixedlm.glmer(formula, data, family=fam, nAGQ=n_agq)
            times.append(time.perf_counter() - start)
    loglik = fit.logLik()
    value = float(getattr(loglik, "value", loglik))
    return {
        "seconds": float(np.median(times)),
        "min_seconds": float(np.min(times)),
        "minus2loglik": -2.0 * value,
    }


def _subprocess(spec: dict, timeout: float) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.glmm", "--case", json.dumps(spec)],
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
        return {"error": tail[:80]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _lme4(specs: list[dict]) -> dict[str, dict]:
    if shutil.which("Rscript") is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        spec_file, out_file = Path(tmp) / "specs.json", Path(tmp) / "out.json"
        spec_file.write_text(json.dumps(specs))
        try:
            subprocess.run(
                ["Rscript", str(HERE / "lme4_glmer.R"), str(spec_file), str(out_file)],
                capture_output=True,
                timeout=7200,
                check=True,
            )
        except (subprocess.SubprocessError, OSError):
            return {}
        return {row["id"]: row for row in json.loads(out_file.read_text())}


def _faster(old: dict | None, new: dict | None) -> dict | None:
    """The run with the smaller fastest time (``min_seconds``); errors only when both are."""
    if new is None or "error" in new:
        return old if old is not None else new
    if old is None or "error" in old or new["min_seconds"] < old["min_seconds"]:
        return new
    return old


def _fmt(seconds) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.glmm", description=__doc__)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--no-lme4", action="store_true")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds (min counts)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(HERE / "results_glmm.md"))
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return 0
    refs = [r for r in _references() if not args.only or r["id"] in args.only]
    ids = [r["id"] for r in refs] + ([SYNTHETIC] if not args.only or SYNTHETIC in args.only else [])
    lme4_specs = {}
    for ref in refs:
        lme4_specs[ref["id"]] = {
            "id": ref["id"],
            "csv": str(DATA / f"{ref['data']}.csv"),
            "formula": ref["formula"],
            "family": ref["family"],
            "link": ref["link"],
            "nAGQ": ref["nAGQ"],
            "weights": ref["weights"],
            "factors": ref["factors"],
            "repeats": REPEATS.get(ref["id"], args.repeats),
        }
    try:
        import importlib.util

        has_mixedlm = importlib.util.find_spec("mixedlm") is not None and not args.no_peers
    except ImportError:
        has_mixedlm = False
    # interleaved: lme4 and ours on the same model one right after the other, in rounds, so
    # that both meet the same load; the fastest time of each over all rounds counts
    best: dict[str, dict] = {case: {"id": case, "lme4": None, "mixedlm": None} for case in ids}
    for _ in range(max(args.rounds, 1)):
        for case in ids:
            repeats = REPEATS.get(case, args.repeats)
            row = best[case]
            if not args.no_lme4 and case in lme4_specs:
                row["lme4"] = _faster(row["lme4"], _lme4([lme4_specs[case]]).get(case))
            ours = _subprocess({"id": case, "runner": "ours", "repeats": repeats}, 3600)
            row["ours"] = _faster(row.get("ours"), ours)
            if has_mixedlm and case == "verbagg":
                peer = _subprocess({"id": case, "runner": "mixedlm", "repeats": repeats}, 600)
                row["mixedlm"] = _faster(row["mixedlm"], peer)
            print(case, row["ours"], row["lme4"], row["mixedlm"], flush=True)
    rows = [best[case] for case in ids]
    Path(args.out).write_text(_markdown(rows))
    print(f"written to {args.out}")
    return 0


def _markdown(rows) -> str:
    load = os.getloadavg()
    lines = [
        "# GLMM benchmark results",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average at the end {load[0]:.1f} / "
        f"{load[1]:.1f} / {load[2]:.1f} (a shared machine: ratios from the same run count, "
        "absolute times do not).",
        "",
        "Ours: `mm.glmer` from DataFrame to fitted result after a warm-up; lme4: `lme4::glmer` "
        "(default settings) through Rscript, interleaved with ours model by model; each the "
        "fastest over repeats and rounds. Evaluations: "
        "ours (optimiser + finite-difference check) / lme4's `feval`. -2 log L: ours minus "
        "lme4's in this run (negative: a better optimum; for nAGQ > 1 lme4's value is "
        "corrected by the saturated constant it leaves out).",
        "",
        "| model | n | ours | lme4 | lme4/ours | evaluations | -2 log L vs lme4 | peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ours, lme4 = row["ours"], row["lme4"]
        if "error" in ours:
            lines.append(f"| {row['id']} | - | {ours['error']} | | | | | |")
            continue
        ratio = f"{lme4['min_seconds'] / ours['min_seconds']:.1f}x" if lme4 else "-"
        diff = "-"
        if lme4:
            correction = 0.0
            ref_path = REFERENCE / f"{row['id']}.json"
            if ref_path.exists():
                correction = json.loads(ref_path.read_text()).get("agq_saturated_correction", 0)
            diff = f"{ours['minus2loglik'] - lme4['minus2loglik'] - correction:+.1e}"
        evals = f"{ours['evaluations']}+{ours['check_evaluations']}"
        if lme4:
            evals += f" / {lme4['feval']}"
        lines.append(
            f"| {row['id']} | {ours['n']} | {_fmt(ours['min_seconds'])} | "
            f"{_fmt(lme4['min_seconds'] if lme4 else None)} | {ratio} | {evals} | {diff} | "
            f"{ours['peak_mb']:.0f} |"
        )
    peer_rows = [r for r in rows if r.get("mixedlm")]
    if peer_rows:
        lines += ["", "### mixedlm (Python peer) in the same run", ""]
        lines += ["| model | ours | mixedlm | mixedlm/ours | -2 log L mixedlm - ours |"]
        lines += ["|---|---:|---:|---:|---:|"]
        for row in peer_rows:
            peer, ours = row["mixedlm"], row["ours"]
            if "error" in peer:
                lines.append(f"| {row['id']} | {_fmt(ours['min_seconds'])} | {peer['error']} | | |")
                continue
            lines.append(
                f"| {row['id']} | {_fmt(ours['min_seconds'])} | {_fmt(peer['min_seconds'])} | "
                f"{peer['min_seconds'] / ours['min_seconds']:.1f}x | "
                f"{peer['minus2loglik'] - ours['minus2loglik']:+.1e} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

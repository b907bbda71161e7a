"""One benchmark case, run in a fresh process: ``python -m benchmarks.cases '{json spec}'``.

Prints one JSON line with the measurements. Running each case in its own process isolates
peak memory, lets the parent enforce a time limit, and keeps one case's caches from helping
another.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    """Peak resident memory (MB) since the last :func:`_reset_peak` (or since start-up)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    """Restart the peak-memory count at the current resident size (Linux ``clear_refs``).

    Without it the peak would include making the synthetic data, whose temporaries can
    exceed the fit's. Where the reset is not available, the peak since start-up is used.
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def load_case(spec: dict) -> tuple[pd.DataFrame, str, bool, dict]:
    """Data frame, formula, REML and extra facts (reference objective) of a case."""
    kind = spec["kind"]
    if kind == "covariance":  # a glmmTMB reference of tests/covariance (issue 16)
        import mixedmodels as mm

        path = ROOT / "tests" / "covariance" / "reference" / f"{spec['id']}.json"
        ref = json.loads(path.read_text())
        data = mm.datasets.load(ref["data"])
        if ref.get("subset"):
            data = data.query(ref["subset"]).reset_index(drop=True)
        for col in ref["factors"]:
            if col in data.columns:
                data[col] = data[col].astype("category")
        return data, ref["formula"], bool(ref["REML"]), {"reference": ref["objective"]}
    if kind == "reference":
        import mixedmodels as mm

        ref = json.loads((REFERENCE / f"{spec['id']}.json").read_text())
        data = mm.datasets.load(ref["data"])
        for col in ref["factors"]:
            if col in data.columns:
                data[col] = data[col].astype("category")
        reml = bool(spec.get("REML", ref["REML"]))
        facts = {"reference": ref["objective"]} if reml == bool(ref["REML"]) else {}
        return data, ref["formula"], reml, facts
    from benchmarks import synthetic

    maker = getattr(synthetic, spec["maker"])
    data = maker(**spec.get("args", {}))
    return data, spec["formula"], bool(spec.get("REML", True)), {}


def _warm_up() -> None:
    """Import, compile and touch every code path once on tiny models.

    Besides small fits, a crossed model on the sparse (CHOLMOD) route and a one-factor model
    with the size thresholds lowered, so that the chunked one-block evaluation and the tiled
    factor are loaded from numba's cache here rather than in the first timed fit.
    """
    import mixedmodels as mm
    from mixedmodels.linalg import tiled, workspace

    data = mm.datasets.load("sleepstudy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mm.lmer("Reaction ~ Days + (Days | Subject)", data)
        mm.lmer("Reaction ~ Days + (1 | Subject)", data)
        pen = mm.datasets.load("penicillin")
        mm.lmer("diameter ~ 1 + (1|plate) + (1|sample)", pen)
        rng = np.random.default_rng(0)
        students = np.repeat(np.arange(2000), rng.integers(1, 7, 2000))
        teachers = rng.integers(0, 400, students.size)
        ratings = pd.DataFrame(
            {
                "y": rng.normal(size=students.size) + rng.normal(size=400)[teachers],
                "s": students,
                "d": teachers,
                "dept": teachers % 7,
            }
        )
        saved = workspace.CHUNKED_MIN_WORK, tiled.TILED_MIN
        workspace.CHUNKED_MIN_WORK, tiled.TILED_MIN = 0, 0
        try:
            mm.lmer("y ~ 1 + (1|s) + (1|d) + (1|dept)", ratings)
            mm.lmer("Reaction ~ Days + (Days | Subject)", data)
            mm.lmer("diameter ~ 1 + (1|plate) + (1|sample)", pen)
        finally:
            workspace.CHUNKED_MIN_WORK, tiled.TILED_MIN = saved


def run_ours(spec: dict) -> dict:
    """Time ``lmer`` from DataFrame to fitted result."""
    import mixedmodels as mm

    data, formula, reml, facts = load_case(spec)
    input_mb = data.memory_usage(deep=True).sum() / 2**20
    _warm_up()
    base = _rss_mb()
    _reset_peak()
    times = []
    fit = None
    for _ in range(int(spec.get("repeats", 1))):
        fit = None  # the previous repeat's result is freed: the peak is one fit's
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = mm.lmer(formula, data, REML=reml)
        times.append(time.perf_counter() - start)
    out = {
        "n": int(fit.nobs),
        "seconds": float(np.median(times)),
        "min_seconds": float(np.min(times)),
        "evaluations": int(fit.optsum.evaluations),
        "check_evaluations": int(getattr(fit.optsum, "check_evaluations", 0)),
        "optimizer_seconds": float(fit.optsum.seconds),
        "objective": float(fit.objective),
        "peak_mb": max(_peak_mb() - base, 0.0),
        "input_mb": float(input_mb),
        "messages": list(fit.optsum.messages),
    }
    if "reference" in facts:
        out["objective_diff"] = out["objective"] - facts["reference"]
    return out


def run_many(spec: dict) -> dict:
    """The same formula fit to ``count`` bootstrap resamples of sleepstudy's subjects.

    Timed through the public batch API, ``mm.lmer_many``: in one process and with
    ``n_jobs`` processes (default 2, this machine's cores; worker start-up and sending the
    results back included), each the fastest of ``repeats`` runs (default 3; the machine is
    shared) on fresh copies of the frames. All runs must give identical results.
    """
    import mixedmodels as mm

    data = mm.datasets.load("sleepstudy")
    formula = spec["formula"]
    rng = np.random.default_rng(7)
    subjects = data["Subject"].unique()
    sets = []
    for _ in range(int(spec["count"])):
        pick = rng.choice(subjects, subjects.size, replace=True)
        parts = [data[data["Subject"] == s].assign(Subject=f"{s}_{i}") for i, s in enumerate(pick)]
        sets.append(pd.concat(parts, ignore_index=True))
    _warm_up()
    n_jobs = int(spec.get("n_jobs", 2))
    times: dict[int, float] = {}
    fits: dict[int, list] = {}
    for _ in range(int(spec.get("repeats", 3))):
        for jobs in (1, n_jobs):  # fresh frames for each run: no pandas caches carried over
            frames = [frame.copy() for frame in sets]
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = mm.lmer_many(formula, frames, n_jobs=jobs)
            times[jobs] = min(times.get(jobs, np.inf), time.perf_counter() - start)
            reference = fits.setdefault(1, fitted)
            identical = all(
                np.array_equal(a.theta, b.theta) and a.objective == b.objective
                for a, b in zip(reference, fitted, strict=True)
            )
            if not identical:
                raise RuntimeError(f"lmer_many with n_jobs={jobs} differs from the serial results")
    evaluations = sum(f.optsum.evaluations for f in fits[1]) / len(sets)
    checks = sum(f.optsum.check_evaluations for f in fits[1]) / len(sets)
    return {
        "n": int(len(sets[0])),
        "seconds": times[n_jobs],
        "serial_seconds": times[1],
        "n_jobs": n_jobs,
        "per_fit_ms": times[n_jobs] / len(sets) * 1e3,
        "serial_per_fit_ms": times[1] / len(sets) * 1e3,
        "evaluations": evaluations,
        "check_evaluations": checks,
        "peak_mb": 0.0,
        "count": len(sets),
    }


def run_statsmodels(spec: dict) -> dict:
    """Time statsmodels' MixedLM on the same model (its own formula translation)."""
    import statsmodels.formula.api as smf

    data, _, reml, _ = load_case(spec)
    sm = spec["statsmodels"]
    for col in data.columns:
        if isinstance(data[col].dtype, pd.CategoricalDtype):
            data[col] = data[col].astype(str)
    if sm.get("single_group"):
        data["_all"] = 1
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = smf.mixedlm(
            sm["fixed"],
            data,
            groups="_all" if sm.get("single_group") else sm["groups"],
            re_formula=sm.get("re_formula"),
            vc_formula=sm.get("vc_formula"),
        )
        result = model.fit(reml=reml)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "objective": float(-2 * result.llf)}


def run_peer(spec: dict) -> dict:
    """Time a peer package (mixedlm, lme-python) on the same case."""
    from benchmarks.peers import run_peer as fit_peer

    data, formula, reml, facts = load_case(spec)
    out = fit_peer(spec["package"], formula, data, reml, min(int(spec.get("repeats", 1)), 5))
    if "reference" in facts:
        out["objective_diff"] = out["objective"] - facts["reference"]
    return out


def main() -> None:
    spec = json.loads(sys.argv[1])
    limit_gb = spec.get("memory_limit_gb")
    if limit_gb:
        limit = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from benchmarks.routes import run_routes

    runners = {
        "ours": run_ours,
        "many": run_many,
        "statsmodels": run_statsmodels,
        "peer": run_peer,
        "routes": run_routes,
    }
    runner = runners[spec["runner"]]
    print(json.dumps(runner(spec)))


if __name__ == "__main__":
    main()

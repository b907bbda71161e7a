"""What the sparse route wins over the dense one: one objective evaluation on InstEval.

``python -m benchmarks.routes '{"id": "insteval_simple"}'`` (or as the ``routes`` runner of
:mod:`benchmarks.cases`): a reference model of tests/reference set up once and fitted once,
then one conditioned evaluation of the objective's factor at the optimum timed, median of the
repeats (the three variants interleaved), in one process:

- the sparse route (CHOLMOD's supernodal factor of the rest, through the active binding, and
  through cvxopt's binding where the active one is the ctypes binding);
- the dense route as the engine takes it at this size (the rest accumulated densely, then
  factored by fixed tiles: :mod:`mixedmodels.linalg.tiled`);
- the same dense rest factored by LAPACK's ``dpotrf`` (what the engine does below the tiled
  size).

Every variant's three numbers are compared with the sparse route's (``max_relative_diff``).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np


def _median_seconds(calls: dict, repeats: int) -> dict[str, float]:
    """Median seconds of each call, the calls interleaved (a change of load hits them all)."""
    for call in calls.values():
        call()  # warm-up: compiled kernels, symbolic analysis, buffers
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            began = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - began)
    return {name: float(np.median(values)) for name, values in times.items()}


def _lapack_evaluation(workspace, lam1, rest):
    """The dense rest factored by LAPACK's dpotrf: the engine's dense route below tiles."""
    from scipy.linalg import lapack

    from mixedmodels.linalg import kernels, routes
    from mixedmodels.linalg.threads import blas_limit

    logdet1 = routes.schur_rest(workspace, lam1, rest, True)
    S = workspace._buffers()[0]
    with blas_limit(workspace.m):
        _, info = lapack.dpotrf(S.T, lower=0, clean=0, overwrite_a=1)
    if info != 0:
        return None
    qr, p = workspace.q_rest, workspace.p
    r = S[workspace.m - 1, workspace.m - 1]
    logdet_x = kernels.log_diagonal(S, qr, qr + p)
    return routes.Evaluation(logdet1 + kernels.log_diagonal(S, 0, qr), logdet_x, r * r)


def _numbers(ev) -> np.ndarray:
    return np.array([ev.logdet_z, ev.logdet_x, ev.r2])


def run_routes(spec: dict) -> dict:
    """Median seconds of one evaluation on each route, and the ratios to the sparse one."""
    import mixedmodels as mm  # in the case's process only (the harness runs without it)
    from benchmarks.cases import load_case
    from mixedmodels.linalg import cholmod
    from mixedmodels.linalg.cholmod import cvxopt_binding

    case = spec.get("id", "insteval")
    data, formula, reml, _ = load_case({"kind": "reference", "id": case})
    model = mm.LinearMixedModel(formula, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(REML=reml)
    workspace = model.workspace
    lams = model.lambdas(fit.theta)
    lam1, rest = np.ascontiguousarray(lams[0]), lams[1:]
    repeats = int(spec.get("repeats", 10))
    variants = {
        "sparse": lambda: workspace.evaluate(lam1, rest, True),
        "dense_tiled": lambda: workspace.evaluate(lam1, rest, True, True),
        "dense_lapack": lambda: _lapack_evaluation(workspace, lam1, rest),
    }
    seconds = _median_seconds(variants, repeats)
    sparse_numbers = _numbers(variants["sparse"]())
    diffs = {
        name: float(np.max(np.abs(_numbers(call()) / sparse_numbers - 1.0)))
        for name, call in variants.items()
        if name != "sparse"
    }
    active = cholmod.describe()
    if workspace.sparse is not None and active["binding"] == "ctypes":
        sparse = workspace.sparse  # the same pattern and ordering, cvxopt's binding
        sparse._binding, sparse._factors = cvxopt_binding.CvxoptBinding(), {}
        seconds["sparse_cvxopt"] = _median_seconds({"": variants["sparse"]}, repeats)[""]
        diffs["sparse_cvxopt"] = float(
            np.max(np.abs(_numbers(variants["sparse"]()) - sparse_numbers))
        )
    return {
        "id": case,
        "formula": formula,
        "q_rest": int(workspace.q_rest),
        "n_entries": None if workspace.sparse is None else workspace.sparse.n_entries,
        "route": workspace.route.name,
        "seconds": seconds,
        "max_relative_diff": diffs,
        "binding": active["binding"],
        "cholmod": active["cholmod"],
        "cvxopt": active["cvxopt"],
        "blas_core": active["blas_core"],
        "repeats": repeats,
    }


def line(result: dict) -> str:
    """One sentence for benchmarks/results.md."""
    s = {name: value * 1000 for name, value in result["seconds"].items()}
    q = result["q_rest"]
    text = (
        f"{result['id']} (`{result['formula']}`), one objective evaluation at the optimum, "
        f"median of {result['repeats']} (rest of {q} random effects, "
        f"{result['n_entries']:,} entries in its pattern): sparse route (CHOLMOD "
        f"{result['cholmod']}, {result['binding']} binding, cvxopt {result['cvxopt']}, BLAS "
        f"kernels {result['blas_core']}) {s['sparse']:.1f} ms; dense rest factored by LAPACK "
        f"{s['dense_lapack']:.1f} ms ({s['dense_lapack'] / s['sparse']:.1f}x the sparse time), "
        f"by fixed tiles as the engine's dense route does at this size "
        f"{s['dense_tiled']:.1f} ms ({s['dense_tiled'] / s['sparse']:.1f}x)"
    )
    if "sparse_cvxopt" in s:
        text += (
            f"; the sparse route through cvxopt's binding {s['sparse_cvxopt']:.1f} ms "
            f"(same numbers, largest difference {result['max_relative_diff']['sparse_cvxopt']:.0e})"
        )
    worst = max(v for k, v in result["max_relative_diff"].items() if k != "sparse_cvxopt")
    return text + f". Dense and sparse numbers agree to {worst:.0e} relative."


if __name__ == "__main__":
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    result = run_routes(spec)
    print(line(result))

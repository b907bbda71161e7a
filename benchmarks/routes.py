"""What the sparse route wins over the dense one: one objective evaluation on InstEval.

``python -m benchmarks.routes`` (or as the ``routes`` runner of :mod:`benchmarks.cases`):
InstEval's reference model set up once and fitted once, then the objective's factorisation at
the optimum timed on the sparse route (CHOLMOD's supernodal factor of the rest, through the
active binding) and on the dense route (the rest accumulated densely and factored by LAPACK,
or by fixed tiles at its size), median of the repeats. Both give the same objective to about
1e-10 relative (the test suite checks this on smaller crossed designs).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np


def _median_seconds(call, repeats: int) -> float:
    call()  # warm-up: compiled kernels, symbolic analysis, buffers
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return float(np.median(times))


def run_routes(spec: dict) -> dict:
    """Median seconds of one evaluation on each route, and the ratio dense / sparse."""
    import mixedmodels as mm  # in the case's process only (the harness runs without it)
    from benchmarks.cases import load_case
    from mixedmodels.linalg import cholmod

    data, formula, reml, _ = load_case({"kind": "reference", "id": spec.get("id", "insteval")})
    model = mm.LinearMixedModel(formula, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(REML=reml)
    workspace = model.workspace
    lams = model.lambdas(fit.theta)
    repeats = int(spec.get("repeats", 10))
    sparse = _median_seconds(lambda: workspace.evaluate(lams[0], lams[1:], True), repeats)
    dense = _median_seconds(lambda: workspace.evaluate(lams[0], lams[1:], True, True), repeats)
    return {
        "id": spec.get("id", "insteval"),
        "q_rest": int(workspace.q_rest),
        "sparse_seconds": sparse,
        "dense_seconds": dense,
        "ratio": dense / sparse,
        "binding": cholmod.describe()["binding"],
    }


def line(result: dict) -> str:
    """One sentence for benchmarks/results.md."""
    return (
        f"InstEval, one objective evaluation at the optimum (rest of {result['q_rest']} random "
        f"effects): sparse route (CHOLMOD, {result['binding']} binding) "
        f"{result['sparse_seconds'] * 1000:.1f} ms, dense route (LAPACK) "
        f"{result['dense_seconds'] * 1000:.1f} ms: the sparse route is "
        f"{result['ratio']:.1f}x faster."
    )


if __name__ == "__main__":
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    result = run_routes(spec)
    print(line(result))

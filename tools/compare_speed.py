"""Time of one objective evaluation (the optimiser's hot path) and of a whole fit, two trees.

``python tools/compare_speed.py TREE_A TREE_B [--rounds 3]`` runs this file's measurement in
a subprocess per tree (``PYTHONPATH=<tree>/src``), alternating A and B for ``rounds``
rounds (each first in half of them) so that both see the same machine load, and prints per
model the best time of each tree and their ratio B/A. The models cover the routes
(docs/repo-map.md): sleepstudy (fused one block), Penicillin and Pastes (small rest), a
one-factor model of 10^5 levels on 10^6 rows (fused; long enough for the pool), InstEval
(sparse rest).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

MODELS = {
    "sleepstudy": ("sleepstudy", "Reaction ~ Days + (Days | Subject)"),
    "penicillin": ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
    "pastes": ("pastes", "strength ~ 1 + (1 | batch) + (1 | batch:cask)"),
    "one_factor_1e5": (None, "y ~ x + (1 | g)"),
    "insteval": ("insteval", "y ~ service + (1 | s) + (1 | d) + (1 | dept:service)"),
}


def _data(name):
    import numpy as np
    import pandas as pd

    import mixedmodels as mm

    if name is not None:
        return mm.datasets.load(name)
    rng = np.random.default_rng(0)
    n = 1_000_000
    g = rng.integers(0, 100_000, n)
    effect = rng.normal(size=100_000)[g]
    x = rng.normal(size=n)
    return pd.DataFrame({"y": 1 + 0.5 * x + effect + rng.normal(size=n), "x": x, "g": g})


def measure() -> dict:
    import mixedmodels as mm

    out = {}
    for key, (name, formula) in MODELS.items():
        data = _data(name)
        model = mm.LinearMixedModel(formula, data)
        objective = model._objective_function(True)
        x = model.start_theta("moments")
        objective(x)  # compile and warm
        repeats = max(3, int(0.5 / max(_once(objective, x), 1e-6)))
        per_call = min(_repeat(objective, x, repeats) for _ in range(3))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit()
            began = time.perf_counter()
            fit = model.fit()
            seconds = time.perf_counter() - began
        out[key] = {"evaluation": per_call, "fit": seconds, "objective": float(fit.objective)}
    return out


def _once(objective, x) -> float:
    began = time.perf_counter()
    objective(x)
    return time.perf_counter() - began


def _repeat(objective, x, repeats: int) -> float:
    began = time.perf_counter()
    for _ in range(repeats):
        objective(x)
    return (time.perf_counter() - began) / repeats


def _run(tree: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.path.join(tree, "src")}
    done = subprocess.run(
        [sys.executable, __file__, "--measure"], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("trees", nargs="*")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", action="store_true")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure()))
        return
    a, b = args.trees
    best: dict[str, dict[str, dict[str, float]]] = {a: {}, b: {}}
    for k in range(args.rounds):
        for tree in (a, b) if k % 2 == 0 else (b, a):  # each tree first in half the rounds
            for key, values in _run(tree).items():
                slot = best[tree].setdefault(key, {"evaluation": 1e300, "fit": 1e300})
                slot["evaluation"] = min(slot["evaluation"], values["evaluation"])
                slot["fit"] = min(slot["fit"], values["fit"])
    print("| model | evaluation A | evaluation B | B/A | fit A | fit B | B/A |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key in MODELS:
        ea, eb = best[a][key]["evaluation"], best[b][key]["evaluation"]
        fa, fb = best[a][key]["fit"], best[b][key]["fit"]
        print(
            f"| {key} | {ea * 1e6:.1f} us | {eb * 1e6:.1f} us | {eb / ea:.3f} "
            f"| {fa * 1e3:.1f} ms | {fb * 1e3:.1f} ms | {fb / fa:.3f} |"
        )


if __name__ == "__main__":
    main()

"""Objective values of the 16 lme4 reference models, printed to the last bit, for comparing trees.

``PYTHONPATH=<tree>/src python tools/compare_objectives.py > out.json`` in two trees, then
``python tools/compare_objectives.py --diff a.json b.json``: per model, the objective at lme4's
theta and at two points around it (``model.objective``, the public route), the optimiser's
scaled objective at the same points (the hot path), and the fitted objective, as hex floats.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "reference"


def measure() -> dict:
    import numpy as np

    import mixedmodels as mm

    out = {}
    for path in sorted(REFERENCE.glob("*.json")):
        ref = json.loads(path.read_text())
        data = mm.datasets.load(ref["data"])
        for column in ref["factors"]:
            if column in data.columns:
                data[column] = data[column].astype("category")
        model = mm.LinearMixedModel(ref["formula"], data)
        theta = np.atleast_1d(np.asarray(ref["theta"], dtype=float))
        points = [theta, theta * 1.1 + 0.01, np.maximum(theta * 0.7, model.lower_bounds)]
        values = [float(model.objective(t, REML=ref["REML"])).hex() for t in points]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(REML=ref["REML"])
        out[path.stem] = {"objective_at": values, "fit": float(fit.objective).hex()}
    return out


def diff(a: str, b: str) -> None:
    first, second = json.loads(Path(a).read_text()), json.loads(Path(b).read_text())
    same = 0
    for name in sorted(first):
        x, y = first[name], second.get(name)
        if x == y:
            same += 1
            continue
        print(f"{name}: {x} != {y}")
    print(f"{same} of {len(first)} models: every value the same to the last bit")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--diff":
        diff(sys.argv[2], sys.argv[3])
    else:
        print(json.dumps(measure(), indent=1))

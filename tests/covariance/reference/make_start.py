"""Our estimates on the reference models, in glmmTMB's parameters (for make_glmmtmb.R).

usage (from the repository root): PYTHONPATH=src python tests/covariance/reference/make_start.py

Writes ``ours.json``: per reference id glmmTMB's ``beta`` (fixed effects), ``betad``
(``log sigma^2``) and ``theta`` (per term: log standard deviations, then its correlation
parameters transformed as glmmTMB transforms them) at our optimum, and our objective.
make_glmmtmb.R then evaluates glmmTMB's own objective there (the arbiter where the two
optima differ) and restarts glmmTMB from it, keeping glmmTMB's best fit. A tool run by hand
when the references are made, never by the tests.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np

import mixedmodels as mm

HERE = Path(__file__).resolve().parent


def _logsd(sd) -> list[float]:
    return [math.log(max(float(s), 1e-10)) for s in np.atleast_1d(sd)]


def _glmmtmb_theta(term, natural: np.ndarray, sigma: float) -> list[float]:
    """glmmTMB's theta of one term from our natural parameters (SDs relative to sigma)."""
    structure = term.covariance
    kind, k = structure.kind, term.size
    sd_mask = structure.natural_is_sd()
    sds = sigma * natural[sd_mask]
    cors = natural[~sd_mask]
    if kind == "us":
        if k > 2:
            raise NotImplementedError("us terms of more than 2 columns")
        theta = _logsd(sds)
        if k == 2:  # glmmTMB's correlation of two columns is t / sqrt(1 + t^2)
            r = float(cors[0])
            theta.append(r / math.sqrt(1.0 - r * r))
        return theta
    if kind == "diag":
        return _logsd(sds)
    if kind == "homdiag":
        return _logsd(sds) * k
    if kind in ("cs", "homcs"):
        a = 1.0 / (k - 1)
        p = (float(cors[0]) + a) / (1.0 + a)
        p = min(max(p, 1e-12), 1 - 1e-12)
        logsd = _logsd(sds) * (k if kind == "homcs" else 1)
        return [*logsd, math.log(p / (1.0 - p))]
    if kind in ("ar1", "toep"):
        transformed = [float(r) / math.sqrt(max(1.0 - float(r) ** 2, 1e-24)) for r in cors]
        return [*_logsd(sds), *transformed]
    raise NotImplementedError(kind)


def inside(fit) -> np.ndarray:
    """The fit's theta with correlation parameters on a face of their box moved 1e-4 in."""
    theta = fit.theta.copy()
    lower, upper = fit.model.lower_bounds, fit.model.upper_bounds
    boxed = np.isfinite(upper)
    theta[boxed] = np.clip(theta[boxed], lower[boxed] + 1e-4, upper[boxed] - 1e-4)
    return theta


def _profiled_sigma(fit, theta: np.ndarray) -> float:
    factor = fit.model.factor(theta)
    dof = fit.nobs - fit.n_fixed if fit.reml else fit.nobs
    return float(np.sqrt(factor.r2 / dof))


def main() -> None:
    """Fit every reference model and write ``ours.json``."""
    out = {}
    specs = json.loads((HERE / "specs.json").read_text())
    for spec, reml in ((s, r) for s in specs for r in (True, False)):
        ref = {**spec, "REML": reml, "id": spec["id"] + ("" if reml else "_ml")}
        data = mm.datasets.load(ref["data"])
        if ref.get("subset"):
            data = data.query(ref["subset"]).reset_index(drop=True)
        for column in ref["factors"]:
            if column in data.columns:
                data[column] = data[column].astype("category")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = mm.lmer(ref["formula"], data, REML=ref["REML"])
        # glmmTMB's densities need a positive-definite covariance: a correlation parameter
        # on a face of its box (a singular fit) is moved 1e-4 inside for the arbiter
        point = inside(fit)
        objective = fit.model.objective(point, REML=ref["REML"])
        sigma = _profiled_sigma(fit, point)
        theta = []
        for term in fit.design.terms:
            natural = term.covariance.natural(point[term.theta_slice])
            theta += _glmmtmb_theta(term, natural, sigma)
        out[ref["id"]] = {
            "beta": fit.model.result_at(point, fit.reml, fit.optsum).fixef.tolist(),
            "betad": math.log(sigma**2),
            "theta": theta,
            "objective": objective,
            "our_theta": point.tolist(),
            "fit_objective": fit.objective,
        }
        print(f"{ref['id']:24s} {fit.objective:.6f}")
    (HERE / "ours.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

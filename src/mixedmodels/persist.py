"""Save a fit's optimiser summary to JSON and restore the fit without optimising again.

As MixedModels.jl's ``saveoptsum`` / ``restoreoptsum!``: the file holds the optimiser's story
(:class:`~mixedmodels.optimize.OptSummary`: initial and final theta, objective, evaluations,
optimiser, messages) plus the formula, the criterion and a fingerprint of the data, not the
data. Restoring sets the model up on the same data and evaluates the objective once at the
saved theta; it must equal the saved one, else the data (or the formula) differ and
:class:`~mixedmodels.errors.MixedModelsError` is raised.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np

from mixedmodels.errors import MixedModelsError
from mixedmodels.optimize import OptSummary

__all__ = ["FORMAT", "read_formula", "restore", "save_fit"]

FORMAT = "mixedmodels.optsum/1"
RELATIVE_TOLERANCE = 1e-8
"""Objective at the saved theta versus the saved objective, relative to its size."""


def _fingerprint(model) -> str:
    """SHA-256 of the response and the fixed-effect matrix (detects different data)."""
    design = model.design
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(design.y, dtype=float).tobytes())
    digest.update(np.ascontiguousarray(design.X, dtype=float).tobytes())
    return digest.hexdigest()


def _finite(values):
    return [None if not math.isfinite(v) else float(v) for v in values]


def save_fit(result, path) -> Path:
    """Write the fit's optimiser summary and identification to a JSON file.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    path
        File to write.

    Returns
    -------
    pathlib.Path
    """
    optsum = result.optsum
    summary = asdict(optsum)
    summary["initial"] = _finite(optsum.initial)
    summary["final"] = list(map(float, result.theta))
    summary["messages"] = list(optsum.messages)
    payload = {
        "format": FORMAT,
        "formula": result.model.formula,
        "REML": bool(result.reml),
        "nobs": int(result.nobs),
        "theta_names": list(result.model.theta_names),
        "fixed_names": list(result.design.fixed_names),
        "objective": float(result.objective),
        "fixef": list(map(float, result.solution.beta)),
        "data_sha256": _fingerprint(result.model),
        "optsum": summary,
    }
    path = Path(path)
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path


def _read(path) -> dict:
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MixedModelsError(f"cannot read a saved fit from {str(path)!r}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise MixedModelsError(f"{str(path)!r} is not a saved mixedmodels fit ({FORMAT})")
    return payload


def restore(model, path):
    """The fit of ``model`` saved in ``path``, without optimising (``restoreoptsum!``).

    Parameters
    ----------
    model
        A :class:`~mixedmodels.model.LinearMixedModel` set up with the same formula and data.
    path
        A file written by :func:`save_fit`.

    Returns
    -------
    LmerResult

    Raises
    ------
    MixedModelsError
        When the file is not a saved fit, or its formula, size, data or objective do not
        match the model.
    """
    payload = _read(path)
    if payload["formula"] != model.formula:
        raise MixedModelsError(
            f"the saved fit is of {payload['formula']!r}, the model is {model.formula!r}"
        )
    if payload["nobs"] != model.design.n or payload["theta_names"] != list(model.theta_names):
        raise MixedModelsError("the saved fit has other observations or covariance parameters")
    if payload["data_sha256"] != _fingerprint(model):
        raise MixedModelsError("the saved fit was made from other data (response or X differ)")
    reml = bool(payload["REML"])
    theta = np.asarray(payload["optsum"]["final"], dtype=float)
    value = model.objective(theta, REML=reml)
    saved = float(payload["objective"])
    if abs(value - saved) > RELATIVE_TOLERANCE * max(1.0, abs(saved)):
        raise MixedModelsError(
            f"the objective at the saved theta is {value!r}, the file says {saved!r}: "
            "the data or the model differ"
        )
    fields = dict(payload["optsum"])
    fields["initial"] = tuple(np.nan if v is None else v for v in fields["initial"])
    fields["final"] = tuple(theta)
    fields["messages"] = tuple(fields.get("messages", ()))
    summary = OptSummary(**fields)
    return model._result(theta, reml, summary)


def read_formula(path) -> str:
    """The formula of the fit saved at ``path`` (to set its model up again)."""
    return _read(path)["formula"]

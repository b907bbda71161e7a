"""The public entry points of linear mixed models: ``lmer`` and ``load_fit``.

``lmer`` is dispatched on the data's type.

A pandas DataFrame (or a frame of another library, or a dict of columns) is fitted in memory
by :class:`~mixedmodels.model.LinearMixedModel`; a DuckDB relation, a Parquet path, a dask
DataFrame or a :class:`~mixedmodels.sources.Source` out of core by the source's model. This
module sits above both (see docs/repo-map.md), so neither imports the other to dispatch.
"""

from __future__ import annotations

import inspect

import pandas as pd

from mixedmodels.control import Control
from mixedmodels.errors import ArgumentError
from mixedmodels.inputs import check_formula_and_data
from mixedmodels.model import LinearMixedModel
from mixedmodels.options import flag
from mixedmodels.persist import read_formula, restore
from mixedmodels.results import LmerResult
from mixedmodels.sources import as_source

__all__ = ["lmer", "load_fit"]


def lmer(
    formula: str,
    data: pd.DataFrame,
    *,
    REML: bool = True,
    weights=None,
    offset=None,
    contrasts: dict[str, str] | None = None,
    start=None,
    control: Control | dict | None = None,
    **unknown: object,
) -> LmerResult:
    """Fit a linear mixed model with lme4's formula grammar.

    Parameters
    ----------
    formula
        e.g. ``"Reaction ~ Days + (Days | Subject)"``; see
        :func:`mixedmodels.formula.parse_formula`.
    data
        pandas DataFrame; or, for a fit out of core (see :mod:`mixedmodels.sources`), a DuckDB
        relation, a Parquet path or glob, a dask DataFrame or a
        :class:`~mixedmodels.sources.Source`.
    REML
        REML (default) or maximum likelihood.
    weights, offset
        Column names or per-row values.
    contrasts
        Coding of categorical fixed-effect variables, e.g. ``{"treat": "sum"}``.
    **unknown
        Refused: an unknown keyword raises :class:`~mixedmodels.errors.ArgumentError`
        naming it and, for another spelling of one (``reml=``), the name to use.
    start, control
        Starting theta and optimiser settings (see :meth:`~mixedmodels.model.LinearMixedModel.fit`);
        ``control`` also holds lme4's model checks ``check_nobs_vs_nre`` and
        ``check_nobs_vs_nlev`` (``"stop"``, ``"warning"`` or ``"ignore"``; see
        :class:`~mixedmodels.control.Control`).

    Returns
    -------
    LmerResult

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> fit.fixef.round(3).to_dict()
    {'(Intercept)': 251.405, 'Days': 10.467}
    """
    if unknown:
        _refuse_unknown(unknown)
    check_formula_and_data(formula, data)
    REML = flag("REML", REML)
    if not isinstance(data, pd.DataFrame):
        source = as_source(data)
        if source is not None:
            model = source.model(
                formula, weights=weights, offset=offset, contrasts=contrasts, control=control
            )
            return model.fit(REML=REML, start=start, control=control)
    model = LinearMixedModel(
        formula, data, weights=weights, offset=offset, contrasts=contrasts, control=control
    )
    return model.fit(REML=REML, start=start, control=control)


def load_fit(path, data, **options) -> LmerResult:
    """Set up the saved fit's model on ``data`` and restore the fit.

    See :func:`~mixedmodels.persist.restore`.

    Parameters
    ----------
    path
        A file written by :func:`~mixedmodels.persist.save_fit` (``fit.save(path)``).
    data
        The data the fit was made from.
    **options
        ``weights``, ``offset``, ``contrasts`` as given to the original fit.

    Returns
    -------
    LmerResult

    Examples
    --------
    >>> import mixedmodels as mm, tempfile, os
    >>> sleep = mm.datasets.load("sleepstudy")
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    >>> path = os.path.join(tempfile.mkdtemp(), "fit.json")
    >>> _ = fit.save(path)
    >>> mm.load_fit(path, sleep).theta.round(4).tolist() == fit.theta.round(4).tolist()
    True
    """
    return restore(LinearMixedModel(read_formula(path), data, **options), path)


def _refuse_unknown(unknown: dict) -> None:
    """Raise naming every unknown keyword of :func:`lmer`, with the spelling lmer takes."""
    taken = [
        p.name for p in inspect.signature(lmer).parameters.values() if p.kind is p.KEYWORD_ONLY
    ]
    hints = []
    for name in unknown:
        known = [a for a in taken if a.lower() == name.lower().replace(".", "_")]
        hints.append(f"{name!r} (did you mean {known[0]!r}?)" if known else repr(name))
    raise ArgumentError(
        f"lmer() got unknown keyword argument(s) {', '.join(hints)}; it takes " + ", ".join(taken)
    )

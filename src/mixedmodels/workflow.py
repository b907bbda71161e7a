"""Working with a fit: update its formula, refit with every optimiser, inspect its pieces.

* :func:`update` is R's ``update(fit, . ~ . - x)`` (the formula algebra is
  :func:`mixedmodels.formula_update.update_formula`), refitted on the fit's data.
* :func:`all_fit` refits with every optimiser available (lme4's ``allFit``) and tabulates the
  objective, the fixed effects, theta, the time and the warnings of each.
* :func:`re_pca` is lme4's ``rePCA``: the singular values of each grouping factor's relative
  covariance factor, which show how many directions of random variation the data support.
* :func:`get_me` is lme4's ``getME``: X, Z, Zt, Lambda and the other pieces by name, in
  lme4's order and storage (Z, Zt and Lambda as scipy sparse matrices, built only here).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from mixedmodels.errors import DesignError, MixedModelsError
from mixedmodels.formula_update import update_formula
from mixedmodels.linalg.factor import log_determinants
from mixedmodels.optimize import OPTIMIZERS
from mixedmodels.progress import progress_bar

__all__ = ["AllFit", "GET_ME_NAMES", "all_fit", "get_me", "re_pca", "update"]


def _fit_rows(result, values: pd.Series) -> np.ndarray:
    """The fit's rows of a per-row Series (rows of weight zero left out)."""
    zero = getattr(result.design, "zero_weight", None)
    return values.to_numpy() if zero is None else zero.fit_rows(values.to_numpy())


def _data_of(result, data):
    if data is not None:
        return data
    data = getattr(result.model, "frame", None)
    if data is None:
        raise DesignError(
            "this fit keeps no data (a refit, a restored or an out-of-core fit): pass data="
        )
    return data


def update(result, formula: str | None = None, *, data=None, REML: bool | None = None, **kwargs):
    """Refit with an updated formula, data or options (R's ``update``).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    formula
        An update of the formula in R's notation: ``". ~ . - x"``, ``". ~ . + (1 | g)"``,
        ``"log(.) ~ ."``; None keeps it.
    data
        New data; by default the data the fit was made from.
    REML
        Criterion; by default the fit's.
    **kwargs
        ``weights``, ``offset``, ``contrasts``, ``start``, ``control`` as in
        :func:`~mixedmodels.api.lmer` (by default the fit's weights, offset and contrasts).

    Returns
    -------
    LmerResult

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> fit.update(". ~ . - (Days | Subject) + (1 | Subject)").model.formula
    'Reaction ~ Days + (1 | Subject)'
    """
    old = result.model.formula
    new = old if formula is None else update_formula(old, formula)
    options = dict(getattr(result.model, "_options", {}))
    for key in ("weights", "offset", "contrasts"):
        if key in kwargs:
            options[key] = kwargs.pop(key)
    unknown = set(kwargs) - {"start", "control"}
    if unknown:
        raise DesignError(f"update() got unknown argument(s): {', '.join(sorted(unknown))}")
    model = result.model.with_formula(new, _data_of(result, data), **options)
    return model.fit(REML=result.reml if REML is None else REML, **kwargs)


@dataclass(frozen=True, eq=False)
class AllFit:
    """The fits of :func:`all_fit`.

    Attributes
    ----------
    fits
        Optimiser name to fit (None where the fit failed).
    table
        One row per optimiser: ``objective``, ``difference`` (to the best), the fixed
        effects, theta, ``seconds``, ``evaluations``, ``warnings``.
    """

    fits: dict
    table: pd.DataFrame

    @property
    def best(self):
        """The fit with the lowest objective."""
        return self.fits[self.table["objective"].idxmin()]

    def __repr__(self) -> str:
        """The table of fits by optimiser."""
        return f"<AllFit of {len(self.fits)} optimisers>\n{self.table.to_string()}"


def all_fit(result, optimizers=None, *, progress: bool | None = None) -> AllFit:
    """Refit with every optimiser available (lme4's ``allFit``).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    optimizers
        Names among :data:`mixedmodels.optimize.OPTIMIZERS` (default: all of them). Each
        refit starts where the original fit started and runs the usual convergence check.
    progress
        Progress bar: True, False or None (when it runs longer than a second, interactively).

    Returns
    -------
    AllFit
    """
    names = list(OPTIMIZERS if optimizers is None else optimizers)
    bad = [n for n in names if n not in OPTIMIZERS]
    if bad:
        raise DesignError(
            f"unknown optimizer(s) {', '.join(bad)}; available: {', '.join(OPTIMIZERS)}"
        )
    model = result.model
    fits, rows = {}, []
    with progress_bar(progress, len(names), "all_fit") as bar:
        for name in names:
            began = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    fit = model.fit(REML=result.reml, control={"optimizer": name})
                except (MixedModelsError, ArithmeticError, np.linalg.LinAlgError) as exc:
                    fit, failure = None, f"{type(exc).__name__}: {exc}"
                else:
                    failure = ""
            messages = [str(w.message) for w in caught] + ([failure] if failure else [])
            fits[name] = fit
            row = {"objective": np.nan if fit is None else fit.objective}
            if fit is not None:
                row.update(fit.fixef.to_dict())
                row.update(dict(zip(model.theta_names, fit.theta)))
                row["evaluations"] = fit.optsum.evaluations
            row["seconds"] = time.perf_counter() - began
            row["warnings"] = "; ".join(messages)
            rows.append(row)
            bar.update(1)
    table = pd.DataFrame(rows, index=pd.Index(names, name="optimizer"))
    table.insert(1, "difference", table["objective"] - table["objective"].min())
    return AllFit(fits=fits, table=table)


@dataclass(frozen=True)
class PCA:
    """Principal components of one grouping factor's relative covariance factor.

    Attributes
    ----------
    sdev
        Singular values of the factor (relative standard deviations, decreasing).
    rotation
        Left singular vectors, one column per component.
    columns
        Names of the random effects (the rows of ``rotation``).
    """

    sdev: np.ndarray
    rotation: np.ndarray
    columns: tuple[str, ...]

    @property
    def proportion(self) -> np.ndarray:
        """Proportion of the variance along each component."""
        v = self.sdev**2
        return v / v.sum() if v.sum() > 0 else v

    def summary(self) -> pd.DataFrame:
        """Standard deviation, proportion of variance and cumulative proportion per component."""
        return pd.DataFrame(
            {
                "Standard deviation": self.sdev,
                "Proportion of Variance": self.proportion,
                "Cumulative Proportion": np.cumsum(self.proportion),
            },
            index=[f"PC{i + 1}" for i in range(self.sdev.size)],
        )


def re_pca(result) -> dict[str, PCA]:
    """lme4's ``rePCA``: per grouping factor, the SVD of its relative covariance factor.

    Near-zero ``sdev`` mean directions of random variation the data do not support (the fit
    is singular in those directions).

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> fit.re_pca()["Subject"].sdev.round(3)
    array([0.967, 0.231])
    """
    out = {}
    lambdas = result.model.lambdas(result.theta)
    for block, lam in zip(result.design.blocks, lambdas, strict=True):
        u, s, _ = np.linalg.svd(lam)
        out[block.group_name] = PCA(sdev=s, rotation=u, columns=block.columns)
    # lme4 lists the factors in the order of their first term
    order = list(dict.fromkeys(t.group_name for t in result.design.terms))
    return {name: out[name] for name in order}


GET_ME_NAMES = (
    "X", "Z", "Zt", "Lambda", "Lambdat", "Lind", "theta", "beta", "u", "b", "y", "mu",
    "offset", "weights", "sigma", "lower", "flist", "cnms", "Gp", "n", "p", "q", "n_rtrms",
    "REML", "is_REML", "fixef_names", "theta_names", "Tlist", "pwrss", "devcomp", "RX",
)  # fmt: skip
"""What :func:`get_me` can return."""


def _term_layout(result):
    """Per lme4 term (theta order): term, block, column offset in the block, Gp offset."""
    design = result.design
    layout = []
    start = 0
    for term in design.terms:
        block = result._block_of(term)
        offset = block.column_offsets[block.terms.index(term)]
        layout.append((term, block, offset, start))
        start += term.size * block.n_levels
    return layout, start


def _z_matrix(result) -> sp.csc_matrix:
    n = result.design.n
    layout, q = _term_layout(result)
    rows, cols, vals = [], [], []
    for term, block, offset, start in layout:
        for j in range(term.size):
            rows.append(np.arange(n))
            cols.append(start + block.codes * term.size + j)
            vals.append(block.matrix[:, offset + j])
    return sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, q)
    )


def _lambda_matrix(result) -> tuple[sp.csc_matrix, np.ndarray | None]:
    """Lambda (q x q, sparse) and lme4's Lind.

    Lind: theta index (1-based) of each entry of Lambdat in its compressed-column storage
    order (None when a term's lambda is a nonlinear function of theta: cs, homcs, ar1, toep;
    their Lambda holds the whole lower triangle).
    """
    layout, q = _term_layout(result)
    rows, cols, vals, index = [], [], [], []
    linear = True
    for term, block, _, start in layout:
        positions = term.covariance.linear_positions()
        if positions is None:
            r, c = np.tril_indices(term.size)
            theta_index = np.zeros(r.size)
            linear = False
        else:
            r, c, theta_index = positions
        lam = result._term_lambda(term)
        for level in range(block.n_levels):
            base = start + level * term.size
            rows.append(base + r)
            cols.append(base + c)
            vals.append(lam[r, c])
            index.append(term.theta_offset + theta_index + 1.0)
    rows_, cols_ = np.concatenate(rows), np.concatenate(cols)
    Lambda = sp.csc_matrix((np.concatenate(vals), (rows_, cols_)), shape=(q, q))
    if not linear:
        return Lambda, None
    positions = sp.csc_matrix((np.concatenate(index), (cols_, rows_)), shape=(q, q))
    positions.sort_indices()
    return Lambda, positions.data.astype(int)


def _spherical(result) -> tuple[np.ndarray, np.ndarray]:
    """u and b in lme4's order: term after term, level-major within a term."""
    layout, _ = _term_layout(result)
    us, bs = [], []
    block_list = list(result.design.blocks)
    for term, block, offset, _ in layout:
        k = block_list.index(block)
        sl = slice(offset, offset + term.size)
        us.append(result.solution.u[k][:, sl].ravel())
        bs.append(result._block_effects[k][:, sl].ravel())
    return np.concatenate(us), np.concatenate(bs)


def get_me(result, name: str):
    """A piece of the fitted model by lme4's name (lme4's ``getME``).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    name
        One of :data:`GET_ME_NAMES`: ``"X"`` (dense), ``"Z"`` (sparse n x q), ``"Zt"``,
        ``"Lambda"`` and ``"Lambdat"`` (sparse q x q), ``"Lind"``, ``"theta"``, ``"beta"``,
        ``"u"`` (spherical random effects), ``"b"`` (``Lambda u``), ``"y"``, ``"mu"``
        (fitted values), ``"offset"``, ``"weights"``, ``"sigma"``, ``"lower"``, ``"flist"``
        (grouping factors as pandas Categoricals), ``"cnms"`` (pairs of factor and column
        names, one per term), ``"Gp"`` (first position of each term in b), ``"n"``, ``"p"``,
        ``"q"``, ``"n_rtrms"``, ``"REML"`` (0, or the number of fixed effects as lme4's),
        ``"is_REML"``, ``"Tlist"`` (each term's lambda), ``"pwrss"``, ``"devcomp"``.

    Returns
    -------
    numpy.ndarray, scipy.sparse matrix, scalar, list or dict

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> fit.get_me("Z").shape
    (180, 36)
    """
    design = result.design
    if name not in GET_ME_NAMES:
        raise DesignError(f"get_me has no {name!r}; available: {', '.join(GET_ME_NAMES)}")
    if name == "X":
        return np.asarray(design.X)
    if name == "Z":
        return _z_matrix(result)
    if name == "Zt":
        return _z_matrix(result).T.tocsc()
    if name in ("Lambda", "Lambdat", "Lind"):
        Lambda, lind = _lambda_matrix(result)
        if name == "Lind":
            if lind is None:
                kinds = sorted({t.covariance.kind for t in design.terms if t.structured})
                raise DesignError(
                    f"get_me('Lind'): the lambda of a {'/'.join(kinds)}() term is a nonlinear"
                    " function of theta, not a copy of its entries; see get_me('Lambda')"
                )
            return lind
        return Lambda if name == "Lambda" else Lambda.T.tocsc()
    if name in ("u", "b"):
        u, b = _spherical(result)
        return u if name == "u" else b
    simple = {
        "theta": lambda: np.asarray(result.theta),
        "beta": lambda: np.asarray(result.solution.beta),
        "y": lambda: np.asarray(design.y),
        "mu": lambda: _fit_rows(result, result.fitted),
        "offset": lambda: np.zeros(design.n) if design.offset is None else design.offset,
        "weights": lambda: np.ones(design.n) if design.weights is None else design.weights,
        "sigma": lambda: float(result.sigma),
        "lower": lambda: np.asarray(result.model.lower_bounds),
        "n": lambda: int(design.n),
        "p": lambda: int(result.n_fixed),
        "n_rtrms": lambda: len(design.terms),
        "REML": lambda: int(result.n_fixed) if result.reml else 0,
        "is_REML": lambda: bool(result.reml),
        "fixef_names": lambda: list(design.fixed_names),
        "theta_names": lambda: list(result.model.theta_names),
        "pwrss": lambda: float(result.factor.r2),
        # R_X, upper triangular with R_X' R_X = sigma^2 vcov^-1: unique, so lme4's whatever
        # the order of the random effects (RZX and L depend on it and are not offered)
        "RX": lambda: np.triu(
            result.factor.Lrr[
                result.model.stats.q_rest : result.model.stats.q_rest + result.n_fixed,
                result.model.stats.q_rest : result.model.stats.q_rest + result.n_fixed,
            ].T
        ),
    }
    if name in simple:
        return simple[name]()
    layout, q = _term_layout(result)
    if name == "q":
        return int(q)
    if name == "Gp":
        return np.array([start for *_, start in layout] + [q])
    if name == "cnms":  # lme4's named list repeats a name: pairs here
        return [(t.group_name, list(t.columns)) for t in design.terms]
    if name == "Tlist":
        labels = result._group_labels()
        return {label: result._term_lambda(t) for label, t in zip(labels, design.terms)}
    if name == "flist":
        return {
            b.group_name: pd.Categorical.from_codes(b.codes, categories=list(b.levels))
            for b in design.blocks
        }
    # devcomp

    ldL2, ldRX2 = log_determinants(result.factor, result.model.stats)
    return {
        "pwrss": float(result.factor.r2),
        "ldL2": float(ldL2),
        "ldRX2": float(ldRX2),
        "sigmaML": float(np.sqrt(result.factor.r2 / design.n)),
        "sigmaREML": float(np.sqrt(result.factor.r2 / (design.n - result.n_fixed))),
        "REML": float(result.reml_criterion),
        "dev": float(result.deviance),
        "n": int(design.n),
        "p": int(result.n_fixed),
        "q": int(q),
        "nth": int(result.theta.size),
    }

"""Predictions: any subset of the random effects, standard errors, confidence and prediction
intervals, and simulation for new data.

* ``re_form`` as lme4's ``re.form``: None (every random-effect term), ``"~0"`` / ``"NA"``
  (none), or a formula of a subset of the terms, ``"~(1 | Subject)"``; a term may use fewer
  columns than the model's term on that factor (``(1 | Subject)`` of a ``(Days | Subject)``
  model takes the intercepts only).
* :func:`predict_frame` adds standard errors and intervals. ``interval="confidence"``: the
  fixed-effect part ``x'beta`` with ``se = sqrt(x' V x)``; with random effects included
  (``re_form`` not ``"~0"``) the standard error is that of the conditional prediction
  ``x'beta + z'b`` around its target (``sigma^2 v' Omega^-1 v``, through the factor: see
  :mod:`mixedmodels.linalg.rows`). ``interval="prediction"``: merTools' ``predictInterval``
  (simulation of sigma, beta and the random effects, plus the residual) or the parametric
  bootstrap (``method="bootstrap"``).
* :func:`simulate` draws responses for new data, with the fitted random effects
  (``use_u=True``, lme4's ``use.u``) or new ones.

Everything here reads ``design``, ``theta``, ``solution``, ``sigma``, ``vcov``, ``condvar``
and ``model.lambdas`` of the result; a GLMM result providing those (and ``family.linkinv`` for
the response scale) can use it as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri

from mixedmodels.design import group_codes, lme4_column_names
from mixedmodels.errors import DesignError, FormulaError, MissingColumnError
from mixedmodels.newdata import new_model_matrix

__all__ = [
    "RandomPiece",
    "fixed_matrix",
    "predict",
    "predict_frame",
    "random_pieces",
    "simulate",
]

NO_RANDOM = frozenset({"~0", "~ 0", "NA", "na", "none", "~-1", "~ -1"})


@dataclass(frozen=True)
class RandomPiece:
    """Columns of one engine block used by a prediction.

    Attributes
    ----------
    block_index
        Position of the block in ``design.blocks``.
    columns
        Column positions inside the block.
    spec
        The formulaic spec that rebuilds these columns for new data (None: build by name).
    lhs
        The term's left side (formulaic text) when ``spec`` is None.
    group
        The grouping variables.
    """

    block_index: int
    columns: tuple[int, ...]
    spec: object | None
    lhs: str
    group: tuple[str, ...]
    select: tuple[int, ...] | None = None
    text: str = ""


def _no_random(re_form) -> bool:
    if re_form is None:
        return False
    if isinstance(re_form, float) and np.isnan(re_form):
        return True
    return str(re_form).strip() in NO_RANDOM


def random_pieces(result, re_form=None) -> list[RandomPiece]:
    """The random-effect columns a prediction with ``re_form`` uses.

    Raises
    ------
    FormulaError
        When ``re_form`` names a term, grouping factor or column the model does not have.
    """
    design = result.design
    blocks = design.blocks
    if _no_random(re_form):
        return []
    if re_form is None:
        wanted = list(dict.fromkeys(spec.term for spec in design.term_specs))
    else:
        from mixedmodels.formula import parse_formula

        text = str(re_form).strip()
        if not text.startswith("~"):
            raise FormulaError(f"re_form must start with '~', got {re_form!r}", text)
        try:
            wanted = list(parse_formula(f"__response__ {text}").random)
        except FormulaError as exc:
            raise FormulaError(
                f"re_form {text!r} must list random-effect terms such as (1 | g): {exc}", text
            ) from exc
    pieces = []
    used: dict[str, int] = {}
    by_name = {b.group_name: i for i, b in enumerate(blocks)}
    model_terms = {}
    for spec in design.term_specs:
        name = spec.term.group_name
        k = used.get(name, 0)
        used[name] = k + 1
        block = blocks[by_name[name]]
        offset, size = block.column_offsets[k], block.terms[k].size
        model_terms.setdefault((spec.term.lhs, spec.term.group), []).append(
            (spec, tuple(range(offset, offset + size)))
        )
    for term in wanted:
        if term.group_name not in by_name:
            have = ", ".join(by_name)
            raise FormulaError(
                f"re_form term {term.text} uses grouping factor {term.group_name!r}, which the "
                f"model does not have ({have})",
                str(re_form),
            )
        index = by_name[term.group_name]
        exact = model_terms.get((term.lhs, term.group))
        if exact is not None:  # one model term (several for a zerocorr term)
            for spec, columns in exact:
                pieces.append(
                    RandomPiece(
                        index,
                        columns,
                        spec.model_spec,
                        term.lhs,
                        term.group,
                        spec.select,
                        term.text,
                    )
                )
            continue
        columns = _columns_by_name(blocks[index], term, result)
        pieces.append(RandomPiece(index, columns, None, term.lhs, term.group, None, term.text))
    return pieces


def _columns_by_name(block, term, result) -> tuple[int, ...]:
    """Block column positions of a re_form term that is not one of the model's terms."""
    from mixedmodels.fastmatrix import required_variables

    names = list(block.columns)
    if term.lhs.replace(" ", "") == "1":
        wanted = ["(Intercept)"]
    else:
        # names of the term's columns: materialise it on one row of a frame of zeros
        variables = sorted(set(required_variables(term.lhs)))
        import formulaic

        try:
            mm = formulaic.model_matrix(term.lhs, _example_frame(variables))
        except Exception as exc:  # formulaic's errors: a function of a factor, say
            raise FormulaError(
                f"re_form term {term.text} is not one of the model's terms and its columns "
                f"cannot be named: {exc}",
                term.text,
            ) from exc
        wanted = list(lme4_column_names(list(mm.columns)))
    missing = [w for w in wanted if w not in names]
    if missing:
        raise FormulaError(
            f"re_form term {term.text} has column(s) {', '.join(missing)} that the model's "
            f"terms on {block.group_name!r} do not have ({', '.join(names)})",
            term.text,
        )
    if len(set(names)) != len(names):
        raise FormulaError(
            f"re_form term {term.text}: the model has several terms with the same columns on "
            f"{block.group_name!r}; write the model's term exactly",
            term.text,
        )
    return tuple(names.index(w) for w in wanted)


def _example_frame(variables: list[str]) -> pd.DataFrame:
    """One row of zeros: enough for formulaic to name the columns of numeric variables."""
    return pd.DataFrame({v: [0.0] for v in variables})


def fixed_matrix(result, newdata: pd.DataFrame) -> np.ndarray:
    """The fixed-effect model matrix of new data, encoded as the fitting data were.

    Columns as ``result.fixef`` (aliased columns dropped); a row with a missing value in a
    used column gives NaN.
    """
    design = result.design
    spec = design.fixed_spec
    missing = [v for v in spec.required_variables if v not in newdata.columns]
    if missing:
        raise MissingColumnError(f"newdata lacks column(s): {', '.join(sorted(missing))}")
    mm = new_model_matrix(spec, newdata, "the fixed part")
    names = lme4_column_names(list(mm.columns))
    full = np.asarray(mm, dtype=float)
    if len(names) != len(design.kept_columns) + len(design.dropped_names):
        raise DesignError("newdata does not give the model's fixed-effect columns")
    X = full[:, design.kept_columns]
    # a missing covariate gives a missing prediction (R's na.pass), even where the
    # formula's expression of it is defined (``C(x > 3)`` is False for a missing x)
    incomplete = np.zeros(len(newdata), dtype=bool)
    for name in spec.required_variables:
        if name in newdata.columns:
            incomplete |= np.asarray(pd.isna(newdata[name]), dtype=bool)
    if incomplete.any():
        X = X.copy()
        X[incomplete] = np.nan
    return X


def _piece_rows(result, piece: RandomPiece, newdata: pd.DataFrame | None, allow_new_levels):
    """Codes (``-1`` for new levels) and the rows' matrix of one piece (its columns only)."""
    block = result.design.blocks[piece.block_index]
    if newdata is None:
        return block.codes, block.matrix[:, list(piece.columns)]
    missing = [g for g in piece.group if g not in newdata.columns]
    if missing:
        raise MissingColumnError(f"newdata lacks grouping column(s): {', '.join(missing)}")
    if piece.spec is not None:
        matrix = new_model_matrix(piece.spec, newdata, f"term {piece.text}")
    else:
        import formulaic

        matrix = formulaic.model_matrix(piece.lhs, newdata, na_action="ignore")
    matrix = np.asarray(matrix, dtype=float)
    if piece.select is not None:
        matrix = matrix[:, list(piece.select)]
    labels = _row_labels(newdata, piece.group)
    position = {level: i for i, level in enumerate(block.levels)}
    codes = np.array([position.get(label, -1) for label in labels], dtype=np.intp)
    if (codes < 0).any() and not allow_new_levels:
        new = sorted({lab for lab, i in zip(labels, codes) if i < 0})[:5]
        raise DesignError(
            f"new levels of {block.group_name!r} in newdata ({', '.join(new)}); "
            "use allow_new_levels=True to predict them with zero random effects"
        )
    return codes, matrix


def _row_labels(frame: pd.DataFrame, group: tuple[str, ...]) -> list[str]:
    if len(group) == 1:
        return frame[group[0]].astype(str).tolist()
    parts = [frame[g].astype(str).tolist() for g in group]
    return [":".join(p) for p in zip(*parts)]


def _random_values(result, pieces, newdata, allow_new_levels) -> np.ndarray:
    n = result.design.n if newdata is None else len(newdata)
    values = np.zeros(n)
    effects = result._block_effects
    for piece in pieces:
        codes, matrix = _piece_rows(result, piece, newdata, allow_new_levels)
        b = effects[piece.block_index][:, list(piece.columns)]
        contribution = np.einsum("nk,nk->n", matrix, b[np.maximum(codes, 0)])
        values += np.where(codes >= 0, contribution, 0.0)
    return values


def _fixed_values(result, newdata) -> tuple[np.ndarray, np.ndarray]:
    design = result.design
    if newdata is None:
        X = design.X
        values = X @ result.solution.beta
        if design.offset is not None:
            values = values + design.offset
        return X, values
    X = fixed_matrix(result, newdata)
    values = X @ result.solution.beta
    for spec in getattr(design, "offset_specs", ()):  # the formula's offset(...) terms
        term = new_model_matrix(spec, newdata, "an offset term")
        values = values + np.asarray(term, dtype=float)[:, 0]
    return X, values


def _index(result, newdata) -> pd.Index:
    return result.design.row_index if newdata is None else newdata.index


def predict(result, newdata=None, re_form=None, allow_new_levels: bool = False) -> pd.Series:
    """Predictions on the linear-predictor scale (lme4's ``predict``).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    newdata
        A DataFrame with the formula's variables; the fitting rows when None.
    re_form
        None (all random effects), ``"~0"`` (none) or a formula of some of the model's
        random-effect terms, e.g. ``"~(1 | plate)"``.
    allow_new_levels
        Predict levels the fit has not seen with zero random effects (else raise).

    Returns
    -------
    pandas.Series
        Named ``"predicted"``.
    """
    newdata = _as_frame(newdata)
    pieces = random_pieces(result, re_form)
    _, values = _fixed_values(result, newdata)
    if newdata is None and not pieces and hasattr(result, "_with_zero_weight_rows"):
        # the fixed part of the fitting rows, rows of weight zero included (lm's rule)
        return result._with_zero_weight_rows(values, "predicted", include_random=False)
    if pieces:
        values = values + _random_values(result, pieces, newdata, allow_new_levels)
    return pd.Series(values, index=_index(result, newdata), name="predicted")


def _rows_prediction(result, newdata, re_form, allow_new_levels) -> pd.Series:
    """:func:`predict` on the fit's rows only (no rows of weight zero) when newdata is None."""
    pieces = random_pieces(result, re_form)
    _, values = _fixed_values(result, newdata)
    if pieces:
        values = values + _random_values(result, pieces, newdata, allow_new_levels)
    return pd.Series(values, index=_index(result, newdata), name="predicted")


def _as_frame(newdata):
    """pandas for new data given as polars, pyarrow or a dict of columns (None stays None)."""
    if newdata is None or isinstance(newdata, pd.DataFrame):
        return newdata
    from mixedmodels.inputs import as_pandas

    return as_pandas(newdata, "newdata")


def _full_rows(result, pieces, newdata, allow_new_levels):
    """RowBlocks over every engine block with only the pieces' columns (others zero)."""
    from mixedmodels.linalg.rows import RowBlock

    design = result.design
    n = design.n if newdata is None else len(newdata)
    mats = [np.zeros((n, b.size)) for b in design.blocks]
    codes = [np.full(n, -1, dtype=np.intp) for _ in design.blocks]
    for piece in pieces:
        c, matrix = _piece_rows(result, piece, newdata, allow_new_levels)
        mats[piece.block_index][:, list(piece.columns)] = matrix
        codes[piece.block_index] = c
    return [RowBlock(np.asarray(c), np.nan_to_num(m)) for c, m in zip(codes, mats)]


def prediction_se(result, newdata=None, re_form=None, allow_new_levels: bool = False):
    """Standard errors of the predictions (see the module docstring)."""
    pieces = random_pieces(result, re_form)
    X, _ = _fixed_values(result, newdata)
    if not pieces:
        V = result.vcov.to_numpy()
        return np.sqrt(np.einsum("na,ab,nb->n", X, V, X))
    from mixedmodels.linalg.rows import row_quadratic

    rows = _full_rows(result, pieces, newdata, allow_new_levels)
    h = row_quadratic(
        result.model.stats,
        result.factor,
        result.model.lambdas(result.theta),
        rows,
        np.nan_to_num(X),
    )
    se = result.sigma * np.sqrt(h)
    return np.where(np.isnan(X).any(axis=1), np.nan, se)


def predict_frame(
    result,
    newdata: pd.DataFrame | None = None,
    re_form=None,
    *,
    interval: str | None = "confidence",
    level: float = 0.95,
    allow_new_levels: bool = False,
    method: str = "simulation",
    n_sims: int = 1000,
    seed=None,
    include_residual: bool = True,
    stat: str = "median",
) -> pd.DataFrame:
    """Predictions with standard errors and intervals.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    newdata, re_form, allow_new_levels
        As in :func:`predict`.
    interval
        ``"confidence"`` (normal-theory interval of the prediction from ``se_fit``),
        ``"prediction"`` (an interval for a new observation) or None (no interval).
    level
        Coverage of the interval.
    method
        For prediction intervals: ``"simulation"`` (merTools' ``predictInterval``: sigma from
        its scaled inverse chi-square, beta from N(beta, vcov), each level's random effects
        from N(b, condvar), then the residual) or ``"bootstrap"`` (the parametric bootstrap:
        refit ``n_sims`` simulated responses and add a residual to each refit's prediction;
        the responses are simulated given the fitted random effects when ``re_form``
        includes any, as ``bootMer(use.u = TRUE)``).
    n_sims
        Number of simulations or bootstrap replicates.
    seed
        Seed of the simulation (None, an int or a ``numpy.random.Generator``).
    include_residual
        Add the residual variation (a prediction interval); False gives an interval for the
        conditional mean by simulation.
    stat
        For simulation intervals, ``fit`` is the ``"median"`` (merTools' default) or the
        ``"mean"`` of the simulations; otherwise ``fit`` is the prediction.

    Returns
    -------
    pandas.DataFrame
        Columns ``fit``, ``se_fit`` and, with an interval, ``lower`` and ``upper``.

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> grid = mm.datasets.load("sleepstudy").head(3)
    >>> fit.predict_frame(grid, re_form="~0").round(2)
          fit  se_fit   lower   upper
    0  251.41    6.82  238.03  264.78
    1  261.87    6.79  248.57  275.17
    2  272.34    7.09  258.44  286.24
    """
    if not 0 < level < 1:
        raise DesignError(f"level must be in (0, 1), got {level!r}")
    newdata = _as_frame(newdata)
    if interval not in (None, "confidence", "prediction"):
        raise DesignError(f"interval must be None, 'confidence' or 'prediction', got {interval!r}")
    fit = _rows_prediction(result, newdata, re_form, allow_new_levels)
    se = prediction_se(result, newdata, re_form, allow_new_levels)
    frame = pd.DataFrame({"fit": fit.to_numpy(), "se_fit": se}, index=fit.index)
    if interval is None:
        return frame
    if interval == "confidence":
        z = float(ndtri(0.5 + level / 2))
        frame["lower"] = frame["fit"] - z * se
        frame["upper"] = frame["fit"] + z * se
        return frame
    if method == "simulation":
        draws = simulate_predictions(
            result, newdata, re_form, allow_new_levels, n_sims, seed, include_residual
        )
    elif method == "bootstrap":
        draws = bootstrap_predictions(
            result, newdata, re_form, allow_new_levels, n_sims, seed, include_residual
        )
    else:
        raise DesignError(f"method must be 'simulation' or 'bootstrap', got {method!r}")
    if stat not in ("median", "mean"):
        raise DesignError(f"stat must be 'median' or 'mean', got {stat!r}")
    tail = (1 - level) / 2
    if method == "simulation":
        center = np.median(draws, axis=1) if stat == "median" else draws.mean(axis=1)
        frame["fit"] = center
    frame["lower"] = np.quantile(draws, tail, axis=1)
    frame["upper"] = np.quantile(draws, 1 - tail, axis=1)
    return frame


def _generator(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def simulate_predictions(
    result, newdata, re_form, allow_new_levels, n_sims, seed, include_residual
) -> np.ndarray:
    """merTools' ``predictInterval`` draws, ``(rows, n_sims)``."""
    rng = _generator(seed)
    n_sims = int(n_sims)
    if n_sims < 2:
        raise DesignError(f"n_sims must be at least 2, got {n_sims!r}")
    design = result.design
    residual_df = design.n - result.n_fixed - result.theta.size - 1
    pwrss = result.factor.r2
    sigma = np.sqrt(1.0 / rng.gamma(0.5 * residual_df, 1.0 / (0.5 * pwrss), n_sims))
    X, _ = _fixed_values(result, newdata)
    beta = rng.multivariate_normal(result.solution.beta, result.vcov.to_numpy(), n_sims)
    draws = X @ beta.T
    if design.offset is not None and newdata is None:
        draws += design.offset[:, None]
    pieces = random_pieces(result, re_form)
    effects = result._block_effects
    condvar = list(result.condvar.values())
    for piece in pieces:
        codes, matrix = _piece_rows(result, piece, newdata, allow_new_levels)
        cols = list(piece.columns)
        mean = effects[piece.block_index][:, cols]
        cov = condvar[piece.block_index][:, cols][:, :, cols]
        chol = np.linalg.cholesky(cov + 1e-300 * np.eye(len(cols)))  # zero variances stay zero
        used = np.unique(codes[codes >= 0])
        if used.size == 0:  # only new levels: no random part
            continue
        z = rng.standard_normal((used.size, len(cols), n_sims))
        b = mean[used][:, :, None] + np.einsum("lab,lbs->las", chol[used], z)
        where = np.searchsorted(used, np.maximum(codes, 0))
        contrib = np.einsum("nk,nks->ns", matrix, b[np.minimum(where, used.size - 1)])
        draws += np.where((codes >= 0)[:, None], contrib, 0.0)
    if include_residual:
        draws += rng.standard_normal(draws.shape) * sigma[None, :]
    return draws


def bootstrap_predictions(
    result, newdata, re_form, allow_new_levels, n_sims, seed, include_residual
) -> np.ndarray:
    """Predictions of parametric-bootstrap refits (plus a residual), ``(rows, n_sims)``."""
    import warnings

    from mixedmodels.errors import ConvergenceWarning
    from mixedmodels.inference.bootstrap import _Simulator

    rng = _generator(seed)
    simulator = _Simulator.of(result)
    model = result.model
    n_rows = result.design.n if newdata is None else len(newdata)
    draws = np.full((n_rows, int(n_sims)), np.nan)
    # conditional predictions: bootMer's use.u = TRUE (new residuals around the fitted
    # values, so each refit's modes estimate the same random effects); else new effects too
    conditional = bool(random_pieces(result, re_form))
    for k in range(int(n_sims)):
        if conditional:
            y = simulate(result, 1, rng, use_u=True)[:, 0]
        else:
            y = simulator.draw(rng, 1)[:, 0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            refit = model.with_response(y).fit(
                REML=result.reml, start=result.theta, control={"check_convergence": False}
            )
        values = _rows_prediction(refit, newdata, re_form, allow_new_levels).to_numpy()
        if include_residual:
            values = values + refit.sigma * rng.standard_normal(n_rows)
        draws[:, k] = values
    return draws


def simulate(
    result,
    nsim: int = 1,
    seed=None,
    newdata: pd.DataFrame | None = None,
    use_u: bool = False,
    re_form=None,
    allow_new_levels: bool = False,
) -> np.ndarray:
    """Responses simulated from the fitted model, for the fitting rows or new data.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    nsim
        Number of simulated responses.
    seed
        None, an int or a ``numpy.random.Generator``.
    newdata
        Rows to simulate for (the fitting rows when None).
    use_u
        Condition on the fitted random effects (lme4's ``use.u = TRUE``: only the residual is
        new); else draw new random effects for every level (of the terms in ``re_form``).
    re_form
        Random-effect terms to include (as in :func:`predict`); with ``use_u=False`` the
        terms left out contribute nothing.
    allow_new_levels
        New levels in ``newdata``: zero fitted effect (``use_u``) or a fresh draw.

    Returns
    -------
    numpy.ndarray
        ``(rows, nsim)``.
    """
    nsim = int(nsim)
    if nsim < 1:
        raise DesignError(f"nsim must be a positive integer, got {nsim!r}")
    newdata = _as_frame(newdata)
    rng = _generator(seed)
    if use_u:
        mean = _rows_prediction(result, newdata, re_form, allow_new_levels).to_numpy()
        draws = np.repeat(mean[:, None], nsim, axis=1)
    else:
        _, mean = _fixed_values(result, newdata)
        draws = np.repeat(mean[:, None], nsim, axis=1)
        lams = result.model.lambdas(result.theta)
        for piece in random_pieces(result, re_form):
            block = result.design.blocks[piece.block_index]
            if newdata is None:
                codes, matrix = block.codes, block.matrix[:, list(piece.columns)]
                n_levels = block.n_levels
            else:
                _, matrix = _piece_rows(result, piece, newdata, True)
                codes, labels = group_codes(newdata, piece.group)
                n_levels = len(labels)
                if not allow_new_levels:
                    _piece_rows(result, piece, newdata, False)  # raises on new levels
            lam = lams[piece.block_index]
            u = rng.standard_normal((nsim, n_levels, block.size))
            b = result.sigma * (u @ lam.T)[:, :, list(piece.columns)]
            draws += np.einsum("nk,snk->ns", matrix, b[:, codes, :])
    noise = result.sigma * rng.standard_normal(draws.shape)
    weights = result.design.weights
    if newdata is None and weights is not None:
        noise /= np.sqrt(weights)[:, None]
    return draws + noise

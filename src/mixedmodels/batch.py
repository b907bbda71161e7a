"""One formula fitted to many data sets: simulations, resampling, one model per gene.

:func:`lmer_many` parses the formula once and fits every data frame with exactly the code of
:func:`mixedmodels.lmer`, so each result equals the separate fit of that frame. What is reused
across frames is what does not depend on the data: the parsed formula, the model-matrix plans
(see :mod:`mixedmodels.fastmatrix`) and the compiled kernels. With ``n_jobs > 1`` the frames
are shared out between this process and ``n_jobs - 1`` forked worker processes, in chunks taken
in order from a shared counter (so a busy core takes fewer); results and warnings come back
in the order of the frames.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from mixedmodels.errors import DesignError, MixedModelsError
from mixedmodels.formula import ParsedFormula
from mixedmodels.model import LinearMixedModel
from mixedmodels.processes import can_fork, resolve_jobs, run_forked, settled_objects
from mixedmodels.results import LmerResult
from mixedmodels.variables import parse_cached

__all__ = ["lmer_many"]

MAX_CHUNK = 32  # frames handed to a process at a time, at most (by default)

_Outcome = tuple[list[tuple[LmerResult, list[tuple[type[Warning], str]]]], BaseException | None]


def lmer_many(
    formula: str | ParsedFormula,
    frames: Iterable[pd.DataFrame],
    *,
    REML: bool = True,
    weights: str | None = None,
    offset: str | None = None,
    contrasts: dict[str, str] | None = None,
    start=None,
    control: dict | None = None,
    n_jobs: int = 1,
    chunk_size: int | None = None,
) -> list[LmerResult]:
    """Fit one formula to many data frames; the same results as one :func:`lmer` per frame.

    The formula is parsed once, and the model-matrix plans derived for the first frame are
    reused for every later frame with the same column types, so a small model costs little
    more than its optimisation. Each result equals ``lmer(formula, frame, ...)`` exactly.

    Parameters
    ----------
    formula
        lme4 formula, e.g. ``"Reaction ~ Days + (Days | Subject)"``, or a parsed formula.
    frames
        The data sets, each a pandas DataFrame with every variable of the formula. They may
        differ in rows, levels and grouping factors.
    REML
        REML (default) or maximum likelihood.
    weights, offset
        Column names, read from every frame.
    contrasts
        Coding of categorical fixed-effect variables, e.g. ``{"treat": "sum"}``.
    start, control
        Starting theta and optimiser settings, as for :meth:`LinearMixedModel.fit`.
    n_jobs
        Processes to use: 1 (default) fits in this process; ``k > 1`` adds ``k - 1`` forked
        worker processes (POSIX only; elsewhere the fits run here); ``-1`` uses every core,
        ``-2`` all but one. Worth it from a few hundred small fits: starting a worker and
        sending results back costs milliseconds.
    chunk_size
        Frames handed to a process at a time when ``n_jobs > 1`` (default: a quarter of a
        process's share of the frames left, at most 32 and at least 1).

    Returns
    -------
    list of LmerResult
        One result per frame, in the order of ``frames``.

    Raises
    ------
    MixedModelsError
        The error of the first frame (in order) that cannot be fitted, as :func:`lmer` would
        raise it; warnings of the frames before it have been issued.

    Warns
    -----
    ConvergenceWarning, SingularFitWarning, RankDeficiencyWarning
        Per frame, as :func:`lmer` warns, in the order of the frames.

    Examples
    --------
    >>> import mixedmodels as mm
    >>> sleep = mm.datasets.load("sleepstudy")
    >>> halves = [sleep[sleep["Days"] < 5], sleep[sleep["Days"] >= 5]]
    >>> fits = mm.lmer_many("Reaction ~ Days + (1 | Subject)", halves)
    >>> [round(float(f.fixef["Days"]), 3) for f in fits]
    [8.249, 10.912]
    """
    parsed = parse_cached(formula) if isinstance(formula, str) else formula
    frames = list(frames)
    options = {
        "REML": REML,
        "weights": weights,
        "offset": offset,
        "contrasts": contrasts,
        "start": start,
        "control": control,
    }
    jobs = resolve_jobs(n_jobs, DesignError)
    if jobs == 1 or len(frames) < 2 or not can_fork():
        serial: list[LmerResult] = []
        with settled_objects() as settle:
            for i, frame in enumerate(frames, 1):
                serial.append(_fit(parsed, frame, options))
                if i % MAX_CHUNK == 0:
                    settle()
        return serial
    if chunk_size is not None and chunk_size < 1:
        raise DesignError(f"chunk_size must be at least 1, got {chunk_size}")
    bounds = chunk_bounds(len(frames), jobs, chunk_size)
    outcomes = _run_forked(parsed, frames, options, bounds, min(jobs, len(bounds)))
    results: list[LmerResult] = []
    for k in range(len(bounds)):
        fitted, error = outcomes[k]
        for result, caught in fitted:
            for category, message in caught:
                warnings.warn(message, category, stacklevel=2)
            results.append(result)
        if error is not None:
            raise error
    return results


def chunk_bounds(count: int, jobs: int, chunk_size: int | None) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` chunks of ``range(count)``, in order.

    With ``chunk_size`` all have that size (the last may be shorter). By default a chunk is a
    quarter of a process's share of what is left, at most :data:`MAX_CHUNK` and at least one
    frame ("guided" scheduling): large chunks while much is left, and chunks of one or a few
    frames at the end, so that no process waits long for another's last chunk.
    """
    bounds = []
    start = 0
    while start < count:
        if chunk_size is None:
            size = max(1, min(MAX_CHUNK, -(-(count - start) // (4 * jobs))))
        else:
            size = chunk_size
        bounds.append((start, min(start + size, count)))
        start += size
    return bounds


def _fit(parsed: ParsedFormula, frame: pd.DataFrame, options: dict[str, Any]) -> LmerResult:
    """One frame, exactly as :func:`mixedmodels.lmer` fits a DataFrame."""
    model = LinearMixedModel(
        parsed,
        frame,
        weights=options["weights"],
        offset=options["offset"],
        contrasts=options["contrasts"],
    )
    return model.fit(REML=options["REML"], start=options["start"], control=options["control"])


def _fit_chunk(
    parsed: ParsedFormula, frames: Sequence[pd.DataFrame], options: dict[str, Any]
) -> _Outcome:
    """Fit frames in order, recording each one's warnings; stop at the first error."""
    fitted: list[tuple[LmerResult, list[tuple[type[Warning], str]]]] = []
    with warnings.catch_warnings(record=True) as caught:  # once per chunk: entering is costly
        warnings.simplefilter("always")
        for frame in frames:
            first = len(caught)  # this frame's warnings are those recorded from here on
            try:
                result = _fit(parsed, frame, options)
            except Exception as exc:  # handed back and raised in frame order
                return fitted, exc
            fitted.append((result, [(w.category, str(w.message)) for w in caught[first:]]))
    return fitted, None


def _run_forked(
    parsed: ParsedFormula,
    frames: list[pd.DataFrame],
    options: dict[str, Any],
    bounds: list[tuple[int, int]],
    jobs: int,
) -> dict[int, _Outcome]:
    """Fit the chunks ``bounds`` here and in ``jobs - 1`` forked workers; outcomes by chunk."""
    return run_forked(
        lambda k: _fit_chunk(parsed, frames[slice(*bounds[k])], options),
        len(bounds),
        jobs,
        name="lmer_many",
        failed=lambda outcome: outcome[1] is not None,
        dumps=_dumps,
    )


def _dumps(k: int, outcome: _Outcome) -> bytes:
    """Pickle a chunk's outcome; an error that does not pickle is sent as its text."""
    try:
        return pickle.dumps((k, outcome), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # e.g. an exception class with a custom constructor
        fitted, error = outcome
        replacement = MixedModelsError(f"{type(error).__name__}: {error}")
        return pickle.dumps((k, (fitted, replacement)), protocol=pickle.HIGHEST_PROTOCOL)

"""Simulation from a fitted model and the parametric bootstrap (lme4's ``simulate``, ``bootMer``).

A simulated response draws new random effects ``b = sigma * lambda u`` (``u`` standard
normal, per level of every grouping factor) and new residuals ``sigma * e / sqrt(w)`` around
``X beta`` (plus the offset), with the fitted theta, sigma and beta.

The bootstrap refits the model to each simulated response with the model set-up reused
(:meth:`~mixedmodels.model.LinearMixedModel.with_response`: only the response's row of A is
recomputed), starting from the fitted theta. Replicate ``i`` draws from its own generator,
seeded from the ``i``-th child of ``numpy.random.SeedSequence(seed)``, so the output for a
given seed is the same whatever the number of worker processes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mixedmodels.errors import ConvergenceWarning, DesignError, InferenceError
from mixedmodels.inference._params import SdCorMap
from mixedmodels.linalg.threads import blas_limit
from mixedmodels.processes import can_fork, resolve_jobs, run_forked
from mixedmodels.progress import make_bar

if TYPE_CHECKING:
    from mixedmodels.model import LinearMixedModel

__all__ = ["simulate", "bootstrap"]

_CHUNK = 25  # replicates per task sent to a worker


@dataclass(frozen=True, eq=False)
class _Simulator:
    """What a simulation needs: the model and the parameters to simulate from."""

    model: LinearMixedModel
    theta: np.ndarray
    beta: np.ndarray
    sigma: float

    @classmethod
    def of(cls, result) -> _Simulator:
        return cls(
            model=result.model,
            theta=np.asarray(result.theta, dtype=float),
            beta=np.asarray(result.solution.beta, dtype=float),
            sigma=float(result.sigma),
        )

    def draw(self, rng: np.random.Generator, nsim: int) -> np.ndarray:
        """``(n, nsim)`` simulated responses.

        The random effects of every level and the residuals are drawn first, then added to
        ``X beta`` (plus the offset) chunk by chunk of the model's rows (one chunk in
        memory; an out-of-core fit reads its rows from the source).
        """
        model = self.model
        effects = []
        for block, lam in zip(model.design.blocks, model.lambdas(self.theta), strict=True):
            u = rng.standard_normal((nsim, block.n_levels, block.size))
            effects.append(self.sigma * (u @ lam.T))  # (nsim, levels, size)
        n = model.design.n
        noise = self.sigma * rng.standard_normal((n, nsim))
        parts, start = [], 0
        for rows in model.row_chunks():
            mean = rows.X @ self.beta
            if rows.offset is not None:
                mean = mean + rows.offset
            y = np.repeat(mean[:, None], nsim, axis=1)
            for (codes, matrix), b in zip(rows.blocks, effects, strict=True):
                y += np.einsum("nk,snk->ns", matrix, b[:, codes, :])
            stop = start + y.shape[0]
            part = noise[start:stop]
            if rows.weights is not None:
                part /= np.sqrt(rows.weights)[:, None]
            parts.append(y + part)
            start = stop
        if start != n:
            raise DesignError(
                f"the model's rows were read as {start} rows, the fit has {n}: did the data "
                "change since the fit?"
            )
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _generator(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def simulate(result, nsim: int = 1, seed=None) -> np.ndarray:
    """Responses simulated from a fitted model (lme4's ``simulate``).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    nsim
        Number of simulated responses.
    seed
        None, an int, a ``numpy.random.SeedSequence`` or a ``numpy.random.Generator``.

    Returns
    -------
    numpy.ndarray
        ``(n, nsim)``: one column per simulation, rows as the fitted data.

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> fit.simulate(nsim=3, seed=1).shape
    (180, 3)
    """
    nsim = int(nsim)
    if nsim < 1:
        raise InferenceError(f"nsim must be a positive integer, got {nsim!r}")
    return _Simulator.of(result).draw(_generator(seed), nsim)


# -- the bootstrap ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Job:
    """Everything a worker needs to run replicates."""

    simulator: _Simulator
    reml: bool
    columns: tuple[str, ...]
    statistics: Callable | None
    params: SdCorMap


_JOB: _Job | None = None


def _init_worker(job: _Job, limit_blas: bool = False) -> None:
    global _JOB
    _JOB = job
    if limit_blas:
        # a worker process: one BLAS thread for good (many small factorisations, and the
        # workers already occupy the cores)
        blas_limit(0).__enter__()


def _statistic_values(value) -> dict[str, float]:
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()}
    if isinstance(value, pd.Series):
        return {str(k): float(v) for k, v in value.items()}
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return {"statistic": float(array)}
    return {f"statistic_{i}": float(v) for i, v in enumerate(array.ravel())}


def _replicate(job: _Job, seed: np.random.SeedSequence) -> tuple[np.ndarray, dict[str, float]]:
    sim = job.simulator
    model = sim.model
    y = sim.draw(np.random.default_rng(seed), 1)[:, 0]
    row = np.full(len(job.columns), np.nan)
    extra: dict[str, float] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = model.with_response(y).fit(
                REML=job.reml, start=sim.theta, control={"check_convergence": False}
            )
    except (ArithmeticError, ValueError, RuntimeError, np.linalg.LinAlgError):
        return row, extra
    row[:] = np.concatenate(
        [fit.theta, job.params.to_sdcor(fit.theta, fit.sigma), fit.solution.beta, [fit.objective]]
    )
    if job.statistics is not None:
        extra = _statistic_values(job.statistics(fit))
    return row, extra


def _run_chunk(seeds: list[np.random.SeedSequence]) -> list[tuple[np.ndarray, dict]]:
    assert _JOB is not None
    return [_replicate(_JOB, s) for s in seeds]


def _progress_bar(progress, total: int):
    """A tqdm bar or None (see :mod:`mixedmodels.progress`: notebooks and terminals, after 1 s)."""
    return make_bar(progress, total, "bootstrap")


def bootstrap(
    result,
    n: int = 1000,
    seed=None,
    n_jobs: int = 1,
    progress: bool | None = None,
    statistics: Callable | None = None,
) -> pd.DataFrame:
    """Parametric bootstrap of a fitted model (lme4's ``bootMer``).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    n
        Number of replicates.
    seed
        None, an int or a ``numpy.random.SeedSequence``: the master seed whose ``i``-th
        spawned child seeds replicate ``i``.
    n_jobs
        Processes (``-1``: one per core, ``-2`` all but one): this one and ``n_jobs - 1``
        forked workers (:func:`mixedmodels.processes.run_forked`; without ``fork``, as on
        Windows, the replicates run here). The output does not depend on it.
    progress
        Show a tqdm progress bar: True, False, or None (in a notebook or a terminal, once the
        replicates have run for a second; see :mod:`mixedmodels.progress`).
    statistics
        Optional ``f(fit) -> float | array | Mapping[str, float]`` of a refitted
        :class:`~mixedmodels.results.LmerResult`, added as columns (``statistic``,
        ``statistic_0``, ... or the mapping's keys).

    Returns
    -------
    pandas.DataFrame
        One row per replicate (index ``replicate``): theta (lme4's names, e.g.
        ``Subject.(Intercept)``), the standard deviations and correlations
        (``sd_(Intercept)|Subject``, ``cor_Days.(Intercept)|Subject``, ...), ``sigma``, the
        fixed effects, ``objective`` (REML criterion or ML deviance), then the statistics.
        A replicate whose refit failed is a row of NaN.

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> fit.bootstrap(n=5, seed=1, progress=False).shape
    (5, 10)
    """
    n = int(n)
    if n < 1:
        raise InferenceError(f"n must be a positive integer, got {n!r}")
    workers = resolve_jobs(n_jobs, InferenceError)
    if isinstance(seed, np.random.Generator):
        raise InferenceError("seed must be None, an int or a SeedSequence, not a Generator")
    master = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    seeds = master.spawn(n)
    model = result.model
    columns = (
        *model.theta_names,
        *SdCorMap(model.design.terms).names,
        *model.design.fixed_names,
        "objective",
    )
    job = _Job(
        simulator=_Simulator.of(result),
        reml=bool(result.reml),
        columns=columns,
        statistics=statistics,
        params=SdCorMap(model.design.terms),
    )
    chunks = [seeds[i : i + _CHUNK] for i in range(0, n, _CHUNK)]
    bar = _progress_bar(progress, n)
    outputs: list[tuple[np.ndarray, dict]] = []
    try:
        _init_worker(job)
        with blas_limit(0):  # many small factorisations: one BLAS thread is fastest
            if workers == 1 or len(chunks) == 1 or not can_fork():
                for chunk in chunks:
                    outputs.extend(_run_chunk(chunk))
                    if bar is not None:
                        bar.update(len(chunk))
            else:
                done = run_forked(
                    lambda k: _run_chunk(chunks[k]),
                    len(chunks),
                    min(workers, len(chunks)),
                    name="bootstrap",
                    initializer=lambda: _init_worker(job, True),
                    on_outcome=None if bar is None else lambda k, _: bar.update(len(chunks[k])),
                )
                for k in range(len(chunks)):
                    outputs.extend(done[k])
    finally:
        if bar is not None:
            bar.close()
    frame = pd.DataFrame(np.vstack([row for row, _ in outputs]), columns=list(columns))
    if statistics is not None:
        extra = pd.DataFrame([e for _, e in outputs], index=frame.index)
        frame = pd.concat([frame, extra], axis=1)
    frame.index.name = "replicate"
    return frame

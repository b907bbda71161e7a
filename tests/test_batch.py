"""lmer_many: one formula, many data frames, the same results as one lmer call per frame."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.errors import DesignError, MissingColumnError

SLEEP = mm.datasets.load("sleepstudy")
FORMULA = "Reaction ~ Days + (Days | Subject)"


def resamples(count: int, seed: int = 7) -> list[pd.DataFrame]:
    """Bootstrap resamples of sleepstudy's subjects, each drawn subject a new level (str)."""
    rng = np.random.default_rng(seed)
    subjects = SLEEP["Subject"].unique()
    frames = []
    for _ in range(count):
        pick = rng.choice(subjects, subjects.size, replace=True)
        parts = [
            SLEEP[SLEEP["Subject"] == s].assign(Subject=f"{s}_{i}") for i, s in enumerate(pick)
        ]
        frames.append(pd.concat(parts, ignore_index=True))
    return frames


def assert_same_fit(a: mm.LmerResult, b: mm.LmerResult) -> None:
    """Bit-for-bit the same estimates, criterion, optimiser story and random effects."""
    assert np.array_equal(a.theta, b.theta)
    assert a.objective == b.objective
    assert a.sigma == b.sigma
    pd.testing.assert_series_equal(a.fixef, b.fixef, check_exact=True)
    pd.testing.assert_frame_equal(a.vcov, b.vcov, check_exact=True)
    pd.testing.assert_frame_equal(a.ranef_table, b.ranef_table, check_exact=True)
    assert a.optsum.evaluations == b.optsum.evaluations
    assert a.optsum.check_evaluations == b.optsum.check_evaluations
    assert a.optsum.final == b.optsum.final
    assert a.optsum.messages == b.optsum.messages


@pytest.fixture(scope="module")
def frames() -> list[pd.DataFrame]:
    return resamples(24)


@pytest.fixture(scope="module")
def separate(frames) -> list[mm.LmerResult]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [mm.lmer(FORMULA, frame) for frame in frames]


def test_serial_results_equal_separate_fits(frames, separate):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = mm.lmer_many(FORMULA, frames)
    assert len(fits) == len(frames)
    for a, b in zip(fits, separate, strict=True):
        assert_same_fit(a, b)


@pytest.mark.parametrize("chunk_size", [None, 1, 5, 100])
def test_two_processes_give_the_serial_results(frames, separate, chunk_size):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = mm.lmer_many(FORMULA, frames, n_jobs=2, chunk_size=chunk_size)
    for a, b in zip(fits, separate, strict=True):
        assert_same_fit(a, b)
        assert a.nobs == b.nobs
        assert a.design.blocks[0].levels == b.design.blocks[0].levels


def test_a_parsed_formula_and_ml_and_a_generator_of_frames(frames):
    parsed = mm.LinearMixedModel(FORMULA, frames[0]).design.formula
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = mm.lmer_many(parsed, (f for f in frames[:3]), REML=False)
        want = [mm.lmer(FORMULA, f, REML=False) for f in frames[:3]]
    for a, b in zip(fits, want, strict=True):
        assert not a.reml
        assert_same_fit(a, b)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_warnings_come_per_frame_in_frame_order(n_jobs):
    frames = [mm.datasets.load("dyestuff"), mm.datasets.load("dyestuff2")] * 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits = mm.lmer_many("Yield ~ 1 + (1|Batch)", frames, n_jobs=n_jobs, chunk_size=1)
    singular = [w for w in caught if issubclass(w.category, mm.SingularFitWarning)]
    assert len(singular) == 3
    assert [f.is_singular for f in fits] == [False, True] * 3


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_the_first_failing_frame_raises_its_error(frames, n_jobs):
    bad = [frames[0], frames[1], frames[2].drop(columns="Days"), frames[3]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(MissingColumnError, match="Days"):
            mm.lmer_many(FORMULA, bad, n_jobs=n_jobs, chunk_size=1)


def test_bad_options_are_rejected(frames):
    with pytest.raises(DesignError, match="n_jobs"):
        mm.lmer_many(FORMULA, frames[:2], n_jobs=0)
    with pytest.raises(DesignError, match="chunk_size"):
        mm.lmer_many(FORMULA, frames[:2], n_jobs=2, chunk_size=0)


def test_no_frames_no_results():
    assert mm.lmer_many(FORMULA, [], n_jobs=2) == []


def test_a_fit_survives_pickling(separate):
    fit = separate[0]
    back = pickle.loads(pickle.dumps(fit))
    assert_same_fit(fit, back)
    assert str(back.summary()) == str(fit.summary())
    assert np.array_equal(back.predict(), fit.predict())
    again = back.model.fit()
    assert np.array_equal(again.theta, fit.theta)


@pytest.mark.parametrize(("count", "jobs"), [(1000, 2), (37, 3), (5, 2), (1, 4), (0, 2)])
def test_guided_chunks_cover_the_frames_in_order(count, jobs):
    from mixedmodels.batch import MAX_CHUNK, chunk_bounds

    bounds = chunk_bounds(count, jobs, None)
    starts = [a for a, _ in bounds]
    assert starts == sorted(starts)
    assert [b for _, b in bounds][-1:] == ([count] if count else [])
    assert all(b2 == a1 for (_, b2), (a1, _) in zip(bounds, bounds[1:]))
    sizes = [b - a for a, b in bounds]
    assert all(1 <= s <= MAX_CHUNK for s in sizes)
    assert sizes == sorted(sizes, reverse=True)  # large first, single frames at the end
    if count >= 4 * jobs:
        assert sizes[-1] == 1
    assert chunk_bounds(10, 2, 4) == [(0, 4), (4, 8), (8, 10)]


def test_the_collector_is_thawed_after_forked_fits(frames):
    import gc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n_jobs in (1, 2):
            mm.lmer_many(FORMULA, frames[:4], n_jobs=n_jobs)
            assert gc.get_freeze_count() == 0
            assert gc.isenabled()
        gc.freeze()  # the caller's own freeze is left alone
        try:
            before = gc.get_freeze_count()
            mm.lmer_many(FORMULA, frames[:4], n_jobs=2)
            assert gc.get_freeze_count() > before // 2  # still frozen (some may have died)
        finally:
            gc.unfreeze()


def test_forked_workers_start_their_own_thread_pool():
    """After this process has used the tile pool (sparse route, parallel check), forked
    workers must not wait for pool threads that fork did not copy."""
    rng = np.random.default_rng(2)

    def ratings(seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        students = np.repeat(np.arange(1500), rng.integers(1, 7, 1500))
        teachers = rng.integers(0, 400, students.size)
        y = rng.normal(size=1500)[students] * 0.5 + rng.normal(size=400)[teachers] * 0.3
        return pd.DataFrame({"y": y + rng.normal(size=students.size), "s": students, "d": teachers})

    formula = "y ~ 1 + (1|s) + (1|d)"
    first = mm.LinearMixedModel(formula, ratings(0))
    assert first.workspace.sparse is not None  # the route that uses the pool
    first.fit()
    frames = [ratings(int(seed)) for seed in rng.integers(1, 1000, 4)]
    forked = mm.lmer_many(formula, frames, n_jobs=2, chunk_size=1)
    serial = mm.lmer_many(formula, frames)
    for a, b in zip(forked, serial, strict=True):
        np.testing.assert_array_equal(a.theta, b.theta)

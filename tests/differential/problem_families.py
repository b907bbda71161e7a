"""The differential test's problem families: each a recipe drawing one problem from a seed.

``all_problems()`` enumerates them in a fixed order; a problem's id is ``<family>-<k>`` and its
seed is derived from the family's name and ``k`` only, so adding a family leaves the others'
data unchanged.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from problem_generator import Draws, Factor, Problem, Term, build_problem

SIZES = (20, 30, 50, 80, 120, 200, 400, 1000, 3000)
LARGE = (5000, 10000, 20000)


def _size(d: Draws, k: int, large_every: int = 0, minimum: int = 20) -> int:
    if large_every and k % large_every == large_every - 1:
        return LARGE[(k // large_every) % len(LARGE)]
    return max(minimum, SIZES[int(d.integer(0, len(SIZES)))])


def _levels(d: Draws, n: int, low: int = 3, per: int = 5, cap: int = 400) -> int:
    """A number of levels with on average ``per`` or more rows each."""
    top = max(low + 1, min(cap, n // per))
    return int(d.integer(low, top + 1))


def _reml(k: int) -> bool:
    return k % 2 == 0


def random_intercept(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, large_every=6)
    g = _levels(d, n, cap=800)
    singles = int(d.integer(0, 4)) if g > 6 else 0
    return build_problem(
        pid, "ri", d, n=n, reml=_reml(k),
        factors={"g": Factor(g, balanced=k % 3 == 0, singletons=singles)},
        terms=[Term("g", sds=(0.3 + 2 * d.uniform(),))],
        covariates={"x": (1.0, 0.0)}, fixed=["x"], features=("1 factor", "unbalanced"),
    )  # fmt: skip


def slope2(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, large_every=8, minimum=30)
    g = _levels(d, n, low=4, per=6, cap=500)
    sds = (0.5 + 2 * d.uniform(), 0.2 + d.uniform())
    return build_problem(
        pid, "rs2", d, n=n, reml=_reml(k),
        factors={"g": Factor(g, singletons=int(d.integer(0, 3)) if g > 8 else 0)},
        terms=[Term("g", ("x",), sds)],
        covariates={"x": (1.0, 0.0)}, fixed=["x"], sigma=0.3 + d.uniform(),
        features=("slope 2",),
    )  # fmt: skip


def slope3(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, large_every=8, minimum=50)
    g = _levels(d, n, low=5, per=8, cap=400)
    sds = (0.5 + d.uniform(), 0.3 + d.uniform(), 0.3 + d.uniform())
    if k % 4 == 3:  # a rank-deficient covariance: the third row a multiple of the first
        sds = (sds[0], sds[1], 0.0)
    return build_problem(
        pid, "rs3", d, n=n, reml=_reml(k),
        factors={"g": Factor(g)},
        terms=[Term("g", ("x", "z"), sds)],
        covariates={"x": (1.0, 0.0), "z": (1.0, 0.0)}, fixed=["x", "z"],
        features=("slope 3",),
    )  # fmt: skip


def uncorrelated(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, minimum=40)
    g = _levels(d, n, low=4, per=6)
    slopes = ("x",) if k % 2 == 0 else ("x", "z")
    sds = tuple(0.3 + d.uniform() for _ in range(1 + len(slopes)))
    return build_problem(
        pid, "zc", d, n=n, reml=_reml(k // 2),
        factors={"g": Factor(g)},
        terms=[Term("g", slopes, sds, kind="uncorr")],
        covariates={"x": (1.0, 0.0), "z": (1.0, 0.0)}, fixed=list(slopes),
        features=("||",),
    )  # fmt: skip


def categorical(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, minimum=60)
    g = _levels(d, n, low=4, per=10, cap=200)
    f_levels = 2 + k % 2
    sds = tuple(0.4 + d.uniform() for _ in range(f_levels))
    return build_problem(
        pid, "cat", d, n=n, reml=_reml(k // 2), f_levels=f_levels,
        factors={"g": Factor(g)},
        terms=[Term("g", ("f",), sds, kind="cat")],
        covariates={"x": (1.0, 0.0)}, fixed=["x", "f"],
        features=("(0 + f | g)",),
    )  # fmt: skip


def crossed2(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, large_every=8, minimum=40)
    a, b = _levels(d, n, low=3, per=4, cap=600), _levels(d, n, low=3, per=8, cap=60)
    terms = [Term("a", sds=(0.5 + d.uniform(),)), Term("b", sds=(0.5 + d.uniform(),))]
    if k % 3 == 2:
        terms[1] = Term("b", ("x",), (0.5 + d.uniform(), 0.3 + d.uniform()))
    return build_problem(
        pid, "crossed2", d, n=n, reml=_reml(k),
        factors={"a": Factor(a, singletons=int(d.integer(0, 3))), "b": Factor(b, balanced=True)},
        terms=terms, covariates={"x": (1.0, 0.0)}, fixed=["x"],
        features=("crossed 2",),
    )  # fmt: skip


def crossed3(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, minimum=80)
    levels = [_levels(d, n, low=3, per=6, cap=150) for _ in range(3)]
    return build_problem(
        pid, "crossed3", d, n=n, reml=_reml(k),
        factors={name: Factor(lv) for name, lv in zip("abc", levels)},
        terms=[Term(name, sds=(0.3 + d.uniform(),)) for name in "abc"],
        covariates={"x": (1.0, 0.0)}, fixed=["x"], features=("crossed 3",),
    )  # fmt: skip


def nested(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, minimum=60)
    outer = _levels(d, n, low=3, per=20, cap=40)
    inner = outer * int(d.integer(2, 6))
    inner = min(inner, n // 2)
    slopes = ("x",) if k % 3 == 1 else ()
    sds = (0.5 + d.uniform(),) + ((0.3 + d.uniform(),) if slopes else ())
    return build_problem(
        pid, "nested", d, n=n, reml=_reml(k),
        factors={"a": Factor(outer, kind="outer"),
                 "b": Factor(inner, kind="nested", parent="a", singletons=int(d.integer(0, 2)))},
        terms=[Term("a/b", slopes, sds)],
        covariates={"x": (1.0, 0.0)}, fixed=["x"], features=("nested",),
    )  # fmt: skip


def partially_crossed(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, minimum=60)
    a = _levels(d, n, low=4, per=6, cap=200)
    b = _levels(d, n, low=6, per=6, cap=100)
    return build_problem(
        pid, "partial", d, n=n, reml=_reml(k),
        factors={"a": Factor(a), "b": Factor(b, kind="partial", parent="a", width=max(2, b // 4))},
        terms=[Term("a", sds=(0.5 + d.uniform(),)), Term("b", sds=(0.5 + d.uniform(),))],
        covariates={"x": (1.0, 0.0)}, fixed=["x"], features=("partially crossed",),
    )  # fmt: skip


def near_singular(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, minimum=30)
    g = _levels(d, n, low=4, per=5, cap=300)
    tiny = (0.0, 1e-3, 0.02)[k % 3]
    shape = k % 4
    if shape == 0:
        terms, cov, fixed = [Term("g", sds=(tiny,))], {"x": (1.0, 0.0)}, ["x"]
    elif shape == 1:
        terms, cov, fixed = [Term("g", ("x",), (1.0, tiny))], {"x": (1.0, 0.0)}, ["x"]
    elif shape == 2:
        terms, cov, fixed = [Term("g", ("x",), (tiny, 1.0))], {"x": (1.0, 0.0)}, ["x"]
    else:
        terms, cov, fixed = (
            [Term("g", ("x", "z"), (1.0, 0.5, tiny))],
            {"x": (1.0, 0.0), "z": (1.0, 0.0)},
            ["x", "z"],
        )
    return build_problem(
        pid, "singular", d, n=n, reml=_reml(k // 4), factors={"g": Factor(g)},
        terms=terms, covariates=cov, fixed=fixed, features=("near-singular",),
    )  # fmt: skip


def large_variance(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, minimum=40)
    g = _levels(d, n, low=5, per=4, cap=200)
    big = (1000.0, 300.0, 3000.0)[k % 3]
    terms = [Term("g", sds=(big,))] if k % 2 == 0 else [Term("g", ("x",), (big, big / 10))]
    return build_problem(
        pid, "bigvar", d, n=n, reml=_reml(k // 2), factors={"g": Factor(g)},
        terms=terms, covariates={"x": (1.0, 0.0)}, fixed=["x"], features=("1000x variance",),
    )  # fmt: skip


SCALES = (1e-4, 1e-3, 1e-2, 1.0, 1e2, 1e3, 1e5)


def covariate_scale(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, minimum=40)
    g = _levels(d, n, low=4, per=6, cap=200)
    scale = SCALES[k % len(SCALES)]
    shift = 1e4 if k % 3 == 1 and scale >= 1.0 else 0.0  # x = 1e4 + 1e-3 N(0, 1) is collinear
    # with the intercept at lme4's (and our) rank tolerance: both drop it
    sigma = 0.01 if k % 5 == 4 else 1.0
    slope = k % 2 == 0
    terms = [Term("g", ("x",), (1.0, 0.5))] if slope else [Term("g", sds=(1.0,))]
    return build_problem(
        pid, "scale", d, n=n, reml=_reml(k // 2), factors={"g": Factor(g)},
        terms=terms, covariates={"x": (scale, shift), "z": (1.0, 1e4 if k % 4 == 3 else 0.0)},
        fixed=["x", "z"], sigma=sigma, features=(f"scale {scale:g}", f"shift {shift:g}"),
    )  # fmt: skip


def large_mean(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, large_every=5, minimum=40)
    g = _levels(d, n, low=4, per=8, cap=300)
    terms = [Term("g", sds=(1.0,))] if k % 2 else [Term("g", ("x",), (1.0, 0.5))]
    return build_problem(
        pid, "bigmean", d, n=n, reml=_reml(k // 2), factors={"g": Factor(g)},
        terms=terms, covariates={"x": (1.0, 0.0)}, fixed=["x"], mean=1e6,
        sigma=(1.0, 0.05)[k % 2], features=("mean 1e6",),
    )  # fmt: skip


def missing_values(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, minimum=60)
    g = _levels(d, n, low=4, per=8, cap=200)
    crossed = k % 3 == 2
    factors = {"g": Factor(g)} | ({"b": Factor(5)} if crossed else {})
    terms = [Term("g", ("x",), (1.0, 0.5))] + ([Term("b", sds=(0.7,))] if crossed else [])
    return build_problem(
        pid, "missing", d, n=n, reml=_reml(k), factors=factors, terms=terms,
        covariates={"x": (1.0, 0.0)}, fixed=["x"], missing=0.03 + 0.04 * d.uniform(),
        features=("missing values",),
    )  # fmt: skip


def weighted(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, large_every=8, minimum=40)
    g = _levels(d, n, low=4, per=8, cap=300)
    kind = "zeros" if k % 3 != 0 else "positive"
    terms = [Term("g", sds=(1.0,))] if k % 2 else [Term("g", ("x",), (1.0, 0.5))]
    return build_problem(
        pid, "weights", d, n=n, reml=_reml(k // 2), factors={"g": Factor(g)}, terms=terms,
        covariates={"x": (1.0, 0.0)}, fixed=["x"], weights=kind,
        features=(f"weights {kind}",),
    )  # fmt: skip


def with_offset(d: Draws, pid: str, k: int) -> Problem:
    n = _size(d, k, minimum=40)
    g = _levels(d, n, low=4, per=6, cap=300)
    crossed = k % 3 == 1
    factors = {"g": Factor(g)} | ({"b": Factor(6, balanced=True)} if crossed else {})
    terms = [Term("g", ("x",), (1.0, 0.4))] + ([Term("b", sds=(0.8,))] if crossed else [])
    return build_problem(
        pid, "offset", d, n=n, reml=_reml(k), factors=factors, terms=terms,
        covariates={"x": (1.0, 0.0)}, fixed=["x"], offset=True,
        weights="positive" if k % 4 == 3 else None, features=("offset",),
    )  # fmt: skip


FAMILIES: dict[str, tuple[Callable[[Draws, str, int], Problem], int]] = {
    "ri": (random_intercept, 30),
    "rs2": (slope2, 30),
    "rs3": (slope3, 24),
    "zc": (uncorrelated, 18),
    "cat": (categorical, 18),
    "crossed2": (crossed2, 24),
    "crossed3": (crossed3, 15),
    "nested": (nested, 18),
    "partial": (partially_crossed, 15),
    "singular": (near_singular, 24),
    "bigvar": (large_variance, 24),
    "scale": (covariate_scale, 28),
    "bigmean": (large_mean, 15),
    "missing": (missing_values, 15),
    "weights": (weighted, 24),
    "offset": (with_offset, 16),
}


def problem_ids() -> list[str]:
    """Every problem id, in order."""
    return [f"{family}-{k:03d}" for family, (_, count) in FAMILIES.items() for k in range(count)]


def make_problem(pid: str) -> Problem:
    """Draw one problem from its id (seed: CRC-32 of the family name, and the index)."""
    family, index = pid.rsplit("-", 1)
    recipe, _ = FAMILIES[family]
    k = int(index)
    return recipe(Draws([zlib.crc32(family.encode()), k]), pid, k)


def all_problems() -> list[Problem]:
    return [make_problem(pid) for pid in problem_ids()]

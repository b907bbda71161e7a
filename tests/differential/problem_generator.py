"""Seeded random linear mixed-model problems for the differential test against lme4.

Every number comes from bit-stable primitives only: numpy's PCG64 ``Generator.random()`` and
``Generator.integers()``, transformed elementwise (``scipy.special.ndtri`` for normal draws,
``np.argsort(kind="stable")`` for permutations, sums written out term by term, never a BLAS
product). The data of a problem is its CSV text (12 significant digits), which is what R reads
and what the test parses; its SHA-256 is stored with lme4's reference, so a change in generation
fails loudly instead of comparing against other data.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri

GENERATOR_VERSION = 1
CSV_FLOAT_FORMAT = "%.12g"
CATEGORICAL_COLUMNS = ("g", "a", "b", "c", "f")
PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3


@dataclass(frozen=True)
class Problem:
    """One problem: lme4 formula, criterion, optional weight/offset columns and its data."""

    id: str
    family: str
    formula: str
    reml: bool
    csv: str
    weights: str | None = None
    offset: str | None = None
    features: tuple[str, ...] = field(default_factory=tuple)

    @property
    def checksum(self) -> str:
        """SHA-256 of the CSV text."""
        return hashlib.sha256(self.csv.encode()).hexdigest()

    def frame(self) -> pd.DataFrame:
        """The data as pandas parses it (exact round trip of the CSV's decimals)."""
        header = self.csv.split("\n", 1)[0].split(",")
        text_columns = {c: str for c in header if c in CATEGORICAL_COLUMNS}
        exact = {} if PANDAS_3 else {"float_precision": "round_trip"}  # pandas 3: the default
        return pd.read_csv(io.StringIO(self.csv), dtype=text_columns, **exact)


class Draws:
    """Uniform, normal, integer and permutation draws from a seeded PCG64 stream."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def uniform(self, size=None):
        return self.rng.random(size)

    def normal(self, size=None):
        u = self.rng.random(size)
        return ndtri(np.clip(u, 2.0**-60, 1.0 - 2.0**-53))

    def integer(self, low: int, high: int, size=None):
        """Integers in [low, high)."""
        return self.rng.integers(low, high, size)

    def choice(self, options):
        return options[int(self.integer(0, len(options)))]

    def permutation(self, n: int) -> np.ndarray:
        return np.argsort(self.uniform(n), kind="stable")


def assign_levels(draws: Draws, n: int, levels: int, balanced: bool, singletons: int = 0):
    """Level codes in [0, levels) with each level used; ``singletons`` levels used once."""
    regular = levels - singletons
    if regular < 1 or n < levels:
        raise ValueError("need at least one regular level and a row per level")
    rest = n - singletons - regular
    if balanced:
        extra = np.arange(rest) % regular
    else:
        p = np.exp(1.2 * draws.normal(regular))
        edges = np.cumsum(p)
        extra = np.searchsorted(edges, draws.uniform(rest) * edges[-1], side="right")
        extra = np.minimum(extra, regular - 1)
    codes = np.concatenate([np.arange(regular), extra, regular + np.arange(singletons)])
    return codes[draws.permutation(n)].astype(np.int64)


def labels(prefix: str, codes: np.ndarray, width: int = 3) -> np.ndarray:
    return np.array([f"{prefix}{c:0{width}d}" for c in codes], dtype=object)


@dataclass
class Builder:
    """Accumulates the columns and the linear predictor of one problem."""

    draws: Draws
    n: int
    columns: dict = field(default_factory=dict)
    eta: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.eta = np.zeros(self.n)

    def covariate(self, name: str, scale: float = 1.0, shift: float = 0.0, kind: str = "normal"):
        z = self.draws.normal(self.n) if kind == "normal" else self.draws.uniform(self.n) * 2 - 1
        if kind == "ternary":
            z = self.draws.integer(-1, 2, self.n).astype(float)
        x = shift + scale * z
        self.columns[name] = x
        return x

    def fixed(self, x: np.ndarray, beta: float) -> None:
        self.eta = self.eta + beta * x

    def random_effects(self, codes: np.ndarray, cols: list[np.ndarray], lam: np.ndarray):
        """Add ``sum_j Z_j b_j`` with ``b = lam @ N(0, I)`` per level, written out term by term."""
        k = len(cols)
        levels = int(codes.max()) + 1
        u = [self.draws.normal(levels) for _ in range(k)]
        for i in range(k):
            b_i = np.zeros(levels)
            for j in range(i + 1):
                b_i = b_i + lam[i][j] * u[j]
            self.eta = self.eta + b_i[codes] * cols[i]

    def response(self, sigma: float, mean: float = 0.0) -> None:
        self.columns["y"] = mean + self.eta + sigma * self.draws.normal(self.n)


def _cell_texts(values: np.ndarray) -> list[str]:
    if values.dtype == object:
        return ["NA" if v is np.nan or v != v else str(v) for v in values.tolist()]
    return ["NA" if v != v else CSV_FLOAT_FORMAT % v for v in values.tolist()]


def csv_text(columns: dict[str, np.ndarray]) -> str:
    """The CSV of the columns: floats as ``CSV_FLOAT_FORMAT``, missing values as ``NA``."""
    cells = [_cell_texts(np.asarray(v)) for v in columns.values()]
    lines = [",".join(columns), *(",".join(row) for row in zip(*cells))]
    return "\n".join(lines) + "\n"


def lower_factor(draws: Draws, sds: list[float], correlated: bool = True) -> np.ndarray:
    """A lower-triangular factor with diagonal ``sds`` and random below-diagonal entries."""
    k = len(sds)
    lam = np.zeros((k, k))
    for i in range(k):
        lam[i][i] = sds[i]
        if correlated:
            for j in range(i):
                lam[i][j] = 0.6 * sds[i] * draws.normal()
    return lam


@dataclass(frozen=True)
class Factor:
    """A grouping factor: ``kind`` is "crossed", "nested" (in ``parent``, whose kind is
    "outer"), or "partial" (crossed with ``parent`` but each parent level meets only ``width``
    of its levels)."""

    levels: int
    balanced: bool = False
    singletons: int = 0
    kind: str = "crossed"
    parent: str | None = None
    width: int = 0


@dataclass(frozen=True)
class Term:
    """A random-effects term: ``group`` is a factor name or ``"a/b"``; ``slopes`` covariate
    names (``"f"`` for a categorical term ``(0 + f | g)``); ``kind`` "corr", "uncorr" or "cat"."""

    group: str
    slopes: tuple[str, ...] = ()
    sds: tuple[float, ...] = (1.0,)
    kind: str = "corr"
    intercept: bool = True


def _factor_codes(draws: Draws, n: int, factors: dict[str, Factor]) -> dict[str, np.ndarray]:
    codes: dict[str, np.ndarray] = {}
    for name, spec in factors.items():
        if spec.kind == "outer":  # drawn with its nested factor
            continue
        if spec.kind == "crossed":
            codes[name] = assign_levels(draws, n, spec.levels, spec.balanced, spec.singletons)
        elif spec.kind == "nested":  # globally numbered child levels, parent = child % levels
            child = assign_levels(draws, n, spec.levels, spec.balanced, spec.singletons)
            codes[name] = child
            codes[spec.parent] = child % factors[spec.parent].levels
        elif spec.kind == "partial":
            parent = codes[spec.parent]
            start = (parent * 7) % spec.levels
            step = draws.integer(0, spec.width, n)
            codes[name] = (start + step) % spec.levels
    return codes


def _group_codes(group: str, codes: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Codes of each grouping factor a term expands to (``a/b``: ``b:a`` and ``a``)."""
    if "/" in group:
        outer, inner = group.split("/")
        return [codes[inner], codes[outer]]
    return [codes[group]]


def _term_formula(term: Term, f_levels: int) -> list[str]:
    if term.kind == "cat":
        return [f"(0 + f | {term.group})"]
    parts = (["1"] if term.intercept else ["0"]) + list(term.slopes)
    bar = "||" if term.kind == "uncorr" else "|"
    return [f"({' + '.join(parts)} {bar} {term.group})"]


def build_problem(
    pid: str,
    family: str,
    draws: Draws,
    *,
    n: int,
    factors: dict[str, Factor],
    terms: list[Term],
    covariates: dict[str, tuple[float, float]],
    fixed: list[str],
    sigma: float = 1.0,
    mean: float = 0.0,
    reml: bool = True,
    f_levels: int = 0,
    missing: float = 0.0,
    weights: str | None = None,
    offset: bool = False,
    features: tuple[str, ...] = (),
) -> Problem:
    """Draw the data of one problem and assemble its formula and CSV text."""
    b = Builder(draws, n)
    codes = _factor_codes(draws, n, factors)
    for name, (scale, shift) in covariates.items():
        b.covariate(name, scale, shift)
    if f_levels:
        f_codes = assign_levels(draws, n, f_levels, balanced=False)
        b.columns["f"] = np.array(["ABC"[c] for c in f_codes], dtype=object)
        dummies = [(f_codes == k).astype(float) for k in range(f_levels)]
    for name in fixed:
        if name == "f":
            for k in range(1, f_levels):
                b.fixed(dummies[k], float(draws.normal()))
        else:
            scale, shift = covariates[name]
            b.fixed(b.columns[name] - shift, float(draws.normal()) / scale)
    for term in terms:
        for group_codes in _group_codes(term.group, codes):
            if term.kind == "cat":
                cols = dummies
            else:
                cols = [np.ones(n)] if term.intercept else []
                cols += [(b.columns[s] - covariates[s][1]) / covariates[s][0] for s in term.slopes]
            lam = lower_factor(draws, list(term.sds), correlated=term.kind != "uncorr")
            b.random_effects(group_codes, cols, lam)
    if offset:
        b.columns["off"] = 2.0 * draws.normal(n)
        b.eta = b.eta + b.columns["off"]
    noise = draws.normal(n)
    if weights is not None:
        w = 0.5 + 1.5 * draws.uniform(n)
        if weights == "zeros":
            zero = draws.uniform(n) < 0.1
            zero[:2] = False
            w = np.where(zero, 0.0, w)
            noise = np.where(zero, 50.0, noise)  # a leaked zero-weight row would show
        b.columns["w"] = w
        noise = noise / np.sqrt(np.where(w > 0, w, 1.0))
    b.columns["y"] = mean + b.eta + sigma * noise
    for name in factors:
        prefix = name
        shown = codes[name]
        if factors[name].kind == "nested":  # labels repeat across parents: only a/b tells them
            shown = codes[name] // factors[factors[name].parent].levels
        b.columns[name] = labels(prefix, shown)
    order = ["y", *covariates, *(["f"] if f_levels else []), *factors]
    order += (["w"] if weights else []) + (["off"] if offset else [])
    if missing > 0:
        for col in ["y", *list(covariates)[:1], *list(factors)[:1]]:
            hole = draws.uniform(n) < missing
            values = b.columns[col].copy()
            values[hole] = np.nan
            b.columns[col] = values
    rhs = " + ".join(fixed) if fixed else "1"
    random = [part for t in terms for part in _term_formula(t, f_levels)]
    formula = f"y ~ {rhs} + " + " + ".join(random)
    text = csv_text({c: b.columns[c] for c in order})
    return Problem(
        id=pid,
        family=family,
        formula=formula,
        reml=reml,
        csv=text,
        weights="w" if weights else None,
        offset="off" if offset else None,
        features=features,
    )

"""Second pass in SQL: DuckDB sums every block of A with ``GROUP BY``, no rows reach Python.

Applicable when every model-matrix column is the intercept, a numeric column, a treatment
dummy of a factor (``f[T.b]``) or a product of those (``x:z``): each becomes a SQL expression,
and the blocks of A are per-level (``GROUP BY g``), per-pair (``GROUP BY g, h``) or plain
sums of products of expressions, weighted by the prior weights. The translation is checked
against formulaic's model matrices on a sample of rows before it is trusted; a model that
cannot be translated falls back to the chunked pass (or raises, with ``method="sql"``).

Aliased fixed-effect columns are found from the Gram matrix X'X (unweighted) through its
eigendecomposition, which decides the same as the chunked QR except for columns that are
collinear to within about 1e-8 of their norm.
"""

from __future__ import annotations

import re

import numpy as np

from mixedmodels.errors import DesignError
from mixedmodels.sources.accumulate import PartialStats, chunk_arrays
from mixedmodels.sources.plan import StreamPlan

__all__ = ["sql_statistics", "column_expressions"]

_DUMMY = re.compile(r"^(.+)\[(?:T\.)?(.*)\]$")
SAMPLE_ROWS = 2000


def quote(name: str) -> str:
    """A SQL identifier for a column name."""
    return '"' + str(name).replace('"', '""') + '"'


def _literal(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


def _part_expression(part: str, plan: StreamPlan, quote) -> str | None:
    if part == "Intercept":
        return "1.0"
    if part in plan.used and part not in plan.factors:
        return f"CAST({quote(part)} AS DOUBLE)"
    match = _DUMMY.match(part)
    if match and match.group(1) in plan.factors:
        name, label = match.groups()
        levels = [v for v in plan.factors[name] if str(v) == label]
        if len(levels) == 1:
            return f"CAST({quote(name)} = {_literal(levels[0])} AS DOUBLE)"
    return None


def column_expressions(names, plan: StreamPlan, quote) -> list[str] | None:
    """SQL expressions of formulaic columns, or None when one cannot be translated."""
    out = []
    for name in names:
        parts = [_part_expression(p, plan, quote) for p in str(name).split(":")]
        if any(p is None for p in parts):
            return None
        factors = [p for p in parts if p != "1.0"] or ["1.0"]
        out.append(" * ".join(f"({p})" for p in factors))
    return out


def _sum(expr: str) -> str:
    """SQL aggregate summing ``expr`` over rows (compensated summation)."""
    return "count(*)" if expr == "1.0" else f"fsum({expr})"


class _Select:
    """Distinct aggregate expressions of one query (repeated products are computed once)."""

    def __init__(self) -> None:
        self.exprs: dict[str, int] = {}

    def add(self, sql: str) -> int:
        return self.exprs.setdefault(sql, len(self.exprs))

    def clause(self) -> str:
        return ", ".join(f"{e} AS __s{i}" for e, i in self.exprs.items())


def _product(*factors: str) -> str:
    kept = [f for f in factors if f.replace("(", "").replace(")", "").strip() != "1.0"]
    return " * ".join(kept) if kept else "1.0"


class _Expressions:
    """SQL expressions of every column the blocks of A are made of."""

    def __init__(self, plan: StreamPlan, quote) -> None:
        self.ok = False
        fixed = column_expressions(plan.fixed_spec.column_names, plan, quote)
        response = column_expressions(plan.response_spec.column_names, plan, quote)
        terms = [
            column_expressions(s.model_spec.column_names, plan, quote) for s in plan.term_specs
        ]
        if fixed is None or response is None or len(response) != 1 or any(t is None for t in terms):
            return
        y = response[0]
        if plan.offset is not None:
            y = f"({y} - CAST({quote(plan.offset)} AS DOUBLE))"
        # the model's columns (checked against formulaic, and for aliasing and moments) ...
        self.x = fixed
        self.y = y
        self.blocks = [
            [e for i in members for e in terms[i]]  # type: ignore[union-attr]  # none is None
            for members in plan.block_members
        ]
        self.groups = [plan.codings[b.group_name].columns for b in plan.blocks]
        self.w = "1.0" if plan.weights is None else f"CAST({quote(plan.weights)} AS DOUBLE)"
        # ... and the columns summed into A: centred, the response shifted (the plan's rule)
        c = plan.conditioning
        if c is None:
            self.xy = fixed + [y]
            self.summed_blocks = self.blocks
        else:
            x = _centred(fixed, c.x_centres, c.x_intercept)
            shift = " + ".join(
                f"{_literal(float(v))} * ({e})" for v, e in zip(c.shift, x, strict=True) if v
            )
            self.xy = x + [f"(({y}) - ({shift}))" if shift else y]
            self.summed_blocks = [
                _centred(z, c.block_centres[k], c.block_intercepts[k])
                for k, z in enumerate(self.blocks)
            ]
        self.ok = True


def _centred(exprs: list[str], centres, intercept: int) -> list[str]:
    """Column expressions with ``centres[j]`` times the intercept's taken from column j."""
    if centres is None:
        return list(exprs)
    out = list(exprs)
    for j, centre in enumerate(centres):
        if centre:
            out[j] = f"(({exprs[j]}) - {_literal(float(centre))} * ({exprs[intercept]}))"
    return out


def _check_sample(source, plan: StreamPlan, ex: _Expressions, quote) -> bool:
    """Whether the SQL expressions reproduce formulaic's matrices on a sample of rows."""
    raw = source.select_list(plan.used)
    exprs = ex.x + [ex.y] + [e for b in ex.blocks for e in b]
    select = ", ".join(f"{e} AS __e{i}" for i, e in enumerate(exprs))
    frame = source.query(
        f"SELECT {raw}, {select} FROM src WHERE {source.condition(plan.used)} LIMIT {SAMPLE_ROWS}"
    ).df()
    arrays = chunk_arrays(plan, frame[list(plan.used)])
    expected = [arrays.X, arrays.y[:, None]] + [m for _, m in arrays.blocks]
    got = frame[[f"__e{i}" for i in range(len(exprs))]].to_numpy(dtype=float)
    want = np.column_stack(expected)
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-12, atol=0)


def sql_statistics(source, plan: StreamPlan, *, required: bool) -> PartialStats | None:
    """Partial statistics summed by DuckDB, or None when the model needs the chunked pass."""
    ex = _Expressions(plan, quote)
    if not ex.ok or not _check_sample(source, plan, ex, quote):
        if required:
            raise DesignError(
                "method='sql' needs every model-matrix column to be the intercept, a numeric "
                "column, a treatment dummy of a factor or a product of those; use "
                "method='chunks' for this model"
            )
        return None
    cond = source.condition(plan.used)
    partial = PartialStats(plan)
    k = len(ex.xy)

    def grouped(columns, sums):
        keys = ", ".join(quote(c) for c in columns)
        select = _Select()
        index = [select.add(_sum(s)) for s in sums]
        frame = source.query(
            f"SELECT {keys}, {select.clause()} FROM src WHERE {cond} GROUP BY {keys}"
        ).df()
        values = frame[[f"__s{i}" for i in range(len(select.exprs))]].to_numpy(dtype=float)
        return frame, values[:, index]

    def level_block(b, out_cross, out_xy):
        """Per-level Zb'Zb (levels, p, p) and [X y]' Zb (k, levels * p)."""
        z, coding = ex.summed_blocks[b], plan.codings[plan.blocks[b].group_name]
        p = len(z)
        pairs = [(a, c) for a in range(p) for c in range(a + 1)]
        sums = [_product(ex.w, f"({z[a]})", f"({z[c]})") for a, c in pairs]
        sums += [_product(ex.w, f"({z[a]})", f"({e})") for a in range(p) for e in ex.xy]
        frame, values = grouped(coding.columns, sums)
        codes = coding.codes(frame)
        for i, (a, c) in enumerate(pairs):
            out_cross[codes, a, c] = values[:, i]
            out_cross[codes, c, a] = values[:, i]
        xy = values[:, len(pairs) :].reshape(len(codes), p, k)
        full = np.zeros((out_cross.shape[0], p, k))
        full[codes] = xy
        out_xy[...] = full.reshape(-1, k).T  # [X y]' Zb

    level_block(0, partial.A11, partial.xy_z1)
    for b in range(1, len(plan.blocks)):
        level_block(b, partial.diag[b - 1], partial.z_xy[b - 1])
        for j in range(b):
            _cross_block(grouped, ex, plan, partial, b, j)
    _totals(source, plan, ex, partial, cond, quote)
    return partial


def _cross_block(grouped, ex, plan, partial, i: int, j: int) -> None:
    """Zi'Zj from sums grouped by the level pairs of blocks i and j."""
    ci = plan.codings[plan.blocks[i].group_name]
    cj = plan.codings[plan.blocks[j].group_name]
    zi, zj = ex.summed_blocks[i], ex.summed_blocks[j]
    columns = list(dict.fromkeys(ci.columns + cj.columns))
    sums = [_product(ex.w, f"({a})", f"({b})") for a in zi for b in zj]
    frame, values = grouped(columns, sums)
    li, lj = ci.codes(frame), cj.codes(frame)
    pi, pj = len(zi), len(zj)
    rows = np.concatenate([li * pi + a for a in range(pi) for _ in range(pj)])
    cols = np.concatenate([lj * pj + b for _ in range(pi) for b in range(pj)])
    partial.cross[i, j].add(rows, cols, values.T.ravel())


def _totals(source, plan, ex, partial, cond, quote) -> None:
    """n, sum of log weights, [X y]'[X y], X'X (unweighted), the response's sums and moments."""
    k, p = len(ex.xy), len(ex.x)
    select = _Select()
    count = select.add("count(*)")
    log_w = None if plan.weights is None else select.add(f"fsum(ln({ex.w}))")
    xy = {
        (a, b): select.add(_sum(_product(ex.w, f"({ex.xy[a]})", f"({ex.xy[b]})")))
        for a in range(k)
        for b in range(a + 1)
    }
    y_sums = [select.add(_sum(ex.y)), select.add(_sum(_product(f"({ex.y})", f"({ex.y})")))]
    gram = {
        (a, b): select.add(_sum(_product(f"({ex.x[a]})", f"({ex.x[b]})")))
        for a in range(p)
        for b in range(a + 1)
    }
    moments: list[list[int] | None] = []
    for z in ex.blocks:
        for e in z:
            if _product(e) == "1.0":
                moments.append(None)
            else:
                moments.append([select.add(f"{f}({e})") for f in ("avg", "var_pop", "min", "max")])
    row = source.query(f"SELECT {select.clause()} FROM src WHERE {cond}").fetchall()[0]
    row = np.array([np.nan if v is None else v for v in row], dtype=float)
    partial.n = int(row[count])
    partial.sum_log_weights = 0.0 if log_w is None else float(row[log_w])
    partial.response_sums = row[y_sums].copy()
    for (a, b), i in xy.items():
        partial.xy_xy[a, b] = partial.xy_xy[b, a] = row[i]
    G = np.zeros((p, p))
    for (a, b), i in gram.items():
        G[a, b] = G[b, a] = row[i]
    values, vectors = np.linalg.eigh(G)
    partial.R = np.sqrt(np.clip(values, 0.0, None))[:, None] * vectors.T
    columns = iter(moments)
    for m in partial.moments:
        for col in range(m.shape[1]):
            which = next(columns)
            mean, var, low, high = (1.0, 0.0, 1.0, 1.0) if which is None else row[which]
            m[:, col] = (partial.n, mean, var * partial.n, low, high)

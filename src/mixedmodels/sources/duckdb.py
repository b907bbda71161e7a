"""DuckDB source: a relation, or Parquet files read through DuckDB (the embedded default).

The first pass is SQL (counts, ``SELECT DISTINCT``, aggregates); the second either streams
Arrow record batches of ``chunk_size`` rows through :mod:`mixedmodels.sources.accumulate`
(``method="chunks"``), or lets DuckDB compute every block of A with ``GROUP BY`` when each
model-matrix column is a plain numeric column or the intercept (``method="sql"``, see
:mod:`mixedmodels.sources.sql`); ``method="auto"`` picks SQL when it can.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import pandas as pd

from mixedmodels.errors import DesignError
from mixedmodels.progress import progress_bar
from mixedmodels.sources.accumulate import PartialStats, chunk_arrays
from mixedmodels.sources.base import Source
from mixedmodels.sources.plan import ColumnKind, ScanResult, StreamPlan
from mixedmodels.sources.sql import quote, sql_statistics

__all__ = ["DuckDBSource", "quote"]

DEFAULT_CHUNK_SIZE = 1_000_000
_INTEGER = {
    "tinyint",
    "smallint",
    "integer",
    "bigint",
    "hugeint",
    "utinyint",
    "usmallint",
    "uinteger",
    "ubigint",
    "uhugeint",
    "decimal",
}
_FLOAT = {"float", "double"}


def _import_duckdb():
    try:
        import duckdb
    except ImportError as exc:
        raise ImportError(
            "fitting a DuckDB relation or Parquet files needs duckdb and pyarrow: "
            "pip install 'mixedmodels[duckdb]'"
        ) from exc
    return duckdb


def _parquet_files(path) -> list[str]:
    import glob

    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    files: list[str] = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            files.extend(sorted(glob.glob(os.path.join(p, "**", "*.parquet"), recursive=True)))
        elif any(ch in p for ch in "*?["):
            files.extend(sorted(glob.glob(p, recursive=True)))
        else:
            files.append(p)
    if not files:
        raise FileNotFoundError(f"no Parquet files match {path!r}")
    for f in files:
        if not os.path.exists(f):
            raise FileNotFoundError(f"Parquet file not found: {f!r}")
    return files


def _pandas_categoricals(files: list[str]) -> set[str]:
    """Columns that pandas wrote as categoricals (DuckDB reads them as plain values)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return set()
    meta = pq.read_schema(files[0]).pandas_metadata or {}
    return {c["name"] for c in meta.get("columns", []) if c.get("pandas_type") == "categorical"}


class DuckDBSource(Source):
    """Fit from a DuckDB relation or from Parquet files, without loading the data.

    Parameters
    ----------
    data
        A ``duckdb.DuckDBPyRelation``, or a Parquet path, directory, glob or list of paths
        (CSV files, named ``*.csv``, ``*.csv.gz`` or ``*.tsv``, are read with DuckDB's CSV
        reader).
    chunk_size
        Rows per Arrow record batch in the chunked pass (default 1,000,000).
    method
        ``"auto"`` (default), ``"chunks"`` or ``"sql"``: how the second pass sums A.
    threads
        DuckDB threads for Parquet sources (default DuckDB's own choice).
    progress, factors, max_memory
        See :class:`~mixedmodels.sources.base.Source`.

    Examples
    --------
    >>> import mixedmodels as mm                                       # doctest: +SKIP
    >>> fit = mm.lmer("y ~ x + (1 + x | g)", "data/*.parquet")           # doctest: +SKIP
    >>> fit.write_fitted("fitted.parquet", columns=["id"])               # doctest: +SKIP
    """

    def __init__(
        self,
        data,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        method: str = "auto",
        threads: int | None = None,
        progress: bool | None = None,
        factors: Sequence[str] = (),
        max_memory: int | None = None,
    ) -> None:
        super().__init__(progress=progress, factors=factors, max_memory=max_memory)
        duckdb = _import_duckdb()
        if method not in ("auto", "chunks", "sql"):
            raise ValueError(f"method must be 'auto', 'chunks' or 'sql', got {method!r}")
        if int(chunk_size) < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        self.chunk_size = int(chunk_size)
        self.method = method
        self.implied_factors: set[str] = set()
        self._no_missing: set[tuple[str, ...]] = set()
        if isinstance(data, duckdb.DuckDBPyRelation):
            self.relation = data
        else:
            files = _parquet_files(data)
            con = duckdb.connect()
            if threads is not None:
                con.execute(f"SET threads = {int(threads)}")
            if all(f.lower().endswith((".csv", ".csv.gz", ".tsv")) for f in files):
                self.relation = con.read_csv(files)
            else:
                self.implied_factors = _pandas_categoricals(files)
                self.relation = con.read_parquet(files)

    # -- SQL helpers ----------------------------------------------------------------------
    def query(self, sql: str):
        """Run ``sql`` with the source visible as the table ``src``; a DuckDB relation."""
        return self.relation.query("src", sql)

    def condition(self, used: Sequence[str]) -> str:
        """SQL condition selecting complete rows (no NULL, no NaN in a used column)."""
        if tuple(sorted(used)) in self._no_missing:
            return "TRUE"
        kinds = self.column_kinds()
        parts = []
        for name in used:
            parts.append(f"{quote(name)} IS NOT NULL")
            if kinds[name].is_float:
                parts.append(f"NOT isnan({quote(name)})")
        return " AND ".join(parts) if parts else "TRUE"

    def select_list(self, columns: Sequence[str]) -> str:
        """SQL select list of ``columns``, DECIMAL and HUGEINT read as DOUBLE."""
        wide = {"decimal", "hugeint", "uhugeint"}
        types = {
            n: str(t.id).lower()
            for n, t in zip(self.relation.columns, self.relation.types, strict=True)
        }
        return ", ".join(
            f"CAST({quote(c)} AS DOUBLE) AS {quote(c)}" if types[c] in wide else quote(c)
            for c in columns
        )

    def reader(self, columns: Sequence[str], used: Sequence[str]):
        """Arrow record batches of ``columns`` of the complete rows, ``chunk_size`` at a time."""
        select = self.select_list(columns)
        rel = self.query(f"SELECT {select} FROM src WHERE {self.condition(used)}")
        if hasattr(rel, "to_arrow_reader"):
            return rel.to_arrow_reader(self.chunk_size)
        return rel.fetch_record_batch(self.chunk_size)  # duckdb < 1.4

    # -- Backend --------------------------------------------------------------------------
    def column_kinds(self) -> dict[str, ColumnKind]:
        """Kind of every column, from DuckDB's types (and pandas' Parquet metadata)."""
        kinds = {}
        for name, dtype in zip(self.relation.columns, self.relation.types, strict=True):
            tid = str(dtype.id).lower()
            if tid in _FLOAT:
                kind = ColumnKind("numeric", None, True)
            elif tid in _INTEGER:
                kind = ColumnKind("numeric")
            elif tid == "enum":
                kind = ColumnKind("factor", tuple(dict(dtype.children)["values"]))
            elif tid in ("varchar", "boolean"):
                kind = ColumnKind("factor")
            else:
                kind = ColumnKind("other")
            if name in self.implied_factors and kind.kind == "numeric":
                kind = ColumnKind("factor", None, kind.is_float)
            kinds[name] = kind
        return kinds

    def backend(self):
        """The source answers the first-pass questions itself."""
        return self

    def scan(self, used, float_columns, moment_columns, weights) -> ScanResult:
        """One aggregate query: counts, infinite values, smallest weight, moments."""
        cond = self.condition(used)
        exprs = ["count(*)", f"count(*) FILTER (WHERE {cond})"]
        exprs += [f"count(*) FILTER (WHERE {cond} AND isinf({quote(c)}))" for c in float_columns]
        exprs.append(f"min({quote(weights)}) FILTER (WHERE {cond})" if weights else "NULL")
        for c in moment_columns:
            x = f"{quote(c)}::DOUBLE"
            exprs += [f"avg({x}) FILTER (WHERE {cond})", f"avg({x} * {x}) FILTER (WHERE {cond})"]
        row = self.query(f"SELECT {', '.join(exprs)} FROM src").fetchall()[0]
        n_total, n_complete = int(row[0]), int(row[1])
        if n_total == n_complete:  # later queries need no filter
            self._no_missing.add(tuple(sorted(used)))
        k = 2 + len(float_columns)
        infinite = tuple(c for c, count in zip(float_columns, row[2:k], strict=True) if count)
        min_weight = None if row[k] is None else float(row[k])
        moments = {
            c: (float(row[k + 1 + 2 * i]), float(row[k + 2 + 2 * i]), n_complete)
            for i, c in enumerate(moment_columns)
        }
        return ScanResult(n_total, n_complete, infinite, min_weight, moments)

    def distinct(self, used, columns) -> pd.DataFrame:
        """``SELECT DISTINCT`` of ``columns`` over the complete rows."""
        select = self.select_list(columns)
        return self.query(f"SELECT DISTINCT {select} FROM src WHERE {self.condition(used)}").df()

    def distinct_many(self, used, column_sets) -> dict[tuple[str, ...], pd.DataFrame]:
        """Distinct combinations of several column sets in one scan (GROUPING SETS)."""
        if len(column_sets) <= 1:
            return {cols: self.distinct(used, cols) for cols in column_sets}
        columns = list(dict.fromkeys(c for cols in column_sets for c in cols))
        keys = ", ".join(quote(c) for c in columns)
        sets = ", ".join("(" + ", ".join(quote(c) for c in cols) + ")" for cols in column_sets)
        frame = self.query(
            f"SELECT {self.select_list(columns)}, GROUPING_ID({keys}) AS __gid FROM src "
            f"WHERE {self.condition(used)} GROUP BY GROUPING SETS ({sets})"
        ).df()
        out = {}
        for cols in column_sets:
            gid = sum(1 << (len(columns) - 1 - i) for i, c in enumerate(columns) if c not in cols)
            part = frame.loc[frame["__gid"] == gid, list(cols)]
            out[cols] = part.drop_duplicates().reset_index(drop=True)
        return out

    def head(self, used, k: int) -> pd.DataFrame:
        """The first ``k`` complete rows."""
        select = self.select_list(used)
        return self.query(
            f"SELECT {select} FROM src WHERE {self.condition(used)} LIMIT {int(k)}"
        ).df()

    # -- second pass ----------------------------------------------------------------------
    def accumulate(self, plan: StreamPlan) -> PartialStats:
        """Sum A over every complete row: in SQL when possible (and asked), else in chunks."""
        if self.method != "chunks":
            partial = sql_statistics(self, plan, required=self.method == "sql")
            if partial is not None:
                return partial
        partial = PartialStats(plan)
        with progress_bar(
            self.progress, math.ceil(plan.n / self.chunk_size), "accumulating A", unit="chunk"
        ) as bar:
            for batch in self.reader(plan.used, plan.used):
                partial.add(chunk_arrays(plan, batch.to_pandas()))
                bar.update(1)
        return partial

    def frames(self, plan: StreamPlan):
        """The complete rows of the used columns, ``chunk_size`` at a time, in the data's order."""
        for batch in self.reader(plan.used, plan.used):
            yield batch.to_pandas()

    def write_fitted(self, result, path, columns=None) -> str:
        """Stream fitted values and residuals to one Parquet file, chunk by chunk."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        plan = result.design.plan
        columns = list(plan.used if columns is None else columns)
        missing = [c for c in columns if c not in self.relation.columns]
        if missing:
            raise DesignError(f"column(s) not in the source: {', '.join(missing)}")
        predictor = result.model.row_predictor(result)
        read = list(dict.fromkeys(columns + list(plan.used)))
        path = os.fspath(path)
        writer = None
        with progress_bar(
            self.progress, math.ceil(plan.n / self.chunk_size), "writing fitted", unit="chunk"
        ) as bar:
            try:
                for batch in self.reader(read, plan.used):
                    table = pa.Table.from_pandas(
                        predictor.frame(batch.to_pandas(), columns), preserve_index=False
                    )
                    if writer is None:
                        writer = pq.ParquetWriter(path, table.schema)
                    writer.write_table(table)
                    bar.update(1)
            finally:
                if writer is not None:
                    writer.close()
        return path

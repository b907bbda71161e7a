"""Fits of data larger than memory: DuckDB relations, Parquet files and dask DataFrames.

The engine needs only the sufficient statistics A = [Z X y]'[Z X y] (blockwise) and the levels
of the grouping factors, so a fit can stream the data and never hold it whole. A first pass
fixes factor levels and stateful transforms from the whole data (:mod:`.plan`); a second sums
the blocks of A chunk by chunk (:mod:`.accumulate`), or in SQL (:mod:`.sql`); the usual
optimisation then runs on A in memory. The fitted object holds no rows: fitted values and
residuals stream back to Parquet with ``result.write_fitted(path)``.

>>> import mixedmodels as mm                                                  # doctest: +SKIP
>>> fit = mm.lmer("y ~ x + (1 + x | g)", "big/*.parquet")                       # doctest: +SKIP
>>> fit = mm.lmer("y ~ x + (1 | g)", mm.sources.DuckDBSource("big.parquet",     # doctest: +SKIP
...                                                          chunk_size=100_000, progress=True))

See docs/out-of-core.md for the limits.
"""

from __future__ import annotations

import os
import sys

from mixedmodels.sources.base import Source

__all__ = ["DaskSource", "DuckDBSource", "Source", "as_source"]


def __getattr__(name: str):
    if name == "DuckDBSource":
        from mixedmodels.sources.duckdb import DuckDBSource

        return DuckDBSource
    if name == "DaskSource":
        from mixedmodels.sources.dask import DaskSource

        return DaskSource
    raise AttributeError(name)


def _is_path(data) -> bool:
    if isinstance(data, (str, os.PathLike)):
        return True
    return (
        isinstance(data, (list, tuple))
        and bool(data)
        and all(isinstance(d, (str, os.PathLike)) for d in data)
    )


def as_source(data) -> Source | None:
    """The out-of-core source for ``data``, or None when ``data`` is not one.

    A :class:`Source` is returned as is; a DuckDB relation or a Parquet path, directory, glob
    or list of paths becomes a :class:`~mixedmodels.sources.duckdb.DuckDBSource`; a dask
    DataFrame a :class:`~mixedmodels.sources.dask.DaskSource` (default options).
    """
    if isinstance(data, Source):
        return data
    if _is_path(data):
        from mixedmodels.sources.duckdb import DuckDBSource

        return DuckDBSource(data)
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(data, duckdb.DuckDBPyRelation):
        from mixedmodels.sources.duckdb import DuckDBSource

        return DuckDBSource(data)
    ddf = sys.modules.get("dask.dataframe")
    if ddf is not None and isinstance(data, ddf.DataFrame):
        from mixedmodels.sources.dask import DaskSource

        return DaskSource(data)
    return None

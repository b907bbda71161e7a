"""dask source: a dask DataFrame, summed partition by partition and reduced on the client.

The first pass is a handful of dask aggregates (counts, distinct values, moments) computed
together; in the second every partition becomes a
:class:`~mixedmodels.sources.accumulate.PartialStats` on a worker and the partials are merged
on the client as they complete (with a ``distributed`` client) or in small batches (with any
other scheduler), so only a few partials are in memory at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mixedmodels.errors import DesignError
from mixedmodels.progress import progress_bar
from mixedmodels.sources.accumulate import PartialStats, chunk_arrays
from mixedmodels.sources.base import Source
from mixedmodels.sources.plan import ColumnKind, ScanResult, StreamPlan

__all__ = ["DaskSource"]


def _partition_partial(frame: pd.DataFrame, plan: StreamPlan) -> PartialStats:
    """Sums of one partition (runs on a worker)."""
    return PartialStats(plan).add(chunk_arrays(plan, frame))


def _partition_fitted(frame: pd.DataFrame, predictor, columns) -> pd.DataFrame:
    return predictor.frame(frame, columns)


def _active_client():
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


class DaskSource(Source):
    """Fit from a dask DataFrame, one partition at a time.

    Parameters
    ----------
    data
        A ``dask.dataframe.DataFrame``. Partitions are the chunks: each must fit in a worker's
        memory together with its model matrices.
    batch
        Partitions computed at a time when no ``distributed`` client is active.
    progress, factors, max_memory
        See :class:`~mixedmodels.sources.base.Source`.
    """

    def __init__(
        self,
        data,
        *,
        batch: int = 8,
        progress: bool | None = None,
        factors: Sequence[str] = (),
        max_memory: int | None = None,
    ) -> None:
        super().__init__(progress=progress, factors=factors, max_memory=max_memory)
        try:
            import dask.dataframe  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                "fitting a dask DataFrame needs dask: pip install 'mixedmodels[dask]'"
            ) from exc
        self.frame = data
        self.batch = max(1, int(batch))

    def complete(self, used: Sequence[str]):
        """The complete rows of the used columns (a lazy dask DataFrame)."""
        return self.frame[list(used)].dropna()

    # -- Backend --------------------------------------------------------------------------
    def backend(self):
        """The source answers the first-pass questions itself."""
        return self

    def column_kinds(self) -> dict[str, ColumnKind]:
        """Kind of every column, from the dask DataFrame's dtypes."""
        kinds = {}
        for name, dtype in self.frame.dtypes.items():
            if isinstance(dtype, pd.CategoricalDtype):
                known = self.frame[name].cat.known
                cats = tuple(dtype.categories) if known else None
                kinds[name] = ColumnKind("factor", cats)
            elif pd.api.types.is_bool_dtype(dtype):
                kinds[name] = ColumnKind("factor")
            elif pd.api.types.is_numeric_dtype(dtype):
                kinds[name] = ColumnKind("numeric", None, pd.api.types.is_float_dtype(dtype))
            elif pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
                kinds[name] = ColumnKind("factor")
            else:
                kinds[name] = ColumnKind("other")
        return kinds

    def scan(self, used, float_columns, moment_columns, weights) -> ScanResult:
        """Counts, infinite checks, smallest weight and moments in one ``dask.compute``."""
        import dask

        complete = self.complete(used)
        tasks = [self.frame.map_partitions(len).sum(), complete.map_partitions(len).sum()]
        tasks += [np.isinf(complete[c]).any() for c in float_columns]
        if weights is not None:
            tasks.append(complete[weights].min())
        for c in moment_columns:
            x = complete[c].astype(float)
            tasks += [x.mean(), (x * x).mean()]
        values = dask.compute(*tasks)
        n_total, n_complete = int(values[0]), int(values[1])
        k = 2 + len(float_columns)
        infinite = tuple(c for c, bad in zip(float_columns, values[2:k], strict=True) if bad)
        min_weight = None
        if weights is not None:
            min_weight = float(values[k])
            k += 1
        moments = {
            c: (float(values[k + 2 * i]), float(values[k + 1 + 2 * i]), n_complete)
            for i, c in enumerate(moment_columns)
        }
        return ScanResult(n_total, n_complete, infinite, min_weight, moments)

    def distinct(self, used, columns) -> pd.DataFrame:
        """Distinct combinations of ``columns`` among the complete rows."""
        return self.complete(used)[list(columns)].drop_duplicates(split_out=1).compute()

    def distinct_many(self, used, column_sets) -> dict[tuple[str, ...], pd.DataFrame]:
        """Distinct combinations of several column sets, computed together."""
        import dask

        complete = self.complete(used)
        tasks = [complete[list(cols)].drop_duplicates(split_out=1) for cols in column_sets]
        return dict(zip(column_sets, dask.compute(*tasks), strict=True))

    def head(self, used, k: int) -> pd.DataFrame:
        """Up to ``k`` complete rows, from the first partition if it has any."""
        import warnings

        complete = self.complete(used)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "fewer rows than requested"
            sample = complete.head(k, npartitions=1)
            if len(sample) == 0:
                sample = complete.head(k, npartitions=-1)
        return sample

    # -- second pass ----------------------------------------------------------------------
    def accumulate(self, plan: StreamPlan) -> PartialStats:
        """Sum A partition by partition, merging the partials on the client."""
        import dask

        parts = self.complete(plan.used).to_delayed()
        tasks = [dask.delayed(_partition_partial)(part, plan) for part in parts]
        total = PartialStats(plan)
        with progress_bar(self.progress, len(tasks), "accumulating A", unit="chunk") as bar:
            client = _active_client()
            if client is not None:
                from distributed import as_completed

                for future in as_completed(client.compute(tasks)):
                    total = total.merge(future.result())
                    future.release()
                    bar.update(1)
            else:
                for start in range(0, len(tasks), self.batch):
                    for partial in dask.compute(*tasks[start : start + self.batch]):
                        total = total.merge(partial)
                        bar.update(1)
        return total

    def frames(self, plan: StreamPlan):
        """The complete rows of the used columns, partition by partition, in order."""
        for part in self.complete(plan.used).to_delayed():
            yield part.compute()

    def write_fitted(self, result, path, columns=None) -> str:
        """Write fitted values and residuals as a directory of Parquet files, one per partition."""
        plan = result.design.plan
        columns = list(plan.used if columns is None else columns)
        missing = [c for c in columns if c not in self.frame.columns]
        if missing:
            raise DesignError(f"column(s) not in the source: {', '.join(missing)}")
        read = list(dict.fromkeys(columns + list(plan.used)))
        frame = self.frame[read].dropna(subset=list(plan.used))
        meta = frame._meta[columns].assign(fitted=np.float64(0), residual=np.float64(0))
        out = frame.map_partitions(
            _partition_fitted, result.model.row_predictor(result), columns, meta=meta
        )
        out.to_parquet(str(path), write_index=False)
        return str(path)

"""Single-threaded BLAS for loops of many small factorisations.

The engine's matrices are small in profiles and bootstraps, where a multi-threaded BLAS
spends more time waking threads than computing (several-fold slower on two cores), and
parallel workers would oversubscribe the cores. threadpoolctl, when installed, caps BLAS at
one thread for the duration; without it nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["single_threaded_blas"]


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Context in which BLAS/LAPACK use one thread (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional dependency
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield

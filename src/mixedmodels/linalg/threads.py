"""How many BLAS threads a dense factorisation may use.

OpenBLAS threads pay off only for large enough matrices on idle cores; on a busy machine their
spinning threads make a mid-sized Cholesky many times slower than one thread (the measurement
is in benchmarks/results.md). Dense work below
:data:`THREADED_MIN` rows runs with one BLAS thread. The choice depends on the size only, never
on the machine's load: the number of threads changes the rounding of a factorisation, and on a
flat optimum (InstEval) that moved theta by 4e-6 between two fits of the same data.
"""

from __future__ import annotations

import contextlib

__all__ = ["blas_limit", "THREADED_MIN"]

THREADED_MIN = 2000
_state: dict = {"controller": None}


def _controller():
    if _state["controller"] is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - optional
            _state["controller"] = False
        else:
            _state["controller"] = ThreadpoolController()
    return _state["controller"]


def blas_limit(size: int):
    """Context manager limiting BLAS to one thread when that is the faster choice."""
    if size >= THREADED_MIN:
        return contextlib.nullcontext()
    controller = _controller()
    if not controller:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")

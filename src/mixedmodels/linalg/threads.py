"""How many BLAS threads a dense factorisation may use.

OpenBLAS threads pay off only for large enough matrices on idle cores; on a busy machine their
spinning threads make a mid-sized Cholesky ten or more times slower than one thread (measured:
2.8 s against 0.14 s for n = 1167 at load 17 on 2 cores). Dense work below
:data:`THREADED_MIN` rows runs with one BLAS thread. The choice depends on the size only, never
on the machine's load: the number of threads changes the rounding of a factorisation, and on a
flat optimum (InstEval) that moved theta by 4e-6 between two fits of the same data. The load
is still available (:func:`machine_busy`) for decisions that do not change results.
Needs threadpoolctl; without it nothing is limited.
"""

from __future__ import annotations

import contextlib
import os
import time

__all__ = ["blas_limit", "machine_busy", "THREADED_MIN"]

THREADED_MIN = 2000
_CHECK_SECONDS = 1.0
_state: dict = {"controller": None, "checked": 0.0, "busy": False}


def _controller():
    if _state["controller"] is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - optional
            _state["controller"] = False
        else:
            _state["controller"] = ThreadpoolController()
    return _state["controller"]


def machine_busy() -> bool:
    """Whether the 1-minute load average is at or above the number of cores (checked <= 1/s)."""
    return _busy()


def _busy() -> bool:
    now = time.monotonic()
    if now - _state["checked"] > _CHECK_SECONDS:
        try:
            load = os.getloadavg()[0]
        except OSError:  # pragma: no cover - platforms without it
            load = 0.0
        _state["busy"] = load >= (os.cpu_count() or 1)
        _state["checked"] = now
    return _state["busy"]


def blas_limit(size: int):
    """Context manager limiting BLAS to one thread when that is the faster choice."""
    if size >= THREADED_MIN:
        return contextlib.nullcontext()
    controller = _controller()
    if not controller:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")

"""CHOLMOD behind one interface: the sparse route's ordering and supernodal factor.

Two bindings call the same library (bundled in cvxopt's wheels, found by
:mod:`~mixedmodels.linalg.cholmod.loader`) with the same ordering and options, so they give
the same numbers:

- :mod:`~mixedmodels.linalg.cholmod.ctypes_binding`: CHOLMOD's functions called through
  ctypes, which releases the GIL during a factorisation and writes the values straight into
  CHOLMOD's array. Its struct declarations were checked against CHOLMOD 3.0 as bundled in
  cvxopt 1.3.3 (:data:`~mixedmodels.linalg.cholmod.loader.CVXOPT_CHECKED`); it is used only
  there, and only after a self-test passes.
- :mod:`~mixedmodels.linalg.cholmod.cvxopt_binding`: cvxopt's own Python binding (holds the
  GIL, builds the matrix from triplets), for any other cvxopt.

:func:`binding` returns the active one, chosen once per process (None without cvxopt);
:func:`describe` says which and why (shown by :func:`mixedmodels.show_config`), and
:func:`label` names it with the versions it calls (in a fit's ``optsum.cholmod``).
"""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from mixedmodels.linalg.cholmod import ctypes_binding, cvxopt_binding, loader

__all__ = ["Binding", "Factor", "binding", "describe", "label"]


class Factor(Protocol):
    """A symbolic supernodal factor of a fixed pattern, factored numerically on demand."""

    values: np.ndarray
    """The matrix's values on the pattern, in its order; written before :meth:`factorize`."""

    def factorize(self) -> np.ndarray | None:
        """The factor's diagonal in the permuted order; None when not positive definite."""
        ...


class Binding(Protocol):
    """One way of calling CHOLMOD: an ordering and a factor of a fixed pattern."""

    name: str
    """``"ctypes"`` or ``"cvxopt"``."""

    releases_gil: bool
    """Whether factorisations run without the GIL (two threads factor at once)."""

    def amd_order(self, rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
        """AMD's ordering of the symmetric pattern whose lower triangle is given."""
        ...

    def factor(self, rows: np.ndarray, cols: np.ndarray, n: int, perm: np.ndarray) -> Factor:
        """A factor of the lower-triangular pattern (rows ascending by column) under ``perm``."""
        ...


_state: dict = {"binding": None, "chosen": False, "lock": threading.Lock(), "reason": ""}


def _choose() -> tuple[Binding | None, str]:
    """The binding to use and why."""
    if loader.cvxopt_cholmod() is None:
        return None, "cvxopt is not installed (pip install 'mixedmodels[sparse]')"
    version = loader.cvxopt_version()
    if version not in loader.CVXOPT_CHECKED:
        checked = ", ".join(loader.CVXOPT_CHECKED)
        return cvxopt_binding.CvxoptBinding(), f"cvxopt {version}: ctypes checked for {checked}"
    found = loader.cholmod_version()
    if found is None or int(found.split(".")[0]) != loader.CHOLMOD_MAJOR:
        return cvxopt_binding.CvxoptBinding(), f"CHOLMOD {found} is not {loader.CHOLMOD_MAJOR}.x"
    direct = ctypes_binding.load()
    if direct is None:
        return cvxopt_binding.CvxoptBinding(), "the ctypes binding's self-test did not pass"
    return direct, f"cvxopt {version}, CHOLMOD {found}, self-test passed"


def binding() -> Binding | None:
    """The active CHOLMOD binding, chosen on the first call from anywhere; None without cvxopt."""
    if not _state["chosen"]:
        with _state["lock"]:
            if not _state["chosen"]:
                _state["binding"], _state["reason"] = _choose()
                _state["chosen"] = True
    return _state["binding"]


def describe() -> dict[str, str | None]:
    """The sparse route's libraries: binding, why it was chosen, versions, BLAS kernels."""
    active = binding()
    return {
        "binding": None if active is None else active.name,
        "reason": _state["reason"],
        "cvxopt": loader.cvxopt_version(),
        "cholmod": loader.cholmod_version(),
        "blas_core": loader.blas_core(),
    }


def label(used: Binding | None = None) -> str | None:
    """A binding (the active one by default) and the versions it calls; None without cvxopt.

    For example ``"ctypes binding, CHOLMOD 3.0.6, cvxopt 1.3.3"`` (a fit's ``optsum.cholmod``).
    """
    used = binding() if used is None else used
    if used is None:
        return None
    return (
        f"{used.name} binding, CHOLMOD {loader.cholmod_version()}, cvxopt {loader.cvxopt_version()}"
    )

"""Finding CHOLMOD: cvxopt's module, its bundled shared libraries and their versions.

CHOLMOD comes from cvxopt's wheels (the ``sparse`` extra), which ship it as a shared library
beside the extension module; importing ``cvxopt.cholmod`` loads it with its BLAS. Nothing here
sets environment variables: that BLAS (OpenBLAS) picks its kernels for the CPU as it loads
(``OPENBLAS_CORETYPE``, set by the user before Python starts, overrides the choice), and
:func:`blas_core` reports the kernels in use.
"""

from __future__ import annotations

import ctypes
import glob
import os
from types import ModuleType

__all__ = [
    "CHOLMOD_MAJOR",
    "CVXOPT_CHECKED",
    "blas_core",
    "cholmod_version",
    "cvxopt_cholmod",
    "cvxopt_version",
    "library_path",
]

CVXOPT_CHECKED = ("1.3.3",)
"""cvxopt versions whose bundled CHOLMOD the ctypes declarations were checked against."""

CHOLMOD_MAJOR = 3
"""CHOLMOD's major version the ctypes declarations describe (the int interface)."""


def cvxopt_cholmod() -> ModuleType | None:
    """cvxopt's CHOLMOD module (which loads the library and its BLAS), or None."""
    try:
        from cvxopt import cholmod
    except ImportError:
        return None
    return cholmod


def cvxopt_version() -> str | None:
    """The installed cvxopt's version, or None."""
    try:
        import cvxopt
    except ImportError:
        return None
    return str(cvxopt.__version__)


def library_path(name: str) -> str | None:
    """The shared library ``lib<name>`` bundled in cvxopt's wheel, or None."""
    try:
        import cvxopt
    except ImportError:
        return None
    here = os.path.dirname(os.path.dirname(os.path.abspath(cvxopt.__file__)))
    found = sorted(glob.glob(os.path.join(here, "cvxopt.libs", f"lib{name}-*.so*")))
    return found[0] if found else None


def cholmod_version() -> str | None:
    """The bundled CHOLMOD's version (``cholmod_version``), or None when not found."""
    path = library_path("cholmod")
    if path is None or cvxopt_cholmod() is None:
        return None
    try:
        lib = ctypes.CDLL(path)
        out = (ctypes.c_int * 3)()
        lib.cholmod_version(out)
    except (OSError, AttributeError):
        return None
    return ".".join(str(v) for v in out)


def blas_core() -> str | None:
    """The kernels the BLAS bundled with cvxopt chose for this CPU (OpenBLAS's core name)."""
    path = library_path("openblas")
    if path is None or cvxopt_cholmod() is None:
        return None
    try:
        lib = ctypes.CDLL(path)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return None

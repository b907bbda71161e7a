"""What this installation runs on: versions of the libraries and the engine's choices.

:func:`show_config` prints it (include its output in a bug report); :func:`config` returns
the same as a dictionary. The engine's choices shown here depend on the installation only
(never on the data or the machine's load): the CHOLMOD binding of the sparse route and why it
was chosen, the kernels of the BLAS bundled with CHOLMOD, and the threads of the tile pool.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from mixedmodels._version import __version__
from mixedmodels.linalg import cholmod, tiled

__all__ = ["config", "show_config"]

LIBRARIES = (
    "mixedmodels",
    "numpy",
    "scipy",
    "pandas",
    "formulaic",
    "nlopt",
    "numba",
    "threadpoolctl",
    "cvxopt",
)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def config() -> dict[str, dict[str, str | int | None]]:
    """Versions of Python and the libraries, and the engine's choices for this installation.

    Returns
    -------
    dict
        ``{"python": {...}, "libraries": {name: version or None}, "engine": {...}}``; the
        engine's part names the CHOLMOD binding (``"ctypes"``, ``"cvxopt"`` or None without
        cvxopt), why, CHOLMOD's version, the BLAS kernels bundled with it and the tile pool's
        threads.
    """
    sparse = cholmod.describe()
    libraries: dict[str, str | int | None] = {name: _version(name) for name in LIBRARIES}
    if libraries["mixedmodels"] is None:  # a source tree that is not installed
        libraries["mixedmodels"] = f"{__version__} (not installed)"
    return {
        "python": {"version": sys.version.split()[0], "machine": platform.machine()},
        "libraries": libraries,
        "engine": {
            "cholmod_binding": sparse["binding"],
            "cholmod_binding_reason": sparse["reason"],
            "cholmod": sparse["cholmod"],
            "cholmod_blas_kernels": sparse["blas_core"],
            "tile_pool_threads": tiled.pool_size(),
        },
    }


def show_config() -> None:
    """Print :func:`config`: one section per part, one ``name: value`` line per entry.

    Examples
    --------
    >>> import mixedmodels as mm
    >>> mm.show_config()  # doctest: +ELLIPSIS
    python:
      version: ...
    """
    for section, entries in config().items():
        print(f"{section}:")
        for name, value in entries.items():
            print(f"  {name}: {'-' if value is None else value}")

"""Finding CHOLMOD: versions, the binding chosen once, and no environment variable touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cvxopt")

from mixedmodels.linalg import cholmod  # noqa: E402
from mixedmodels.linalg.cholmod import loader  # noqa: E402

SRC = Path(cholmod.__file__).parents[3]


def run(script: str, **env: str) -> str:
    environment = {**os.environ, "PYTHONPATH": str(SRC), **env}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_versions_of_the_bundled_libraries_are_read():
    assert loader.cvxopt_version() is not None
    major = int(loader.cholmod_version().split(".")[0])
    assert major == loader.CHOLMOD_MAJOR
    assert loader.blas_core()  # the BLAS kernels chosen for this CPU, e.g. 'Haswell', 'Zen'


def test_the_checked_cvxopt_gets_the_ctypes_binding():
    if loader.cvxopt_version() not in loader.CVXOPT_CHECKED:
        pytest.skip("another cvxopt: the ctypes binding is not trusted for it")
    assert cholmod.binding().name == "ctypes"
    assert cholmod.describe()["binding"] == "ctypes"


def test_the_label_names_the_binding_and_the_versions_it_calls():
    text = cholmod.label()
    assert text == (
        f"{cholmod.binding().name} binding, CHOLMOD {loader.cholmod_version()}, "
        f"cvxopt {loader.cvxopt_version()}"
    )
    other = cholmod.cvxopt_binding.CvxoptBinding()
    assert cholmod.label(other).startswith("cvxopt binding, CHOLMOD 3.")


def test_without_a_binding_there_is_no_label(monkeypatch):
    monkeypatch.setitem(cholmod._state, "binding", None)
    monkeypatch.setitem(cholmod._state, "chosen", True)
    assert cholmod.label() is None
    assert cholmod.describe()["binding"] is None


def test_another_cvxopt_version_gets_cvxopts_binding(monkeypatch):
    monkeypatch.setattr(loader, "cvxopt_version", lambda: "9.9.9")
    binding, reason = cholmod._choose()
    assert binding.name == "cvxopt"
    assert "9.9.9" in reason


def test_another_cholmod_major_version_gets_cvxopts_binding(monkeypatch):
    monkeypatch.setattr(loader, "cvxopt_version", lambda: loader.CVXOPT_CHECKED[0])
    monkeypatch.setattr(loader, "cholmod_version", lambda: "5.1.0")
    binding, reason = cholmod._choose()
    assert binding.name == "cvxopt"
    assert "5.1.0" in reason


def test_without_cvxopt_there_is_no_binding(monkeypatch):
    monkeypatch.setattr(loader, "cvxopt_cholmod", lambda: None)
    binding, reason = cholmod._choose()
    assert binding is None
    assert "sparse" in reason


def test_loading_sets_no_environment_variable():
    script = """
import os
before = dict(os.environ)
from mixedmodels.linalg import cholmod
cholmod.binding()
print(dict(os.environ) == before)
"""
    assert run(script) == "True"


def test_the_users_blas_kernels_are_kept():
    script = "from mixedmodels.linalg.cholmod import loader; print(loader.blas_core())"
    assert run(script, OPENBLAS_CORETYPE="Haswell") == "Haswell"


@pytest.mark.parametrize("first_call", ["binding", "describe"])
def test_the_library_loads_on_first_use_from_any_entry(first_call):
    script = f"""
import numpy as np
from mixedmodels.linalg import cholmod
assert not cholmod._state["chosen"]
if {first_call!r} == "describe":
    print(cholmod.describe()["binding"])
else:
    a = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    cols, rows = np.nonzero(np.tril(a).T)
    factor = cholmod.binding().factor(rows, cols, 3, np.arange(3))
    factor.values[:] = a[rows, cols]
    print(np.abs(factor.factorize() - np.diag(np.linalg.cholesky(a))).max() < 1e-12)
"""
    assert run(script) in ("True", "ctypes", "cvxopt")

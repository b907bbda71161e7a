"""show_config: the libraries' versions and the engine's choices for this installation."""

from __future__ import annotations

import numpy as np

import mixedmodels as mm
from mixedmodels.config import config


def test_config_names_the_libraries_and_their_versions():
    found = config()
    assert found["libraries"]["numpy"] == np.__version__
    assert found["libraries"]["mixedmodels"].startswith(mm.__version__)
    assert set(found) == {"python", "libraries", "engine"}


def test_the_cholmod_binding_is_reported_with_its_reason():
    engine = config()["engine"]
    assert engine["cholmod_binding"] in ("ctypes", "cvxopt", None)
    assert engine["cholmod_binding_reason"]
    assert engine["tile_pool_threads"] >= 1


def test_show_config_prints_every_entry(capsys):
    mm.show_config()
    out = capsys.readouterr().out
    assert "cholmod_binding:" in out
    assert f"numpy: {np.__version__}" in out

"""Fixtures of the plot tests: the Agg backend, the fits drawn, and figures closed after each."""

from __future__ import annotations

import pytest

import mixedmodels as mm

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def sleep():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))


@pytest.fixture(scope="module")
def penicillin():
    return mm.lmer("diameter ~ 1 + (1|plate) + (1|sample)", mm.datasets.load("penicillin"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")

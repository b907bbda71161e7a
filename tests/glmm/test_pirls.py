"""PIRLS conditional modes and the Laplace value (mixedmodels.glmm.pirls).

The compiled one-block and blocked loops against the general path, and the Laplace value
against lme4's -2 log L at lme4's estimates.
"""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.glmm.model import GeneralizedLinearMixedModel
from mixedmodels.glmm.pirls import GlmmProblem, laplace_value, pirls, with_engine

from ._helpers import reference


def model_of(name):
    ref = reference(name)
    family = ref.get("family") or "binomial"
    model = GeneralizedLinearMixedModel(
        ref["formula"], mm.datasets.load(ref["data"]), family=family
    )
    return ref, model


@pytest.mark.parametrize("name", ["cbpp", "grouseticks"])
def test_the_laplace_value_at_lme4s_estimates_is_lme4s(name):
    ref, model = model_of(name)
    lams = model.lambdas(np.asarray(ref["theta"]))
    mode = pirls(model.problem, lams, np.asarray(list(ref["fixef"].values())))
    # lme4's own value stops PIRLS a little earlier (cbpp: 5.6e-4 above the converged mode's)
    value = laplace_value(model.problem, mode)
    assert value == pytest.approx(ref["minus2loglik"], abs=1e-3)
    assert value <= ref["minus2loglik"] + 1e-6


@pytest.mark.parametrize("name", ["cbpp", "grouseticks"])
@pytest.mark.parametrize("joint", [False, True])
def test_compiled_and_general_paths_find_the_same_mode(name, joint):
    ref, model = model_of(name)
    assert isinstance(model.problem, GlmmProblem)
    lams = model.lambdas(np.asarray(ref["theta"]))
    beta = np.asarray(list(ref["fixef"].values()))
    fast = pirls(model.problem, lams, beta, joint=joint)
    general = pirls(model.problem, lams, beta, joint=joint, general=True)
    for a, b in zip(fast.u, general.u, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fast.beta, general.beta, rtol=1e-6, atol=1e-8)
    assert fast.deviance == pytest.approx(general.deviance, rel=1e-9)
    assert fast.logdet_z == pytest.approx(general.logdet_z, rel=1e-9)


def test_with_engine_adds_the_factor_and_solution_at_the_modes_weights():
    ref, model = model_of("cbpp")
    lams = model.lambdas(np.asarray(ref["theta"]))
    beta = np.asarray(list(ref["fixef"].values()))
    mode = pirls(model.problem, lams, beta)
    full = with_engine(model.problem, mode, lams, joint=False)
    assert full.stats is not None
    assert full.solution is not None
    np.testing.assert_allclose(full.solution.u[0], mode.u[0], rtol=1e-6, atol=1e-9)
    assert with_engine(model.problem, full, lams, joint=False) is full


def test_a_warm_start_converges_in_fewer_iterations():
    ref, model = model_of("cbpp")
    lams = model.lambdas(np.asarray(ref["theta"]))
    beta = np.asarray(list(ref["fixef"].values()))
    cold = pirls(model.problem, lams, beta)
    warm = pirls(model.problem, lams, beta, cold.u)
    assert warm.iterations <= cold.iterations
    np.testing.assert_allclose(warm.u[0], cold.u[0], atol=1e-8)

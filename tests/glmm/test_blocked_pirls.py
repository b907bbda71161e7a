"""PIRLS of several grouping factors in one compiled loop (mixedmodels.glmm.blocked_pirls).

On lme4's grouseticks model (three crossed-nested factors), against the general path.
"""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels.glmm.blocked_pirls import blocked_mode, plans_of
from mixedmodels.glmm.model import GeneralizedLinearMixedModel
from mixedmodels.glmm.pirls import MAX_ITERATIONS, pirls

from ._helpers import reference

REF = reference("grouseticks")


@pytest.fixture(scope="module")
def model():
    return GeneralizedLinearMixedModel(
        REF["formula"], mm.datasets.load("grouseticks"), family="poisson"
    )


def test_a_multi_factor_model_has_plans(model):
    fixed, joint = plans_of(model.problem)
    assert fixed is not None
    assert joint is not None
    assert len(model.problem.blocks) == 3


@pytest.mark.parametrize("joint", [False, True])
def test_the_blocked_mode_is_the_general_one(model, joint):
    lams = model.lambdas(np.asarray(REF["theta"]))
    beta = np.asarray(list(REF["fixef"].values()))
    blocked = blocked_mode(model.problem, lams, beta, None, joint, MAX_ITERATIONS)
    assert blocked is not None
    general = pirls(model.problem, lams, beta, joint=joint, general=True)
    for a, b in zip(blocked.u, general.u, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    assert blocked.deviance == pytest.approx(general.deviance, rel=1e-9)
    assert blocked.penalty == pytest.approx(general.penalty, rel=1e-8)
    assert blocked.logdet_z == pytest.approx(general.logdet_z, rel=1e-9)
    if joint:
        np.testing.assert_allclose(blocked.beta, general.beta, rtol=1e-6)


def test_a_one_factor_model_has_no_blocked_plan():
    ref = reference("cbpp")
    one = GeneralizedLinearMixedModel(ref["formula"], mm.datasets.load("cbpp"), family="binomial")
    lams = one.lambdas(np.asarray(ref["theta"]))
    beta = np.asarray(list(ref["fixef"].values()))
    assert plans_of(one.problem) == (None, None)  # the one-block loop serves it
    assert blocked_mode(one.problem, lams, beta, None, False, MAX_ITERATIONS) is None

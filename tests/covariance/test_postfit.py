"""Post-fit tools on structured terms: get_me's Lambda and Lind, tidy's random parameters."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from conftest import reference_data

import mixedmodels as mm
from mixedmodels.errors import DesignError


@pytest.fixture(scope="module")
def sleep():
    return mm.datasets.load("sleepstudy")


def _block_diagonal_lambda(fit):
    blocks = []
    for term in fit.design.terms:
        n_levels = fit.ngrps[term.group_name]
        blocks.extend([term.lambda_(fit.theta)] * n_levels)
    return scipy.linalg.block_diag(*blocks)


@pytest.mark.parametrize(
    "formula",
    [
        "Reaction ~ Days + ar1(0 + C(Days) | Subject)",
        "Reaction ~ Days + (1 | Subject) + cs(1 + Days | Subject)",
        "Reaction ~ Days + diag(Days | Subject)",
    ],
)
def test_get_me_lambda_holds_each_terms_lambda(sleep, formula):
    fit = mm.lmer(formula, sleep)
    Lambda = fit.get_me("Lambda").toarray()
    np.testing.assert_array_equal(Lambda, _block_diagonal_lambda(fit))
    np.testing.assert_array_equal(fit.get_me("Lambdat").toarray(), Lambda.T)
    b = fit.get_me("b")
    np.testing.assert_allclose(Lambda @ fit.get_me("u"), b, rtol=1e-10, atol=1e-10)


def test_get_me_lind_of_linear_structures_and_refused_for_nonlinear(sleep):
    diag = mm.lmer("Reaction ~ Days + diag(Days | Subject)", sleep)
    np.testing.assert_array_equal(diag.get_me("Lind"), np.tile([1, 2], 18))
    homdiag = mm.lmer(
        "strength ~ 1 + (1 | batch) + homdiag(0 + cask | batch)", reference_data("pastes")
    )
    lind = homdiag.get_me("Lind")
    assert set(lind) == {1, 2}
    assert np.sum(lind == 2) == 30  # one shared SD on the diagonal of every batch x cask
    ar1 = mm.lmer("Reaction ~ Days + ar1(0 + C(Days) | Subject)", sleep)
    with pytest.raises(DesignError, match=r"ar1\(\) term is a nonlinear function of theta"):
        ar1.get_me("Lind")


def test_tidy_lists_a_structures_own_parameters(sleep):
    ar1 = mm.lmer("Reaction ~ Days + ar1(0 + C(Days) | Subject)", sleep)
    table = ar1.tidy(effects="ran_pars")
    subject = table[table["group"] == "Subject"]
    assert list(subject["term"]) == [
        "sd__Days0",
        "cor__Days0.Days1",
        *(f"sd__Days{d}" for d in range(1, 10)),
    ]
    rho = ar1.varcorr["sdcor"].iloc[10]
    assert subject["estimate"].iloc[1] == pytest.approx(rho)
    diag = mm.lmer("Reaction ~ Days + diag(Days | Subject)", sleep).tidy(effects="ran_pars")
    assert list(diag["term"]) == ["sd__(Intercept)", "sd__Days", "sd__Observation"]

"""Kenward-Roger adjusted covariance and df against pbkrtest (``vcovAdj``, ``Lb_ddf``)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REFERENCE_IDS, load_reference, reference_data, reference_fit

import mixedmodels as mm
from mixedmodels.errors import DesignError, InferenceError
from mixedmodels.inference import kenward_roger
from mixedmodels.inference.kenward_roger import kenward_roger_info
from mixedmodels.linalg.statistics import random_effects_matrix

from ._at_reference import fit_at_reference_theta

KR = [n for n in REFERENCE_IDS if "kenward_roger_df" in load_reference(n)]


def _scaled_difference(got, want):
    """Largest difference on the scale of the standard errors (covariances near 0 have none)."""
    want = np.asarray(want)
    scale = np.sqrt(np.outer(np.diag(want), np.diag(want)))
    return np.max(np.abs(np.asarray(got) - want) / scale)


@pytest.mark.parametrize("name", KR)
def test_df_and_adjusted_vcov_match_pbkrtest(name):
    ref = load_reference(name)
    fit, _ = reference_fit(name)
    info = kenward_roger_info(fit)
    names = list(fit.fixef.index)
    for i, coef in enumerate(names):
        got = info.df(np.eye(len(names))[i])
        want = ref["kenward_roger_df"][coef]
        assert abs(got - want) <= 1e-3 * want, (coef, got, want)
    assert _scaled_difference(info.vcov_adjusted, ref["kenward_roger_vcov"]) < 1e-4


@pytest.mark.parametrize("name", KR)
def test_at_lme4_theta_pbkrtest_is_reproduced_closely(name):
    ref = load_reference(name)
    info = kenward_roger_info(fit_at_reference_theta(name))
    names = list(ref["fixef"])
    for i, coef in enumerate(names):
        got = info.df(np.eye(len(names))[i])
        assert got == pytest.approx(ref["kenward_roger_df"][coef], rel=1e-8)
    assert _scaled_difference(info.vcov_adjusted, ref["kenward_roger_vcov"]) < 1e-8


def _dense_pbkrtest(fit):
    """pbkrtest's algorithm verbatim on dense n x n matrices (an independent computation)."""
    design = fit.design
    X = design.X
    n, p = X.shape
    Zs = [random_effects_matrix(b.codes, b.matrix, b.n_levels).toarray() for b in design.blocks]
    gammas, Gs = [], []
    for term in design.terms:
        k = next(i for i, b in enumerate(design.blocks) if term in b.terms)
        block = design.blocks[k]
        off = block.column_offsets[block.terms.index(term)]
        lam = np.zeros((term.size, term.size))
        rows, cols = term.theta_positions()
        lam[rows, cols] = fit.theta[term.theta_offset : term.theta_offset + term.n_theta]
        D = fit.sigma**2 * lam @ lam.T
        Zb = Zs[k].reshape(n, block.n_levels, block.size)[:, :, off : off + term.size]
        for a, b in zip(rows, cols, strict=True):
            E = np.zeros((term.size, term.size))
            E[a, b] = E[b, a] = 1.0
            G = np.einsum("nla,ab,mlb->nm", Zb, E, Zb)
            gammas.append(D[a, b])
            Gs.append(G)
    gammas.append(fit.sigma**2)
    Gs.append(np.eye(n))
    Sigma = sum(g * G for g, G in zip(gammas, Gs, strict=True))
    Si = np.linalg.inv(Sigma)
    Phi = fit.vcov.to_numpy()
    m = len(Gs)
    H = [G @ Si for G in Gs]
    O = [h @ X for h in H]
    P = [-(o.T @ Si @ X) for o in O]
    Q = [[O[r].T @ Si @ O[s] for s in range(m)] for r in range(m)]
    info = np.array(
        [
            [
                np.sum(H[r].T * H[s])
                - 2 * np.sum(Phi * Q[r][s])
                + np.trace(Phi @ P[r] @ Phi @ P[s])
                for s in range(m)
            ]
            for r in range(m)
        ]
    )
    W = 2 * np.linalg.inv(info)
    U = sum(W[r, s] * (Q[r][s] - P[r] @ Phi @ P[s]) for r in range(m) for s in range(m))
    return Phi + 2 * Phi @ U @ Phi


@pytest.mark.parametrize("name", ["penicillin", "sleepstudy_rs", "pastes"])
def test_woodbury_reduction_equals_the_dense_computation(name):
    fit, _ = reference_fit(name)
    np.testing.assert_allclose(
        kenward_roger_info(fit).vcov_adjusted, _dense_pbkrtest(fit), rtol=1e-7
    )


def test_ml_fits_are_refused():
    fit, _ = reference_fit("sleepstudy_rs_ml")
    with pytest.raises(InferenceError, match="REML"):
        kenward_roger_info(fit)


def test_weighted_fits_are_refused():
    data = reference_data("sleepstudy_rs")
    fit = mm.lmer("Reaction ~ Days + (1|Subject)", data, weights=np.linspace(1, 2, len(data)))
    with pytest.raises(InferenceError, match="weights"):
        kenward_roger_info(fit)


def test_large_models_are_refused_with_the_limit_named(monkeypatch):
    data = reference_data("penicillin")
    fit = mm.lmer("diameter ~ 1 + (1|plate) + (1|sample)", data)
    monkeypatch.setattr(kenward_roger, "MAX_DIMENSION", 20)
    with pytest.raises(DesignError, match=r"q \+ p = 31.*limit is 20"):
        kenward_roger_info(fit)


def test_scaled_f_test_of_one_row_is_the_squared_t_test():
    fit, _ = reference_fit("sleepstudy_zc")
    info = kenward_roger_info(fit)
    F, unscaled, q, ddf = info.f_test([[0.0, 1.0]], fit.fixef.to_numpy())
    t = fit.fixef["Days"] / np.sqrt(info.vcov_adjusted[1, 1])
    assert q == 1
    assert unscaled == pytest.approx(t**2, rel=1e-10)
    assert ddf == pytest.approx(info.df([0.0, 1.0]), rel=1e-10)

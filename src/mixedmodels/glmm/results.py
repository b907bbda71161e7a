"""The fitted GLMM: estimates, Wald tests, random effects, predictions, residuals, summary.

:class:`GlmerResult` is immutable; derived statistics are cached properties named as lme4
users know them (``fixef``, ``ranef``, ``vcov``, ``varcorr``, ``logLik`` as ``loglik``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixedmodels.column_names import lme4_column_names
from mixedmodels.control import SINGULAR_TOLERANCE
from mixedmodels.errors import DesignError, InferenceError, MissingColumnError
from mixedmodels.formula import parse_formula
from mixedmodels.glmm.mode import Mode
from mixedmodels.glmm.response import _evaluate, split_offsets
from mixedmodels.glmm.results_methods import GlmerPostFitMethods
from mixedmodels.glmm.summary import build_summary
from mixedmodels.optimize import OptSummary
from mixedmodels.report import Report

if TYPE_CHECKING:
    from mixedmodels.glmm.model import GeneralizedLinearMixedModel

__all__ = ["GlmerResult", "RESIDUAL_TYPES"]

RESIDUAL_TYPES = ("deviance", "pearson", "working", "response")
_NO_RANDOM = {"~0", "~ 0", "NA", "na", "none"}


@dataclass(frozen=True, eq=False)
class GlmerResult(GlmerPostFitMethods):
    """A fitted generalized linear mixed model.

    Attributes
    ----------
    model
        The :class:`~mixedmodels.glmm.model.GeneralizedLinearMixedModel` that was fitted.
    theta
        Relative covariance parameters (lme4's order and parameterisation).
    beta
        Fixed effects.
    nAGQ
        0, 1 (Laplace) or the number of quadrature nodes.
    mode
        The PIRLS state at the estimates (conditional modes, eta, mu, factor).
    optsum
        The optimiser's summary.
    hessian_vcov, rx_vcov
        Covariance of beta from the Hessian of the objective (None when not computed), and
        ``(R_X' R_X)^-1`` from the weighted system at the mode.
    """

    model: GeneralizedLinearMixedModel
    theta: np.ndarray
    beta: np.ndarray
    nAGQ: int
    mode: Mode
    optsum: OptSummary
    hessian_vcov: np.ndarray | None
    rx_vcov: np.ndarray

    # -- scalars --------------------------------------------------------------------------
    @property
    def design(self):
        """The model's design."""
        return self.model.design

    @property
    def family(self):
        """The response family (with its link)."""
        return self.model.family

    @property
    def nobs(self) -> int:
        """Number of observations."""
        return self.design.n

    @property
    def n_fixed(self) -> int:
        """Number of fixed effects."""
        return self.design.X.shape[1]

    @cached_property
    def minus2loglik(self) -> float:
        """``-2 log L``: the Laplace approximation, or quadrature for nAGQ > 1.

        (For nAGQ > 1 lme4's ``logLik`` omits the saturated model's log-likelihood; this is
        the full value.)
        """
        n = max(self.nAGQ, 1)
        return float(self.model.objective(self.theta, self.beta, nAGQ=n))

    @property
    def objective(self) -> float:
        """The optimised criterion, ``-2 log L`` (see :attr:`minus2loglik`)."""
        return self.minus2loglik

    @property
    def loglik(self) -> float:
        """Log-likelihood (lme4's ``logLik``)."""
        return -0.5 * self.minus2loglik

    @cached_property
    def deviance(self) -> float:
        """lme4's ``deviance()`` of a GLMM.

        The sum of squared deviance residuals at the conditional modes (not ``-2 log L``; see
        :attr:`minus2loglik`).
        """
        return float(np.sum(self._dev_rows))

    @property
    def df(self) -> int:
        """Number of parameters: fixed effects, theta (and the scale of Gamma-type families)."""
        return self.n_fixed + self.theta.size + int(self.family.has_dispersion)

    @property
    def aic(self) -> float:
        """Akaike information criterion."""
        return self.minus2loglik + 2.0 * self.df

    @property
    def bic(self) -> float:
        """Bayesian information criterion."""
        return self.minus2loglik + self.df * np.log(self.nobs)

    @property
    def reml(self) -> bool:
        """Always False: a GLMM is fitted by maximum likelihood (for likelihood-ratio tests)."""
        return False

    @property
    def converged(self) -> bool:
        """True when the convergence checks passed."""
        return self.optsum.converged

    @cached_property
    def is_singular(self) -> bool:
        """Whether a bounded theta component is (nearly) zero."""
        bounded = self.model.lower_bounds == 0
        return bool(np.any(self.theta[bounded] < SINGULAR_TOLERANCE))

    @cached_property
    def sigma(self) -> float:
        """Scale: 1 for binomial and Poisson; for Gamma-type families lme4's estimate."""
        if not self.family.has_dispersion:
            return 1.0
        pearson = self.residuals("pearson").to_numpy()
        pwrss = float(pearson @ pearson) + self.mode.penalty
        return float(np.sqrt(pwrss / self.nobs))

    @property
    def ngrps(self) -> dict[str, int]:
        """Number of levels of every grouping factor."""
        return {t.group_name: len(self._block_of(t).levels) for t in self.design.terms}

    # -- fixed effects --------------------------------------------------------------------
    @cached_property
    def fixef(self) -> pd.Series:
        """Fixed-effect estimates."""
        return pd.Series(self.beta, index=list(self.design.fixed_names), name="Estimate")

    def vcov_matrix(self, use_hessian: bool | None = None) -> pd.DataFrame:
        """Covariance of the fixed effects.

        From the Hessian (default when computed, as lme4) or ``(R_X' R_X)^-1`` at the mode
        (``use_hessian=False``).
        """
        names = list(self.design.fixed_names)
        matrix = self.rx_vcov
        if use_hessian is None:
            use_hessian = self.hessian_vcov is not None
        if use_hessian:
            if self.hessian_vcov is None:
                raise InferenceError("no Hessian was computed for this fit (nAGQ=0 or no check)")
            matrix = self.hessian_vcov
        # the Hessian's covariance has the scale in it already (it is that of -2 log L)
        scale = self.sigma**2 if self.family.has_dispersion and not use_hessian else 1.0
        return pd.DataFrame(scale * matrix, index=names, columns=names)

    @cached_property
    def vcov(self) -> pd.DataFrame:
        """Covariance of the fixed effects (lme4's ``vcov``)."""
        return self.vcov_matrix()

    @property
    def se(self) -> pd.Series:
        """Standard errors of the fixed effects."""
        return pd.Series(np.sqrt(np.diag(self.vcov)), index=self.vcov.index, name="Std. Error")

    @cached_property
    def coef_table(self) -> pd.DataFrame:
        """Estimate, standard error, Wald z and its two-sided p-value per fixed effect."""
        se = self.se
        z = self.fixef / se
        label = "t value" if self.family.has_dispersion else "z value"
        plabel = "Pr(>|t|)" if self.family.has_dispersion else "Pr(>|z|)"
        return pd.DataFrame(
            {
                "Estimate": self.fixef,
                "Std. Error": se,
                label: z,
                plabel: 2.0 * sps.norm.sf(np.abs(z)),
            }
        )

    # -- variance components --------------------------------------------------------------
    def _block_of(self, term):
        for block in self.design.blocks:
            if term in block.terms:
                return block
        raise LookupError(term)

    @cached_property
    def varcorr(self) -> pd.DataFrame:
        """Variance components as lme4's ``as.data.frame(VarCorr(fit))``."""
        rows = []
        seen: dict[str, int] = {}
        scale = self.sigma if self.family.has_dispersion else 1.0
        for term in self.design.terms:
            k = seen.get(term.group_name, 0)
            seen[term.group_name] = k + 1
            label = term.group_name if k == 0 else f"{term.group_name}.{k}"
            r, c = term.theta_positions()
            lam = np.zeros((term.size, term.size))
            lam[r, c] = self.theta[term.theta_offset : term.theta_offset + term.n_theta]
            cov = scale**2 * lam @ lam.T
            sd = np.sqrt(np.diag(cov))
            for i, name in enumerate(term.columns):
                rows.append((label, name, None, cov[i, i], sd[i]))
            for j in range(term.size):
                for i in range(j + 1, term.size):
                    denom = sd[i] * sd[j]
                    corr = cov[i, j] / denom if denom > 0 else np.nan
                    rows.append((label, term.columns[j], term.columns[i], cov[i, j], corr))
        if self.family.has_dispersion:
            rows.append(("Residual", None, None, self.sigma**2, self.sigma))
        return pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])

    # -- random effects -------------------------------------------------------------------
    @cached_property
    def _block_effects(self) -> list[np.ndarray]:
        lams = self.model.lambdas(self.theta)
        return [u @ lam.T for u, lam in zip(self.mode.u, lams, strict=True)]

    @cached_property
    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes of the random effects: one DataFrame (levels x terms) per factor."""
        return {
            block.group_name: pd.DataFrame(
                b, index=pd.Index(block.levels, name=block.group_name), columns=list(block.columns)
            )
            for block, b in zip(self.design.blocks, self._block_effects, strict=True)
        }

    @cached_property
    def condvar(self) -> dict[str, np.ndarray]:
        """Conditional covariances of the random effects, ``(levels, k, k)`` per factor."""
        lams = self.model.lambdas(self.theta)
        scale = self.sigma**2 if self.family.has_dispersion else 1.0
        return {
            block.group_name: scale * np.einsum("ab,lbc,dc->lad", lam, v, lam)
            for block, lam, v in zip(
                self.design.blocks, lams, self.mode.solution.u_cov_unscaled, strict=True
            )
        }

    @cached_property
    def ranef_table(self) -> pd.DataFrame:
        """Tidy random effects: group, term, level, condval, condsd (lme4's as.data.frame)."""
        frames = []
        for block, b in zip(self.design.blocks, self._block_effects, strict=True):
            var = self.condvar[block.group_name]
            for k, column in enumerate(block.columns):
                frames.append(
                    pd.DataFrame(
                        {
                            "group": block.group_name,
                            "term": column,
                            "level": list(block.levels),
                            "condval": b[:, k],
                            "condsd": np.sqrt(var[:, k, k]),
                        }
                    )
                )
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def coef(self) -> dict[str, pd.DataFrame]:
        """Per-level coefficients: fixed plus the level's random effects (lme4's ``coef``)."""
        out = {}
        for name, frame in self.ranef.items():
            table = pd.DataFrame(
                np.tile(self.fixef.to_numpy(), (len(frame), 1)),
                index=frame.index,
                columns=self.fixef.index,
            )
            for column in frame.columns:
                table[column] = table[column] + frame[column] if column in table else frame[column]
            out[name] = table
        return out

    # -- fitted values, residuals, predictions ---------------------------------------------
    @property
    def linear_predictor(self) -> pd.Series:
        """``eta`` per used row (with the random effects and any offset)."""
        return pd.Series(self.mode.eta, index=self.design.row_index, name="eta")

    @property
    def fitted(self) -> pd.Series:
        """Fitted means ``mu`` per used row (the response scale)."""
        return pd.Series(self.mode.mu, index=self.design.row_index, name="fitted")

    @cached_property
    def _dev_rows(self) -> np.ndarray:
        p = self.model.problem
        return self.family.dev_resids(p.y, self.mode.mu, p.prior_weights)

    def residuals(
        self, type: Literal["deviance", "pearson", "working", "response"] = "deviance"
    ) -> pd.Series:
        """Residuals per used row.

        ``"deviance"`` (default, as lme4), ``"pearson"``, ``"working"`` (``(y - mu) / mu'``)
        or ``"response"`` (``y - mu``).
        """
        p = self.model.problem
        y, mu = p.y, self.mode.mu
        if type == "deviance":
            values = np.sign(y - mu) * np.sqrt(np.maximum(self._dev_rows, 0.0))
        elif type == "pearson":
            values = (y - mu) * np.sqrt(p.prior_weights) / np.sqrt(self.family.variance(mu))
        elif type == "working":
            values = (y - mu) / self.family.link.mu_eta(self.mode.eta)
        elif type == "response":
            values = y - mu
        else:
            raise InferenceError(f"type must be one of {', '.join(RESIDUAL_TYPES)}, got {type!r}")
        return pd.Series(values, index=self.design.row_index, name=f"{type} residuals")

    def overdispersion(self) -> pd.Series:
        """Pearson chi-square over the residual df, a check for overdispersion (ratio >> 1).

        Returns ``chisq`` (sum of squared Pearson residuals), ``df`` (observations minus
        parameters), ``ratio`` and ``p_value`` (chi-square upper tail).
        """
        pearson = self.residuals("pearson").to_numpy()
        chisq = float(pearson @ pearson)
        rdf = self.nobs - self.df
        return pd.Series(
            {
                "chisq": chisq,
                "df": float(rdf),
                "ratio": chisq / rdf if rdf > 0 else np.nan,
                "p_value": float(sps.chi2.sf(chisq, rdf)) if rdf > 0 else np.nan,
            },
            name="overdispersion",
        )

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        type: Literal["link", "response"] = "link",
        re_form=None,
        allow_new_levels: bool = False,
    ) -> pd.Series:
        """Predictions on the link (default, as lme4) or response scale.

        Parameters
        ----------
        newdata
            Data with the formula's variables; the fitted rows when None.
        type
            ``"link"`` (eta) or ``"response"`` (mu).
        re_form
            None for all random effects, ``"~0"`` / ``"NA"`` for the fixed part only.
        allow_new_levels
            Predict new grouping levels with random effects zero (else raise).
        """
        if type not in ("link", "response"):
            raise InferenceError(f"type must be 'link' or 'response', got {type!r}")
        include_random = re_form is None
        if not include_random and str(re_form).strip() not in _NO_RANDOM:
            raise DesignError(f"re_form must be None or '~0', got {re_form!r}")
        if newdata is None:
            eta = self.mode.eta.copy()
            if not include_random:
                eta = self.design.X @ self.beta + self.model.problem.offset
            index = self.design.row_index
        else:
            eta = self._new_fixed_matrix(newdata) @ self.beta + self._new_offset(newdata)
            if include_random:
                eta = eta + self._new_random_part(newdata, allow_new_levels)
            index = newdata.index
        values = eta if type == "link" else self.family.link.linkinv(eta)
        return pd.Series(values, index=index, name="predicted")

    def _new_fixed_matrix(self, newdata: pd.DataFrame) -> np.ndarray:
        spec = self.design.fixed_spec
        missing = [v for v in spec.required_variables if v not in newdata.columns]
        if missing:
            raise MissingColumnError(f"newdata lacks column(s): {', '.join(sorted(missing))}")
        mm = spec.get_model_matrix(newdata, na_action="ignore")
        names = lme4_column_names(list(mm.columns))
        if len(names) != len(self.design.kept_columns) + len(self.design.dropped_names):
            raise DesignError("newdata does not give the model's fixed-effect columns")
        return np.asarray(mm, dtype=float)[:, self.design.kept_columns]

    def _new_offset(self, newdata: pd.DataFrame) -> np.ndarray:
        parsed = self.design.formula
        written = parse_formula(parsed.formula)
        _, exprs = split_offsets(written.fixed)
        exprs = [*written.offsets, *exprs]  # the parser's offset(...) terms
        total = np.zeros(len(newdata))
        for expr in exprs:
            total += _evaluate(expr, newdata, "offset", parsed.formula)
        return total

    def _new_random_part(self, newdata: pd.DataFrame, allow_new_levels: bool) -> np.ndarray:
        values = np.zeros(len(newdata))
        effects = dict(zip((b.group_name for b in self.design.blocks), self._block_effects))
        used: dict[str, int] = {}
        for spec in self.design.term_specs:
            name = spec.term.group_name
            block = next(b for b in self.design.blocks if b.group_name == name)
            k = used.get(name, 0)
            used[name] = k + 1
            term, offset = block.terms[k], block.column_offsets[k]
            missing = [g for g in spec.term.group if g not in newdata.columns]
            if missing:
                raise MissingColumnError(f"newdata lacks grouping column(s): {', '.join(missing)}")
            matrix = np.asarray(
                spec.model_spec.get_model_matrix(newdata, na_action="ignore"), dtype=float
            )
            parts = [newdata[g].astype(str).tolist() for g in spec.term.group]
            labels = [":".join(p) for p in zip(*parts)]
            position = {level: i for i, level in enumerate(block.levels)}
            index = np.array([position.get(label, -1) for label in labels])
            if (index < 0).any() and not allow_new_levels:
                new = sorted({lab for lab, i in zip(labels, index) if i < 0})[:5]
                raise DesignError(
                    f"new levels of {name!r} in newdata ({', '.join(new)}); "
                    "use allow_new_levels=True to predict them with zero random effects"
                )
            b = effects[name][:, offset : offset + term.size]
            contrib = np.einsum("nk,nk->n", matrix, b[np.maximum(index, 0)])
            values += np.where(index >= 0, contrib, 0.0)
        return values

    # -- report ---------------------------------------------------------------------------
    def summary(self) -> Report:
        """lme4-style summary: family, criteria, random and fixed effects with Wald tests."""
        return build_summary(self)

    def __str__(self) -> str:
        """The summary, as R prints it."""
        return str(self.summary())

    def __repr__(self) -> str:
        """One line: formula, family, ``-2 log L`` and number of rows."""
        return (
            f"<GlmerResult {self.model.formula!r} {self.family}: -2 log L "
            f"{self.minus2loglik:.4f}, nobs {self.nobs}>"
        )

    def _repr_html_(self) -> str:
        return self.summary().to_html()

"""What every out-of-core data source shares: options, the two passes, the memory check."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from mixedmodels._warn import warn
from mixedmodels.control import MODEL_CHECKS, resolve_control
from mixedmodels.errors import DesignError, RankDeficiencyWarning
from mixedmodels.identifiability import check_fixed_count
from mixedmodels.sources.accumulate import PartialStats, estimate_bytes
from mixedmodels.sources.plan import Backend, StreamPlan, build_plan

__all__ = ["Source", "default_memory_limit"]


def default_memory_limit() -> int:
    """Half the machine's physical memory (4 GiB when it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


class Source:
    """A data source too large for memory, fitted by streaming (base class).

    Parameters
    ----------
    progress
        Show a progress bar over chunks: True, False, or None (default) for "when the session
        is interactive" (stderr is a terminal).
    factors
        Numeric columns to treat as factors (grouping factors are always factors).
    max_memory
        Bytes the accumulated blocks may take (default half the physical memory); a model whose
        per-level blocks need more raises :class:`~mixedmodels.errors.DesignError` before the
        second pass.
    """

    def __init__(
        self,
        *,
        progress: bool | None = None,
        factors: Sequence[str] = (),
        max_memory: int | None = None,
    ) -> None:
        self.progress = progress
        self.factors = tuple(factors)
        self.max_memory = max_memory

    # -- to be provided by a backend ------------------------------------------------------
    def backend(self) -> Backend:
        """The first-pass questions answered by this source."""
        raise NotImplementedError

    def accumulate(self, plan: StreamPlan) -> PartialStats:
        """The second pass: sums over every complete row."""
        raise NotImplementedError

    def write_fitted(self, result, path, columns=None) -> str:
        """Stream fitted values and residuals of ``result`` to Parquet at ``path``."""
        raise NotImplementedError

    def frames(self, plan: StreamPlan) -> Iterator[pd.DataFrame]:
        """The complete rows of the used columns, chunk by chunk, in the data's order."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------
    def plan(
        self,
        formula,
        *,
        weights=None,
        offset=None,
        contrasts=None,
        check_nobs_vs_nre: str = "stop",
        check_nobs_vs_nlev: str = "stop",
    ) -> StreamPlan:
        """Run the first pass and check that the model's blocks fit in memory."""
        plan = build_plan(
            formula,
            self.backend(),
            weights=weights,
            offset=offset,
            factors=self.factors,
            contrasts=contrasts,
            check_nobs_vs_nre=check_nobs_vs_nre,
            check_nobs_vs_nlev=check_nobs_vs_nlev,
        )
        check_memory(plan, self.max_memory)
        return plan

    def model(self, formula, *, weights=None, offset=None, contrasts=None, control=None):
        """Both passes: a :class:`~mixedmodels.sources.model.StreamedLinearMixedModel`.

        ``control``: a :class:`~mixedmodels.control.Control` or a dict of its settings; only
        its model checks apply here (``check_nobs_vs_nre``), as for the in-memory model.
        """
        from mixedmodels.sources.model import StreamedDesign, StreamedLinearMixedModel

        checks = {name: getattr(resolve_control(control)[0], name) for name in MODEL_CHECKS}
        plan = self.plan(formula, weights=weights, offset=offset, contrasts=contrasts, **checks)
        partial = self.accumulate(plan)
        if partial.n != plan.n:
            raise DesignError(
                f"the second pass read {partial.n} complete rows, the first "
                f"{plan.n}: did the data change between the passes?"
            )
        keep = partial.kept_columns(plan.fixed_names)
        dropped = tuple(n for j, n in enumerate(plan.fixed_names) if j not in set(keep.tolist()))
        if dropped:
            warn(
                "fixed-effect model matrix is rank deficient so dropping "
                f"{len(dropped)} column(s): {', '.join(dropped)}",
                RankDeficiencyWarning,
            )
        check_fixed_count(len(keep), plan.n)
        stats = partial.finish(keep)
        design = StreamedDesign(
            formula=plan.formula,
            fixed_names=tuple(plan.fixed_names[j] for j in keep),
            dropped_names=dropped,
            fixed_spec=plan.fixed_spec,
            kept_columns=np.asarray(keep, dtype=np.intp),
            terms=plan.terms,
            blocks=plan.blocks,
            term_specs=plan.term_specs,
            n_dropped=plan.n_dropped,
            nobs=plan.n,
            fixed_gram=partial.fixed_crossproduct(keep),
            response_total=partial.response_sums.copy(),
            covariate_means=plan.covariate_means,
            weights_column=plan.weights,
            offset_column=plan.offset,
            plan=plan,
        )
        return StreamedLinearMixedModel(design, stats, partial.scaling(plan), self, checks)


def check_memory(plan: StreamPlan, limit: int | None) -> None:
    """Raise a :class:`DesignError` when the per-level blocks would not fit in ``limit`` bytes."""
    limit = default_memory_limit() if limit is None else int(limit)
    need = estimate_bytes(plan)
    if need > limit:
        first = plan.blocks[0]
        rest = ", ".join(f"{b.group_name!r} ({b.n_random_effects})" for b in plan.blocks[1:])
        raise DesignError(
            f"this model needs about {need / 2**30:.2f} GiB for its sufficient statistics, more "
            f"than the limit of {limit / 2**30:.2f} GiB (max_memory). The grouping factor with "
            f"most levels ({first.group_name!r}, {first.n_levels} levels) costs memory linear in "
            "its levels; the random effects of the others"
            + (f" ({rest})" if rest else "")
            + " and the fixed effects form a dense square block. See docs/out-of-core.md."
        )

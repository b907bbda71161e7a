"""The numerical core: sufficient statistics, blocked Cholesky factor, profiled objective.

Pure functions of numpy arrays; nothing here imports pandas or formulaic.
"""

from mixedmodels.linalg.factor import (
    BlockedFactor,
    evaluate_objective,
    objective_from_parts,
    profiled_objective,
    update_factor,
)
from mixedmodels.linalg.solve import Solution, solve_at_optimum
from mixedmodels.linalg.statistics import (
    BlockShape,
    SufficientStats,
    compute_statistics,
    response_statistics,
)
from mixedmodels.linalg.workspace import Workspace

__all__ = [
    "BlockShape",
    "BlockedFactor",
    "Solution",
    "SufficientStats",
    "Workspace",
    "compute_statistics",
    "evaluate_objective",
    "objective_from_parts",
    "profiled_objective",
    "response_statistics",
    "solve_at_optimum",
    "update_factor",
]

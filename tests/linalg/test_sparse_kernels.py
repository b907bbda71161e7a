"""The sparse route's compiled kernels (mixedmodels.linalg.sparse_kernels)."""

from __future__ import annotations

import numpy as np

from mixedmodels.linalg import sparse_kernels


def test_gather_pattern_reads_the_lower_triangle_at_the_pattern():
    rng = np.random.default_rng(0)
    S = np.tril(rng.normal(size=(6, 6)))
    I = np.array([0, 3, 5, 2, 4, 5])
    J = np.array([0, 0, 0, 2, 3, 5])
    out = np.empty(I.size)
    sparse_kernels.gather_pattern(out, S, I, J)
    np.testing.assert_array_equal(out, S[I, J])


def test_scalar_rest_pattern_marks_shared_levels_nonzeros_and_the_diagonal():
    # two levels of the first block: level 0 meets rest rows 0 and 2, level 1 rows 1 and 3;
    # row 4 is X's (not random effects): ignored
    ptr = np.array([0, 3, 5])
    rows = np.array([0, 2, 4, 1, 3])
    Arr = np.zeros((5, 5))
    Arr[3, 0] = Arr[0, 3] = 1.0  # rest effects 0 and 3 share a row
    I, J = sparse_kernels.scalar_rest_pattern(ptr, rows, Arr, 4)
    pairs = set(zip(I.tolist(), J.tolist(), strict=True))
    assert pairs == {(0, 0), (1, 1), (2, 2), (3, 3), (2, 0), (3, 1), (3, 0)}
    assert np.all(I >= J)
    # column by column, rows ascending: CHOLMOD's order
    assert list(zip(J.tolist(), I.tolist(), strict=True)) == sorted(
        zip(J.tolist(), I.tolist(), strict=True)
    )

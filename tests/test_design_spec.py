"""The row-free spec both designs share, and the rows of a design as chunks."""

from __future__ import annotations

import numpy as np

import mixedmodels as mm
from mixedmodels.design_spec import DesignSpec, RowChunk

SLEEP = mm.datasets.load("sleepstudy")


def test_the_in_memory_design_is_the_spec_with_rows():
    data = SLEEP.assign(off=np.linspace(0.0, 1.0, len(SLEEP)))
    design = mm.LinearMixedModel("Reaction ~ Days + (Days | Subject)", data, offset="off").design
    assert isinstance(design, DesignSpec)
    assert design.has_rows
    assert not design.weighted
    chunk = design.row_chunk()
    assert isinstance(chunk, RowChunk)
    np.testing.assert_array_equal(chunk.y, design.y - design.offset)  # the working response
    assert chunk.X is design.X
    assert [codes for codes, _ in chunk.blocks][0] is design.blocks[0].codes
    y = chunk.y
    np.testing.assert_array_equal(design.response_sums(), [y.sum(), y @ y])
    np.testing.assert_array_equal(design.fixed_crossproduct(), design.X.T @ design.X)


def test_the_model_reads_its_rows_as_one_chunk():
    model = mm.LinearMixedModel("Reaction ~ Days + (1 | Subject)", SLEEP)
    chunks = list(model.row_chunks())
    assert len(chunks) == 1
    assert chunks[0].X.shape == (180, 2)
    assert chunks[0].weights is None

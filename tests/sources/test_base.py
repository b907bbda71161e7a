"""Source options shared by every backend: the progress bar and the memory estimate."""

from __future__ import annotations

import pytest

import mixedmodels as mm

from .conftest import frame

duckdb = pytest.importorskip("duckdb")


def test_progress_bar_over_chunks_when_asked(capsys):
    pytest.importorskip("tqdm")
    formula, data = frame("sleepstudy")
    source = mm.sources.DuckDBSource(
        duckdb.connect().from_df(data), method="chunks", chunk_size=50, progress=True
    )
    source.model(formula)
    err = capsys.readouterr().err
    assert "accumulating A" in err
    assert "4/4" in err  # 180 rows in chunks of 50


def test_lmer_leaves_plain_data_to_the_in_memory_path():
    assert mm.sources.as_source({"a": [1, 2]}) is None
    formula, data = frame("sleepstudy")
    assert type(mm.lmer(formula, data.to_dict("list"))) is mm.LmerResult

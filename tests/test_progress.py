"""The progress bar of long loops: shown when asked, silent otherwise, honest without tqdm."""

from __future__ import annotations

import builtins

import pytest

from mixedmodels.progress import progress_bar


def test_a_bar_is_shown_when_asked(capsys):
    pytest.importorskip("tqdm")
    bar = progress_bar(True, 3, "counting", unit="step")
    bar.update(3)
    bar.close()
    err = capsys.readouterr().err
    assert "counting" in err
    assert "3/3" in err


@pytest.mark.parametrize("progress", [False, None])
def test_no_bar_when_not_asked_or_not_interactive(capsys, progress):
    bar = progress_bar(progress, 3, "quiet")
    bar.update(3)
    bar.close()
    assert "quiet" not in capsys.readouterr().err


def test_asking_for_a_bar_without_tqdm_says_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError("no tqdm")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    with pytest.raises(ImportError, match=r"mixedmodels\[progress\]"):
        progress_bar(True, 3, "needs tqdm")
    assert progress_bar(None, 3, "auto").update(1) is None  # silently none when auto

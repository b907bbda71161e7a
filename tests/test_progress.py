"""Progress bars: shown in notebooks and terminals after a second, never in plain scripts."""

from __future__ import annotations

import pytest

from mixedmodels import progress

pytest.importorskip("tqdm")


def test_no_bar_when_not_interactive(monkeypatch):
    monkeypatch.setattr(progress, "interactive", lambda: False)
    assert progress.make_bar(None, 10, "x") is None
    assert progress.make_bar(False, 10, "x") is None
    with progress.progress_bar(None, 3, "x") as bar:
        bar.update(1)  # the silent stand-in


def test_interactive_bar_waits_a_second(monkeypatch):
    monkeypatch.setattr(progress, "interactive", lambda: True)
    bar = progress.make_bar(None, 10, "bootstrap")
    assert bar is not None
    assert bar.delay == progress.DELAY == 1.0
    assert bar.total == 10
    bar.close()
    forced = progress.make_bar(True, 5, "all_fit")
    assert forced.delay == 0.0
    forced.close()


def test_notebook_detection(monkeypatch):
    class ZMQInteractiveShell:  # the class name Jupyter kernels have
        pass

    class FakeIPython:
        @staticmethod
        def get_ipython():
            return ZMQInteractiveShell()

    monkeypatch.setitem(__import__("sys").modules, "IPython", FakeIPython)
    assert progress.in_notebook()
    assert progress.interactive()


def test_callers_show_bars_when_asked(capsys):
    import mixedmodels as mm

    fit = mm.lmer("strength ~ 1 + (1 | batch)", mm.datasets.load("pastes"))
    fit.bootstrap(n=3, seed=1, progress=True)
    fit.all_fit(["bobyqa"], progress=True)
    fit.profile(which="sigma", progress=True)
    fit.influence("batch", progress=True)
    err = capsys.readouterr().err
    for label in ("bootstrap", "all_fit", "profile", "influence"):
        assert label in err

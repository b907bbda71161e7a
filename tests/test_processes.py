"""The forked work-sharing helper: n_jobs, outcomes by task, failures, workers' deaths."""

from __future__ import annotations

import os
import time

import pytest

from mixedmodels.errors import DesignError, MixedModelsError
from mixedmodels.processes import can_fork, resolve_jobs, run_forked

forking = pytest.mark.skipif(not can_fork(), reason="no fork on this platform")


def test_resolve_jobs():
    cores = os.cpu_count() or 1
    assert resolve_jobs(3) == 3
    assert resolve_jobs(-1) == cores
    assert resolve_jobs(-2) == max(1, cores - 1)
    assert resolve_jobs(-10_000) == 1
    for bad in (0, 1.5, "2", None, True):
        with pytest.raises(DesignError, match="n_jobs"):
            resolve_jobs(bad, DesignError)
    with pytest.raises(MixedModelsError, match="got 0"):
        resolve_jobs(0)


@forking
def test_outcomes_come_back_by_task_whoever_ran_them():
    seen = []

    def run(k):
        time.sleep(0.005)  # long enough for every process to take some
        return k * k, os.getpid()

    out = run_forked(run, 40, 3, name="test", on_outcome=lambda k, o: seen.append(k))
    assert sorted(out) == list(range(40))
    assert [out[k][0] for k in range(40)] == [k * k for k in range(40)]
    assert sorted(seen) == list(range(40))  # each outcome reported once, here
    assert os.getpid() in {pid for _, pid in out.values()}  # this process takes tasks too


@forking
def test_the_initializer_runs_in_the_workers():
    state = {"ready": False}

    def init():
        state["ready"] = True

    def run(k):
        time.sleep(0.005)
        return (os.getpid(), state["ready"])

    out = run_forked(run, 30, 3, name="test", initializer=init)
    here = os.getpid()
    assert {pid for pid, _ in out.values()} - {here}  # a worker ran some
    assert all(ready for pid, ready in out.values() if pid != here)
    assert not any(ready for pid, ready in out.values() if pid == here)


@forking
def test_a_failed_task_stops_later_ones():
    out = run_forked(lambda k: k == 5, 200, 2, name="test", failed=lambda outcome: outcome)
    assert list(out) == list(range(6))  # the tasks up to the first failure
    assert out[5] is True


@forking
def test_a_worker_that_dies_is_an_error():
    here = os.getpid()

    def run(k):
        if os.getpid() != here:
            os._exit(3)
        time.sleep(0.005)  # leave tasks for the worker
        return k

    with pytest.raises(MixedModelsError, match="worker process of test ended with code 3"):
        run_forked(run, 50, 2, name="test")

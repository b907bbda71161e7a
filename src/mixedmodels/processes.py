"""Work shared out between this process and forked workers: one helper for every caller.

:func:`lmer_many <mixedmodels.batch.lmer_many>` and the parametric bootstrap
(:mod:`mixedmodels.inference.bootstrap`) run numbered tasks (chunks of frames, chunks of
replicates) with :func:`run_forked`: this process and ``jobs - 1`` forked workers take the
next task from a shared counter (so a busy core takes fewer), each worker sends its
outcomes back through a pipe, and the caller gets them by task number, so the result does
not depend on which process ran what. Forked workers inherit the caller's data instead of
receiving it pickled. :func:`resolve_jobs` reads ``n_jobs`` for both.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import operator
import os
import pickle
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from mixedmodels.errors import MixedModelsError

__all__ = ["resolve_jobs", "can_fork", "settled_objects", "run_forked"]

PIPE_BYTES = 1 << 20  # a worker's pipe: room for a chunk's results, so a send never waits

T = TypeVar("T")


def resolve_jobs(n_jobs: Any, error: type[Exception] = MixedModelsError) -> int:
    """The number of processes that ``n_jobs`` asks for.

    A positive integer as given; ``-1`` every core, ``-2`` all but one, and so on (at least
    one). Anything else raises ``error`` (the caller's exception class).
    """
    try:
        jobs = operator.index(n_jobs)
    except TypeError:
        jobs = 0
    if isinstance(n_jobs, bool) or jobs == 0:
        raise error(f"n_jobs must be a positive integer or -1 (all cores), got {n_jobs!r}")
    if jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + jobs)
    return jobs


def can_fork() -> bool:
    """Whether worker processes can be forked here (not on Windows)."""
    return "fork" in multiprocessing.get_all_start_methods()


@contextlib.contextmanager
def settled_objects() -> Iterator[Callable[[], None]]:
    """Keep the cyclic garbage collector off the objects that exist, for a batch of work.

    On entry every object is frozen (see :func:`gc.freeze`); the function handed out freezes
    what has been made since, e.g. finished results; on exit all is thawed. A full collection
    then no longer walks the caller's data and every earlier result again and again (a
    twentieth of the time of a batch of small fits), and after a fork it does not write to
    pages shared with the parent. New objects are collected as usual; refcounting frees
    frozen ones as usual. If the caller froze objects already, nothing is done: thawing at
    the end would thaw theirs too.
    """
    if not gc.isenabled() or gc.get_freeze_count():
        yield lambda: None
        return
    gc.freeze()
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()


def _widen(conn) -> None:
    """Enlarge a pipe's buffer (Linux) so that a worker's send rarely waits for our reads.

    We read between our own tasks only; with the default 64 kB a worker would stop at every
    task until then. Where the size cannot be changed the pipe stays as it is.
    """
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # pragma: no cover - not Linux, or a limit
        pass


def _pickle(k: int, outcome: Any) -> bytes:
    return pickle.dumps((k, outcome), protocol=pickle.HIGHEST_PROTOCOL)


def run_forked(
    run: Callable[[int], T],
    count: int,
    jobs: int,
    *,
    name: str,
    failed: Callable[[T], bool] | None = None,
    dumps: Callable[[int, T], bytes] = _pickle,
    initializer: Callable[[], None] | None = None,
    on_outcome: Callable[[int, T], None] | None = None,
) -> dict[int, T]:
    """Run tasks ``0 .. count - 1`` here and in ``jobs - 1`` forked workers; outcomes by task.

    ``run(k)`` runs task ``k``. When ``failed(outcome)`` is true no later task is started
    and the outcomes returned are those of the tasks up to the first failed one. ``dumps``
    pickles ``(k, outcome)`` for the pipe (e.g. replacing an error that does not pickle);
    ``initializer`` runs in each worker before its first task; ``on_outcome(k, outcome)``
    runs here as each outcome arrives (e.g. a progress bar). ``name`` names the caller in
    the error raised when a worker dies.
    """
    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("q", 0)  # the next task to take; its lock serialises taking

    def take() -> int | None:
        with counter.get_lock():
            k = counter.value
            if k >= count:
                return None
            counter.value = k + 1
            return k

    def halt() -> None:  # after a failure no later task is needed
        with counter.get_lock():
            counter.value = count

    def work(conn) -> None:  # a worker: run tasks until none are left, send each outcome
        try:
            if initializer is not None:
                initializer()
            while (k := take()) is not None:
                outcome = run(k)
                settle()
                if failed is not None and failed(outcome):
                    halt()
                conn.send_bytes(dumps(k, outcome))
        finally:
            conn.send_bytes(pickle.dumps(None))
            conn.close()

    outcomes: dict[int, T] = {}
    workers: list = []
    open_workers: list = []

    def arrived(k: int, outcome: T) -> None:
        outcomes[k] = outcome
        if on_outcome is not None:
            on_outcome(k, outcome)

    def collect(block: bool) -> None:
        for worker in list(open_workers):
            process, conn = worker
            while block or conn.poll():
                try:
                    message = pickle.loads(conn.recv_bytes())
                except EOFError:  # ended without its final message: killed or crashed
                    process.join()
                    raise MixedModelsError(
                        f"a worker process of {name} ended with code {process.exitcode}"
                    ) from None
                if message is None:
                    open_workers.remove(worker)
                    break
                arrived(*message)

    # The collector must not walk (and so write to) every object this process holds: after
    # the fork each such write copies a shared page, in the worker and here, which cost a
    # fifth of a second per process. Objects that exist now are frozen until we are done.
    with settled_objects() as settle:
        try:
            for _ in range(jobs - 1):
                receive, send = ctx.Pipe(duplex=False)
                _widen(send)
                process = ctx.Process(target=work, args=(send,), daemon=True)
                process.start()
                send.close()
                workers.append((process, receive))
                open_workers.append((process, receive))
            while (k := take()) is not None:
                outcome = run(k)
                settle()
                arrived(k, outcome)
                if failed is not None and failed(outcome):
                    halt()
                collect(block=False)
            collect(block=True)
        finally:
            for worker in workers:
                process, conn = worker
                if worker in open_workers:  # only after an error here: stop it
                    process.terminate()
                process.join()
                conn.close()
    bad = [k for k, outcome in outcomes.items() if failed is not None and failed(outcome)]
    needed = range(count) if not bad else range(min(bad) + 1)
    missing = [k for k in needed if k not in outcomes]
    if missing:  # pragma: no cover - a worker died without reporting
        raise MixedModelsError(f"{name} lost {len(missing)} task(s) of results")
    return {k: outcomes[k] for k in needed}

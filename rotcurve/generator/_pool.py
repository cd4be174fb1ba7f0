"""Run shard tasks on local worker processes, with progress, errors and Ctrl-C.

A tiny process pool made for :func:`rotcurve.generator.batch.generate`:

* ``workers`` processes pull tasks from a queue and run ``func(task, report)``;
  ``report(rows)`` sends progress (curves done) back to the parent as it
  happens, so the parent can update a progress bar per block;
* the first error in any worker stops the run: the other workers are stopped
  and the exception is raised in the parent (with the worker's traceback as its
  cause);
* a worker that dies without a word (killed, out of memory) is detected from
  its exit code instead of hanging the parent forever;
* workers ignore SIGINT; on Ctrl-C (or any error) the parent kills them and
  re-raises; their half-written files have temporary names, which the caller
  removes (:func:`rotcurve.generator.batch.generate` does);
* a worker whose parent dies (``kill -9``) exits by itself instead of going on
  writing in the background.

Processes start with ``forkserver`` where the platform has it (``spawn``
elsewhere), never plain ``fork``: the parent may hold threads (a progress bar,
torch, Dask) that ``fork`` does not copy safely.  As with every
``multiprocessing`` program, a script that calls :func:`run_local` must guard
its entry point with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import os
import pickle
import queue
import signal
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from rotcurve.errors import RESUME, RotcurveError

__all__ = ["run_local", "start_method", "WorkerDiedError"]

#: Seconds between liveness checks of the workers while no message arrives.
_POLL_S = 0.2


class WorkerDiedError(RotcurveError, RuntimeError):
    """A worker process ended without reporting (killed, out of memory, crashed).

    Not a bug of the command but of its surroundings: the command line shows it
    as one line with exit status 2, as it does other errors meant for a person.
    """


class _RemoteTraceback(Exception):
    """Carries a worker's formatted traceback as the ``__cause__`` of its error."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return self.tb


def start_method() -> str:
    """The ``multiprocessing`` start method used: ``forkserver`` or ``spawn``."""
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


def _parent_sentinel() -> Any:
    parent = mp.parent_process()
    return None if parent is None else parent.sentinel


def _exit_if_orphaned(sentinel: Any) -> None:
    """Exit at once when the parent process is gone (checked between blocks and tasks)."""
    if sentinel is not None and multiprocessing.connection.wait([sentinel], timeout=0):
        os._exit(1)


def _watch_parent(sentinel: Any) -> None:
    """Exit this process as soon as the parent process is gone, even mid-block."""
    if sentinel is None:  # pragma: no cover - only in the main process
        return

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(1)  # the parent died: stop writing; a later --resume redoes the shard

    threading.Thread(target=watch, name="rotcurve-parent-watch", daemon=True).start()


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _worker_main(func: Callable[..., Any], tasks: Any, events: Any, wid: int) -> None:
    """Body of a worker process: run tasks until the ``None`` sentinel."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    sentinel = _parent_sentinel()
    _watch_parent(sentinel)

    def report(rows: int) -> None:
        _exit_if_orphaned(sentinel)
        events.put(("rows", wid, int(rows)))

    while True:
        _exit_if_orphaned(sentinel)
        task = tasks.get()
        if task is None:
            events.put(("exit", wid, None))
            return
        index = task[0]
        events.put(("start", wid, index))
        try:
            func(*task[1:], report=report)
        except Exception as exc:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            events.put(("error", wid, (index, _picklable(exc), tb)))
            return
        events.put(("done", wid, index))


def _stop(procs: Sequence[Any]) -> None:
    """Kill live workers at once (SIGKILL) and reap them.

    A worker may be anywhere, in HDF5's C code included, where no Python
    clean-up can run safely; it only ever writes to temporary files, which the
    caller removes afterwards.
    """
    for p in procs:
        if p.exitcode is None:
            p.kill()
    for p in procs:
        p.join()


def run_local(
    func: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    *,
    workers: int,
    on_rows: Callable[[int], None] | None = None,
    on_done: Callable[[Any], None] | None = None,
    preload: Sequence[str] = (),
) -> None:
    """Run ``func(*task[1:], report=...)`` for every task on ``workers`` processes.

    Parameters
    ----------
    func : callable
        A module-level (picklable) function ``func(*args, report)``;
        ``report(rows)`` is called by it to announce progress.
    tasks : sequence of tuple
        ``(index, *args)``; ``index`` names the task in errors and in
        ``on_done``.  Arguments must be picklable.
    workers : int, keyword-only
        Number of processes (>= 1); at most ``len(tasks)`` are started.
    on_rows : callable, keyword-only
        Called in the parent with each progress report (an int).
    on_done : callable, keyword-only
        Called in the parent with the index of each finished task.
    preload : sequence of str, keyword-only
        Modules the fork server imports once, so that each worker starts with
        them loaded (ignored with ``spawn``).

    Raises
    ------
    Exception
        The first exception raised by ``func`` in a worker (its traceback in
        the worker is the ``__cause__``).
    WorkerDiedError
        A worker process ended without finishing its task.
    KeyboardInterrupt
        On Ctrl-C, after the workers have been stopped.
    """
    if not tasks:
        return
    workers = max(1, min(int(workers), len(tasks)))
    ctx = mp.get_context(start_method())
    if preload and start_method() == "forkserver":
        ctx.set_forkserver_preload(list(preload))
    task_q = ctx.Queue()
    events = ctx.Queue()
    for task in tasks:
        task_q.put(task)
    for _ in range(workers):
        task_q.put(None)
    procs = [
        ctx.Process(
            target=_worker_main,
            args=(func, task_q, events, wid),
            name=f"rotcurve-worker-{wid}",
            daemon=True,
        )
        for wid in range(workers)
    ]
    current: dict[int, Any] = {}
    exited: set[int] = set()
    remaining = len(tasks)

    def handle(event: tuple[str, int, Any]) -> None:
        nonlocal remaining
        kind, wid, payload = event
        if kind == "rows":
            if on_rows is not None:
                on_rows(payload)
        elif kind == "start":
            current[wid] = payload
        elif kind == "done":
            current.pop(wid, None)
            remaining -= 1
            if on_done is not None:
                on_done(payload)
        elif kind == "exit":
            exited.add(wid)
        elif kind == "error":
            index, exc, tb = payload
            exc.__cause__ = _RemoteTraceback(f"\n(in worker, task {index})\n{tb}")
            raise exc

    def check_alive() -> None:
        dead = [w for w, p in enumerate(procs) if p.exitcode is not None and w not in exited]
        if not dead:
            return
        # A worker that exits normally says so first; read what is still in flight.
        while True:
            try:
                handle(events.get(timeout=_POLL_S))
            except queue.Empty:
                break
        for w in dead:
            if w not in exited:
                p = procs[w]
                task = current.get(w)
                what = f"while running task {task}" if task is not None else "unexpectedly"
                raise WorkerDiedError.both(
                    "worker process {pid} ended {what} (exit code {code}; killed or out of memory?); "
                    "finished work is kept: rerun with {r}",
                    pid=p.pid, what=what, code=p.exitcode, r=RESUME,
                )

    try:
        for p in procs:
            p.start()
        while remaining:
            try:
                event = events.get(timeout=_POLL_S)
            except queue.Empty:
                check_alive()
                continue
            handle(event)
        for p in procs:
            p.join()
    finally:
        _stop(procs)
        for q in (task_q, events):
            q.cancel_join_thread()
            q.close()

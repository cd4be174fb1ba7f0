"""Run shard tasks on an existing Dask distributed cluster.

Dask is optional (``pip install 'rotcurve[dask]'``) and imported only here,
only when a scheduler is asked for.  Each task writes its own shard file from
the Dask worker, so the output folder must be on a filesystem that the workers
and this process share (the same path on every machine).  Progress is
reported per finished shard.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from rotcurve.errors import ConfigError
from rotcurve.validation import first_line

__all__ = ["connect", "run_dask", "DASK_MISSING"]

#: The message when Dask is not installed.
DASK_MISSING = (
    "running on a Dask cluster (--scheduler) needs dask.distributed; "
    "install it with: pip install 'rotcurve[dask]'"
)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(DASK_MISSING) from None
    return distributed


def connect(scheduler: Any, *, timeout: float) -> tuple[Any, bool]:
    """A Dask client for ``scheduler``.

    Parameters
    ----------
    scheduler : str or distributed.Client
        A scheduler address (``tcp://host:8786``, ``host:8786``), or an existing
        client, which is used as is.
    timeout : float, keyword-only
        Seconds to wait for the scheduler.

    Returns
    -------
    client : distributed.Client
    owned : bool
        Whether the caller must close the client.

    Raises
    ------
    ConfigError
        Dask is missing, or the scheduler cannot be reached in time.
    """
    if not isinstance(scheduler, str):
        if hasattr(scheduler, "submit") and hasattr(scheduler, "cancel"):
            return scheduler, False
        raise ConfigError(
            f"scheduler must be an address such as 'tcp://host:8786' or a "
            f"distributed.Client, got {type(scheduler).__name__}"
        )
    address = scheduler.strip()
    if not address:
        raise ConfigError("the Dask scheduler address is empty; give one such as tcp://host:8786")
    distributed = _distributed()
    try:
        # A malformed address is refused before a Client exists: a Client that fails half-way
        # through its constructor prints a traceback from its finaliser at exit.
        from distributed.comm import resolve_address

        resolve_address(address)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"the Dask scheduler address {address!r} is malformed ({first_line(exc)}); "
            "give one such as tcp://host:8786"
        ) from None
    try:
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = first_line(exc)
        raise ConfigError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({reason}); "
            "check the address and that the scheduler is running"
        ) from None
    return client, True


#: Seconds without any worker in the cluster before a note says the run is waiting.
NO_WORKERS_NOTE_S = 30.0


def _completed(done: Any, client: Any, *, poll_s: float = 0.5) -> Any:
    """Yield the futures of ``done`` (an ``as_completed``) as they finish.

    While none is ready it checks the cluster: with no worker at all for
    :data:`NO_WORKERS_NOTE_S` (all died, or an adaptive cluster that has not
    scaled up yet) it says once, on the ``rotcurve.generator`` logger, that the
    run is waiting for workers, instead of waiting without a word.
    """
    import logging

    log = logging.getLogger("rotcurve.generator")
    empty_since: float | None = None
    said = False
    while not done.is_empty():
        if done.has_ready():
            yield from done.next_batch(block=False)
            continue
        time.sleep(poll_s)
        try:
            n_workers = len(client.nthreads())
        except Exception:  # the scheduler itself is gone: as_completed reports that
            n_workers = 1
        if n_workers:
            empty_since, said = None, False
            continue
        empty_since = empty_since or time.monotonic()
        if not said and time.monotonic() - empty_since >= NO_WORKERS_NOTE_S:
            log.warning(
                "the Dask cluster at %s has had no workers for %.0f s; waiting for some "
                "(Ctrl-C stops; finished work is kept)",
                client.scheduler.address, NO_WORKERS_NOTE_S,
            )
            said = True


def run_dask(
    func: Callable[..., int],
    tasks: Sequence[tuple[Any, ...]],
    *,
    client: Any,
    on_rows: Callable[[int], None] | None = None,
    on_done: Callable[[Any], None] | None = None,
) -> None:
    """Run ``func(*task[1:])`` for every task on the cluster of ``client``.

    Parameters
    ----------
    func : callable
        Importable on the workers (a module-level function of rotcurve); it
        returns the number of curves it wrote.
    tasks : sequence of tuple
        ``(index, *args)``.
    client : distributed.Client, keyword-only
    on_rows, on_done : callable, keyword-only
        Called in this process with the curves of each finished task and with
        its index.

    Raises
    ------
    Exception
        The first task error (the others are cancelled).
    KeyboardInterrupt
        On Ctrl-C, after cancelling the pending tasks (tasks already running
        on a worker finish their shard, which is written atomically).
    """
    if not tasks:
        return
    distributed = _distributed()
    token = uuid.uuid4().hex[:12]
    futures = {}
    for task in tasks:
        index = task[0]
        fut = client.submit(func, *task[1:], key=f"rotcurve-shard-{index}-{token}", pure=False, retries=0)
        futures[fut] = index
    try:
        for fut in _completed(distributed.as_completed(list(futures), loop=client.loop), client):
            index = futures[fut]
            if fut.status == "error":
                exc = fut.exception()
                tb = fut.traceback()
                if tb is not None:
                    raise exc.with_traceback(tb)
                raise exc
            rows = fut.result()
            if on_rows is not None:
                on_rows(int(rows))
            if on_done is not None:
                on_done(index)
    except BaseException:
        client.cancel(list(futures))
        raise

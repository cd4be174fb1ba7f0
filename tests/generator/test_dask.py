"""generate() on a Dask distributed cluster: same bytes as local runs; clear errors."""

from __future__ import annotations

import hashlib
import socket
import sys
from pathlib import Path

import pytest

from rotcurve.errors import ConfigError
from rotcurve.generator.batch import generate, shards_dir

distributed = pytest.importorskip("distributed")

N, SIZE, SEED = 1300, 250, 3
RADII = "0.5:40:12"


def digests(out: Path) -> dict[str, str]:
    files = [out] + (sorted(shards_dir(out).iterdir()) if shards_dir(out).exists() else [])
    return {str(p.relative_to(out.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def small(out: Path, **kw) -> Path:
    return generate(N, out=out, seed=SEED, shard_size=SIZE, radii=RADII, progress=False, **kw)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


def test_dask_cluster_writes_the_same_bytes(tmp_path, cluster):
    for name in ("local", "dask", "client"):
        (tmp_path / name).mkdir()
    local = digests(small(tmp_path / "local" / "x.h5", workers=1))
    on_dask = digests(small(tmp_path / "dask" / "x.h5", scheduler=cluster.scheduler_address))
    assert len(local) == 8 and on_dask == local
    # An existing client is used as is (and left open).
    with distributed.Client(cluster, set_as_default=False) as client:
        assert digests(small(tmp_path / "client" / "x.h5", scheduler=client)) == local
        assert client.status == "running"


def test_dask_task_errors_reach_the_caller(cluster):
    from rotcurve.generator._dask import run_dask

    with distributed.Client(cluster, set_as_default=False) as client:
        with pytest.raises(RuntimeError, match=r"shard \d failed"):
            run_dask(_raise_for_shard, [(k, k) for k in range(3)], client=client)


def _raise_for_shard(k):
    raise RuntimeError(f"shard {k} failed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(ConfigError, match=rf"cannot reach the Dask scheduler at {address} within 1 s"):
        generate(10, out=tmp_path / "x.h5", scheduler=address, scheduler_timeout=1, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_missing_dask_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ConfigError, match=r"pip install 'rotcurve\[dask\]'"):
        generate(10, out=tmp_path / "x.h5", scheduler="tcp://127.0.0.1:8786", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_scheduler_must_be_an_address_or_client(tmp_path):
    with pytest.raises(ConfigError, match="scheduler must be an address"):
        generate(10, out=tmp_path / "x.h5", scheduler=8786, progress=False)
    with pytest.raises(ConfigError, match="address is empty"):
        generate(10, out=tmp_path / "x.h5", scheduler="  ", progress=False)


@pytest.mark.filterwarnings("ignore:Port .* is already in use")  # distributed's start-up note
def test_a_cluster_without_workers_is_waited_for_with_a_note(tmp_path, monkeypatch, caplog):
    # all workers died, or an adaptive cluster has not scaled up: say so, then go on when one comes
    import logging
    import threading

    from rotcurve.generator import _dask

    monkeypatch.setattr(_dask, "NO_WORKERS_NOTE_S", 0.5)
    with distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as empty:
        noted = threading.Event()

        class Seen(logging.Handler):
            def emit(self, record):
                if "has had no workers" in record.getMessage():
                    noted.set()

        handler = Seen()
        logging.getLogger("rotcurve.generator").addHandler(handler)
        try:
            def scale_when_noted():
                if noted.wait(60):
                    empty.scale(1)

            helper = threading.Thread(target=scale_when_noted, daemon=True)
            helper.start()
            with caplog.at_level(logging.WARNING, logger="rotcurve.generator"):
                out = small(tmp_path / "w.h5", scheduler=empty.scheduler_address)
            helper.join(5)
        finally:
            logging.getLogger("rotcurve.generator").removeHandler(handler)
    assert noted.is_set() and out.exists()
    said = [r.getMessage() for r in caplog.records if "no workers" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"the Dask cluster at {empty.scheduler_address} has had no workers")

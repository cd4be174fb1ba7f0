"""generate(): sharding, seeding, layout, content, reproducibility, overwrite, bad input."""

from __future__ import annotations

import hashlib
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from rotcurve.errors import ConfigError, DataError, OutputExistsError
from rotcurve.generator import LogUniformPrior, RadiiSpec, ReferencePrior
from rotcurve.generator.batch import (
    DEFAULT_SHARD_SIZE,
    GenerateRequest,
    generate,
    make_request,
    shard_bounds,
    shard_path,
    shard_rng,
    shards_dir,
)
from rotcurve.io import open_dataset, read_dataset
from rotcurve.units import G

# A small, quick request: 3 shards of 400, 400 and 150 curves on 12 radii.
N, SIZE, SEED = 950, 400, 11
RADII = "0.5:40:12"


def digests(out: Path) -> dict[str, str]:
    """sha256 of every file of an output (the file and its shard folder), by relative name."""
    files = [out] + (sorted(shards_dir(out).iterdir()) if shards_dir(out).exists() else [])
    return {
        str(p.relative_to(out.parent)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files
        if p.exists()
    }


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def small(out: Path, *, n: int = N, **kw) -> Path:
    """generate() with the small request's settings (overridable)."""
    opts = {"seed": SEED, "shard_size": SIZE, "radii": RADII, "workers": 1, "progress": False}
    return generate(n, out=out, **(opts | kw))


# -- sharding and seeding --------------------------------------------------------------------
def test_shard_stream_is_the_kth_child_of_the_seed():
    for seed, k in [(0, 0), (7, 3), (2**40 + 1, 12)]:
        expected = np.random.default_rng(np.random.SeedSequence(seed).spawn(k + 1)[k]).random(6)
        np.testing.assert_array_equal(shard_rng(seed, k).random(6), expected)
    # Different shards, different streams.
    assert shard_rng(1, 0).random() != shard_rng(1, 1).random()


@pytest.mark.parametrize(("n", "size"), [(1, 1), (10, 3), (950, 400), (1000, 1000), (7, 100)])
def test_shards_cover_every_row_once(n, size):
    k_max = math.ceil(n / size)
    rows = []
    for k in range(k_max):
        a, b = shard_bounds(n, size, k)
        assert a == k * size and b == min((k + 1) * size, n)
        rows.extend(range(a, b))
    assert rows == list(range(n))
    with pytest.raises(IndexError):
        shard_bounds(n, size, k_max)


def test_request_counts_shards():
    req = make_request(N, shard_size=SIZE)
    assert req.n_shards == 3
    assert [req.bounds(k) for k in range(3)] == [(0, 400), (400, 800), (800, 950)]
    assert not req.differences(req.to_dict())
    other = req.to_dict() | {"seed": 5}
    assert req.differences(other) == ["seed 5 there, 0 now"]
    assert make_request(10).shard_size == DEFAULT_SHARD_SIZE


def test_a_shard_is_written_in_blocks_of_whole_chunks(tmp_path):
    from rotcurve.generator._shard import block_rows, write_shard
    from rotcurve.io.format import chunk_rows

    request = make_request(40_000, shard_size=40_000, radii="1:10:64").to_dict()
    reports: list[int] = []
    assert write_shard(request, 0, str(tmp_path / "s.h5"), report=reports.append) == 40_000
    step = block_rows(40_000, 64, "float32")
    assert step % chunk_rows(40_000, 64, 4) == 0 and step < 40_000
    assert reports == [step] * (40_000 // step) + ([40_000 % step] if 40_000 % step else [])
    assert read_dataset(tmp_path / "s.h5").n == 40_000


# -- content -----------------------------------------------------------------------------------
def _nfw_v(r, Mh, c, H0, Delta):
    """NFW circular velocity from its closed form (km/s), independent of rotcurve.physics."""
    h = H0 / 1e3  # km/s/kpc
    rho_c = 3 * h**2 / (8 * math.pi * G)
    r_delta = (3 * Mh / (4 * math.pi * Delta * rho_c)) ** (1 / 3)

    def f(x):
        return np.log1p(x) - x / (1 + x)

    return np.sqrt(G * Mh * f(c * r / r_delta) / f(c) / r)


def test_content_is_the_prior_and_physics_of_each_shard(tmp_path):
    H0, Delta = 67.4, 100.0
    out = small(tmp_path / "c.h5", H0=H0, Delta=Delta, dtype="float64")
    data = read_dataset(out, components=True)
    radii = RadiiSpec(rmin=0.5, rmax=40.0, n=12).grid()
    np.testing.assert_array_equal(data.radii, radii)
    assert data.v_circ.shape == (N, 12) and data.v_circ.dtype == np.float64
    prior = ReferencePrior()
    for k in range(3):
        a, b = shard_bounds(N, SIZE, k)
        rng = np.random.default_rng(np.random.SeedSequence(SEED).spawn(3)[k])
        expected = prior.sample(b - a, rng)
        for name in ("Md", "Rd", "Mh", "c"):
            np.testing.assert_array_equal(data.params[name].to_numpy()[a:b], expected[name])
    p = data.params
    # Halo: the closed form, with the H0 and Delta that were asked for.
    v_halo = _nfw_v(radii[None, :], p["Mh"].to_numpy()[:, None], p["c"].to_numpy()[:, None], H0, Delta)
    np.testing.assert_allclose(data.v_halo, v_halo, rtol=1e-10)
    # The potentials add.
    np.testing.assert_allclose(data.v_circ**2, data.v_disc**2 + data.v_halo**2, rtol=1e-12)
    # Disc: Freeman's v^2 = 4 pi G Sigma0 Rd y^2 [I0 K0 - I1 K1] at one radius, y = r / (2 Rd).
    from scipy.special import i0, i1, k0, k1

    y = radii[5] / (2 * p["Rd"].to_numpy())
    v2 = 2 * G * p["Md"].to_numpy() / p["Rd"].to_numpy() * y**2 * (i0(y) * k0(y) - i1(y) * k1(y))
    np.testing.assert_allclose(data.v_disc[:, 5], np.sqrt(v2), rtol=1e-8)


def test_float32_storage_rounds_the_float64_curves(tmp_path):
    a = read_dataset(small(tmp_path / "a.h5", dtype="float64"), components=True)
    b = read_dataset(small(tmp_path / "b.h5"), components=True)
    assert b.v_circ.dtype == np.float32
    for name in ("v_circ", "v_disc", "v_halo"):
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name).astype(np.float32))
    np.testing.assert_array_equal(a.params.to_numpy(), b.params.to_numpy())


def test_no_components(tmp_path):
    out = small(tmp_path / "v.h5", components=False)
    with open_dataset(out) as ds:
        assert ds.v_disc is None and ds.v_halo is None and ds.has_params
        full = read_dataset(small(tmp_path / "full.h5"))
        np.testing.assert_array_equal(ds.v_circ[:], full.v_circ)


def test_loguniform_prior_and_prior_file(tmp_path):
    toml = tmp_path / "p.toml"
    toml.write_text(
        'kind = "loguniform"\nMd = [1e9, 1e10]\nRd = [1.0, 2.0]\nMh = [1e11, 1e12]\nc = [5.0, 6.0]\n'
    )
    out = small(tmp_path / "l.h5", prior=toml, n=300)
    with open_dataset(out) as ds:
        assert ds.attrs["prior"] == LogUniformPrior(
            Md=(1e9, 1e10), Rd=(1.0, 2.0), Mh=(1e11, 1e12), c=(5.0, 6.0)
        ).to_dict()
        p = ds.params
        assert p["Md"].between(1e9, 1e10).all() and p["c"].between(5.0, 6.0).all()


# -- layout and records --------------------------------------------------------------------
def test_sharded_layout_and_records(tmp_path):
    out = small(tmp_path / "s.h5")
    assert listing(tmp_path) == [
        "s.h5",
        "s.h5.shards",
        "s.h5.shards/request.json",
        "s.h5.shards/shard-00000.h5",
        "s.h5.shards/shard-00001.h5",
        "s.h5.shards/shard-00002.h5",
    ]
    request = make_request(N, seed=SEED, shard_size=SIZE, radii=RADII).to_dict()
    with open_dataset(out) as ds:
        a = ds.attrs
        assert ds.n == N and len(ds.shards) == 3
        assert a["seed"] == SEED and a["shard_size"] == SIZE and a["n_total"] == N
        assert a["n_shards"] == 3 and a["H0"] == 70.0 and a["Delta"] == 200.0
        assert a["prior"] == ReferencePrior().to_dict()
        assert a["radii_spec"] == RadiiSpec(rmin=0.5, rmax=40.0, n=12).to_dict()
        assert a["generate_request"] == request
        master = ds.v_circ[:]
    parts = []
    for k in range(3):
        with open_dataset(shard_path(out, k)) as ds:
            assert ds.attrs["shard_index"] == k and ds.attrs["row_start"] == k * SIZE
            assert ds.attrs["generate_request"] == request
            parts.append(ds.v_circ[:])
    np.testing.assert_array_equal(master, np.concatenate(parts))


def test_one_shard_is_one_self_contained_file(tmp_path):
    out = small(tmp_path / "one.h5", n=SIZE)
    assert listing(tmp_path) == ["one.h5"]
    with open_dataset(out) as ds:
        assert ds.n == SIZE and not ds.shards and ds.attrs["n_shards"] == 1
    # It holds exactly the first shard of the bigger request.
    big = small(tmp_path / "big.h5")
    np.testing.assert_array_equal(read_dataset(out).v_circ, read_dataset(shard_path(big, 0)).v_circ)


def test_number_of_workers_does_not_change_a_byte(tmp_path):
    runs = {}
    for workers in (1, 2, 3):
        folder = tmp_path / f"w{workers}"
        folder.mkdir()
        runs[workers] = digests(small(folder / "x.h5", workers=workers, n=1300, shard_size=250))
    assert len(runs[1]) == 1 + 1 + 6  # master, request.json, 6 shards
    assert runs[1] == runs[2] == runs[3]


def test_returns_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = small(Path("rel.h5"), n=10)
    assert out == tmp_path / "rel.h5" and out.is_absolute()


# -- existing outputs and --overwrite -------------------------------------------------------
def test_existing_output_is_an_error_naming_both_flags(tmp_path):
    out = small(tmp_path / "e.h5")
    before = digests(out)
    # Python callers read the arguments, the command line its flags (issue 7 F).
    with pytest.raises(OutputExistsError, match="resume=True.*overwrite=True") as info:
        small(out)
    assert "--" not in str(info.value)
    assert re.search("--resume.*--overwrite", info.value.cli_message)
    assert digests(out) == before
    # A leftover shard folder alone (an interrupted run) is refused too.
    out.unlink()
    with pytest.raises(OutputExistsError, match="interrupted run.*resume=True.*overwrite=True") as info:
        small(out)
    assert re.search("interrupted run.*--resume.*--overwrite", info.value.cli_message)


@pytest.mark.parametrize(
    ("old_n", "new_n"), [(300, 350), (N, 350), (300, N), (N, 1200)], ids=["1to1", "Kto1", "1toK", "KtoK"]
)
def test_overwrite_gives_a_fresh_run(tmp_path, old_n, new_n):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    small(tmp_path / "a" / "o.h5", n=old_n, seed=1)
    small(tmp_path / "a" / "o.h5", n=new_n, overwrite=True)
    small(tmp_path / "b" / "o.h5", n=new_n)
    assert digests(tmp_path / "a" / "o.h5") == digests(tmp_path / "b" / "o.h5")
    assert listing(tmp_path / "a") == listing(tmp_path / "b")


@pytest.mark.parametrize("new_n", [350, N], ids=["to-one-file", "to-shards"])
def test_overwrite_keeps_an_old_single_file_until_the_new_output_is_complete(tmp_path, monkeypatch, new_n):
    from rotcurve.generator import batch

    out = small(tmp_path / "k.h5", n=300, seed=1)
    old = out.read_bytes()
    shards_dir(out).mkdir()  # debris of an earlier interrupted run
    (shards_dir(out) / ".shard-00000.h5.x.tmp").write_bytes(b"")
    seen = []

    def spy(*args, **kwargs):
        seen.append(out.read_bytes() == old)  # the old data set is still there, intact
        return write_shard(*args, **kwargs)

    write_shard = batch.write_shard
    monkeypatch.setattr(batch, "write_shard", spy)
    small(out, n=new_n, overwrite=True)
    assert seen and all(seen)
    with open_dataset(out) as ds:
        assert ds.n == new_n and ds.attrs["seed"] == SEED


def test_overwrite_refuses_to_delete_foreign_files(tmp_path):
    out = small(tmp_path / "f.h5")
    (shards_dir(out) / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="notes.txt"):
        small(out, overwrite=True)
    assert (shards_dir(out) / "notes.txt").exists() and out.exists()


def test_leftover_temporary_files_are_removed(tmp_path):
    stray = [tmp_path / ".t.h5.abc123.tmp"]
    for p in stray:
        p.write_bytes(b"half")
    out = small(tmp_path / "t.h5")
    assert not any(p.exists() for p in stray)
    assert not [p for p in tmp_path.rglob("*.tmp")]
    assert out.exists()


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be an integer >= 1"),
        ({"n": -3}, "n must be an integer >= 1"),
        ({"n": 10.5}, "n must be an integer"),
        ({"n": "10"}, "n must be an integer"),
        ({"n": True}, "n must be an integer"),
        ({"shard_size": 0}, "shard_size must be an integer >= 1"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"workers": 0}, "workers must be an integer >= 1"),
        ({"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "not both"),
        ({"overwrite": True, "resume": True}, "not both"),
        ({"H0": -70.0}, "H0 must be a positive"),
        ({"Delta": float("nan")}, "Delta must be a positive finite"),
        ({"dtype": "float16"}, "dtype must be 'float32' or 'float64'"),
        ({"compression": "zip"}, "unknown compression"),
        ({"prior": "no-such-prior"}, "neither a known kind"),
        ({"prior": {"kind": "loguniform", "Md": [1e10, 1e9]}}, "inverted"),
        ({"radii": "10:1:5"}, "must be below"),
        ({"radii": "1:2"}, "neither RMIN:RMAX:N"),
        ({"scheduler_timeout": 0}, "scheduler_timeout"),
    ],
)
def test_bad_settings_fail_before_any_file(tmp_path, kwargs, message):
    opts = {"n": 100, "out": tmp_path / "bad.h5", "progress": False} | kwargs
    with pytest.raises(ConfigError, match=message):
        generate(opts.pop("n"), **opts)
    assert listing(tmp_path) == []


def test_malformed_prior_toml(tmp_path):
    toml = tmp_path / "p.toml"
    toml.write_text("kind = 'reference'\nh = [unclosed\n")
    with pytest.raises(ConfigError, match="malformed TOML"):
        generate(10, out=tmp_path / "x.h5", prior=toml, progress=False)
    toml.write_text("kind = 'reference'\nno_such_key = 1\n")
    with pytest.raises(ConfigError, match="no_such_key"):
        generate(10, out=tmp_path / "x.h5", prior=toml, progress=False)
    assert listing(tmp_path) == ["p.toml"]


def test_unwritable_outputs_fail_up_front(tmp_path):
    afile = tmp_path / "plain.txt"
    afile.write_text("x")
    # Issue 7 G: was "is not a folder"; now names the file for what it is.
    with pytest.raises(DataError, match="plain.txt is a file, not a folder"):
        generate(10, out=afile / "x.h5", progress=False)
    (tmp_path / "adir").mkdir()
    with pytest.raises(DataError, match="is a folder"):
        generate(10, out=tmp_path / "adir", progress=False)
    assert listing(tmp_path) == ["adir", "plain.txt"]


def test_missing_output_folders_are_created(tmp_path):
    # Issue 7 G: was "folder ... does not exist; create it first".
    out = generate(10, out=tmp_path / "missing" / "deeper" / "x.h5", progress=False)
    assert out.is_file() and sorted(p.name for p in out.parent.iterdir()) == ["x.h5"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write in read-only folders")
def test_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(DataError, match="cannot write"):
            generate(10, out=ro / "x.h5", progress=False)
    finally:
        ro.chmod(0o700)


def test_request_is_a_strict_config():
    from rotcurve.serialization import from_dict

    req = make_request(5)
    assert from_dict(GenerateRequest, req.to_dict()) == req
    with pytest.raises(ConfigError, match="unknown setting"):
        from_dict(GenerateRequest, req.to_dict() | {"extra": 1})

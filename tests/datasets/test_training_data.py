"""load_training_data: curve files (in memory and streamed) and MNIST folders."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from rotcurve.datasets import batches, load_training_data, split_indices
from rotcurve.datasets import streaming as streaming_module
from rotcurve.datasets import loading as training_module
from rotcurve.datasets.normaliser import CurveNormaliser
from rotcurve.errors import ConfigError, DataError, DeviceError
from rotcurve.io import write_dataset, write_virtual


# ---------------------------------------------------------------- in memory
def test_curves_are_split_normalised_and_invertible(curve_file):
    path, radii, v, params = curve_file(n=400, seed=1)
    data = load_training_data(path, seed=5)
    assert data.kind == "curves" and not data.streaming
    assert data.input_dim == 12 and data.labels is None
    ref = split_indices(400, 5)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(data.indices[name], ref[name])
        x = data.split(name)
        assert x.dtype == torch.float32 and x.device.type == "cpu"
        assert x.shape == (len(ref[name]), 12)
        # independent reference: float64 numpy on the file's rows
        logv = np.log10(v[ref[name]].astype(np.float64))
        expected = (logv - np.log10(v[ref["train"]].astype(np.float64)).mean(0)) / np.log10(
            v[ref["train"]].astype(np.float64)
        ).std(0)
        np.testing.assert_allclose(x.numpy(), expected, atol=2e-6)
        back = data.normaliser.inverse(x)
        np.testing.assert_allclose(back.numpy(), v[ref[name]], rtol=1e-6)
        frame = data.params[name]
        np.testing.assert_array_equal(frame.index.to_numpy(), ref[name])
        np.testing.assert_array_equal(frame["Md"].to_numpy(), params["Md"][ref[name]])
    np.testing.assert_allclose(data.train.mean(0).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(data.train.std(0, unbiased=False).numpy(), 1.0, rtol=1e-5)
    assert data.meta["radii"] == pytest.approx(radii.tolist(), rel=1e-15)
    assert data.meta["n_total"] == 400 and data.meta["seed"] == 5
    assert data.meta["sizes"] == {"train": 320, "val": 40, "test": 40}
    assert data.meta["file_attrs"]["seed"] == 1
    data.normaliser.check_compatible(radii)
    assert json.loads(json.dumps(data.meta)) == data.meta


def test_normaliser_is_fitted_on_the_training_rows_only(curve_file):
    path, radii, v, _ = curve_file(n=300)
    before = load_training_data(path, seed=2)
    idx = before.indices
    with h5py.File(path, "r+") as f:  # change every validation and test curve
        rows = np.concatenate([idx["val"], idx["test"]])
        f["v_circ"][np.sort(rows)] = v[np.sort(rows)] * 7.5
    after = load_training_data(path, seed=2)
    np.testing.assert_array_equal(after.normaliser.mean, before.normaliser.mean)
    np.testing.assert_array_equal(after.normaliser.std, before.normaliser.std)
    np.testing.assert_array_equal(after.train.numpy(), before.train.numpy())
    np.testing.assert_allclose(after.val.numpy(), before.val.numpy() + np.log10(7.5) / before.normaliser.std, atol=1e-5)
    with h5py.File(path, "r+") as f:  # a training row does change it
        f["v_circ"][int(idx["train"][0])] = v[idx["train"][0]] * 7.5
    changed = load_training_data(path, seed=2)
    assert not np.allclose(changed.normaliser.mean, before.normaliser.mean, rtol=0, atol=1e-9)


def test_different_seeds_give_different_splits(curve_file):
    path, *_ = curve_file(n=200)
    a = load_training_data(path, seed=0)
    b = load_training_data(path, seed=1)
    assert not np.array_equal(a.indices["test"], b.indices["test"])
    c = load_training_data(path, seed=0, fractions=(0.5, 0.25, 0.25))
    assert c.meta["sizes"] == {"train": 100, "val": 50, "test": 50}


@pytest.mark.parametrize("bad, row", [(0.0, 17), (-5.0, 123), (np.nan, 299), (np.inf, 0)])
def test_bad_velocity_in_the_file_names_the_row(curve_file, bad, row):
    path, _, v, _ = curve_file(n=300)
    with h5py.File(path, "r+") as f:
        f["v_circ"][row, 3] = bad
    for in_memory in (True, False):
        with pytest.raises(DataError, match=rf"curves.h5: row {row} has v_circ = .* at radius index 3"):
            load_training_data(path, in_memory=in_memory)


def test_file_without_params_and_a_virtual_multi_shard_file(tmp_path, curve_file):
    path, radii, v, _ = curve_file(n=300, params=False)
    single = load_training_data(path, seed=3)
    assert single.params is None
    write_dataset(tmp_path / "a.h5", radii=radii, v_circ=v[:120])
    write_dataset(tmp_path / "b.h5", radii=radii, v_circ=v[120:])
    write_virtual(tmp_path / "master.h5", [tmp_path / "a.h5", tmp_path / "b.h5"])
    master = load_training_data(tmp_path / "master.h5", seed=3)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(master.split(name).numpy(), single.split(name).numpy())
    streamed = load_training_data(tmp_path / "master.h5", seed=3, in_memory=False)
    got = torch.cat(list(streamed.batches("test", 7, shuffle=False))).numpy()
    np.testing.assert_allclose(got, single.test.numpy(), atol=2e-6)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"fractions": (0.9, 0.2, 0.1)}, ConfigError, "sum to 1"),
        ({"seed": -2}, ConfigError, "seed"),
        ({"in_memory": "yes"}, ConfigError, "in_memory"),
        ({"device": "cuda:7" if torch.cuda.is_available() else "cuda"}, DeviceError, "CUDA"),
        ({"device": "tpu"}, DeviceError, "device"),
    ],
)
def test_bad_options(curve_file, kwargs, error, message):
    path, *_ = curve_file(n=50)
    with pytest.raises(error, match=message):
        load_training_data(path, **kwargs)


def test_bad_sources(tmp_path, curve_file):
    with pytest.raises(DataError, match="no such file"):
        load_training_data(tmp_path / "missing.h5")
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(DataError, match="not a rotcurve dataset"):
        load_training_data(tmp_path / "foreign.h5")
    path, *_ = curve_file(n=5)
    with pytest.raises(DataError, match="too few rows"):
        load_training_data(path)
    with pytest.raises(ConfigError, match="mnist:DIR"):
        load_training_data("mnist:")


def test_batches_of_a_tensor_cover_each_row_once_in_a_seeded_order(curve_file):
    path, *_ = curve_file(n=300)
    data = load_training_data(path)
    epoch0 = list(data.batches("train", 64, epoch=0))
    assert [len(b) for b in epoch0] == [64, 64, 64, 48]
    rows = torch.cat(epoch0)
    order = np.lexsort(rows.numpy().T)
    np.testing.assert_array_equal(rows.numpy()[order], data.train.numpy()[np.lexsort(data.train.numpy().T)])
    again = torch.cat(list(batches(data.train, 64, seed=0, epoch=0)))
    assert torch.equal(again, rows)
    other = torch.cat(list(data.batches("train", 64, epoch=1)))
    assert not torch.equal(other, rows)
    assert [len(b) for b in data.batches("train", 64, drop_last=True)] == [64] * 3
    plain = torch.cat(list(data.batches("val", 16, shuffle=False)))
    assert torch.equal(plain, data.val)
    with pytest.raises(ConfigError, match="batch_size"):
        next(data.batches("train", 0))


# ---------------------------------------------------------------- streaming
@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 64 rows (x 12 radii x 4 bytes) and a shuffle buffer of 100 rows."""
    monkeypatch.setattr(streaming_module, "BLOCK_BYTES", 64 * 12 * 4)
    monkeypatch.setattr(streaming_module, "BUFFER_BYTES", 100 * 12 * 4)


def test_streaming_gives_the_same_normaliser_and_rows(curve_file, small_blocks):
    path, radii, v, _ = curve_file(n=1000, seed=3)
    mem = load_training_data(path, seed=4)
    stream = load_training_data(path, seed=4, in_memory=False)
    assert stream.streaming and stream.meta["in_memory"] is False
    assert stream.train.shape == mem.train.shape and len(stream.val) == len(mem.val)
    np.testing.assert_allclose(stream.normaliser.mean, mem.normaliser.mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(stream.normaliser.std, mem.normaliser.std, rtol=1e-10)
    for name in ("train", "val", "test"):
        got = torch.cat(list(stream.batches(name, 50, shuffle=False)))
        assert got.dtype == torch.float32
        np.testing.assert_allclose(got.numpy(), mem.split(name).numpy(), atol=1e-6)


def test_streaming_visits_every_training_row_exactly_once_per_epoch(curve_file, small_blocks):
    n = 1000
    path, *_ = curve_file(n=n, row_ids=True)
    data = load_training_data(path, seed=8, in_memory=False)
    orders = []
    for epoch in range(3):
        seen = []
        sizes = []
        for x in data.batches("train", 37, epoch=epoch):
            sizes.append(len(x))
            v = data.normaliser.inverse(x.double())
            seen.append(np.rint(v[:, 0].numpy()).astype(int) - 1)
        ids = np.concatenate(seen)
        assert sorted(ids.tolist()) == data.indices["train"].tolist()
        assert all(s == 37 for s in sizes[:-1]) and 0 < sizes[-1] <= 37
        orders.append(ids)
    assert not np.array_equal(orders[0], orders[1])
    # far from file order: the rows are shuffled across blocks
    assert abs(np.corrcoef(orders[0], np.arange(len(orders[0])))[0, 1]) < 0.3
    again = np.concatenate([
        np.rint(data.normaliser.inverse(x.double())[:, 0].numpy()).astype(int) - 1
        for x in data.train.iter_batches(37, seed=8, epoch=1)
    ])
    np.testing.assert_array_equal(again, orders[1])
    gen = torch.Generator().manual_seed(3)
    via_generator = torch.cat(list(data.train.iter_batches(100, generator=gen)))
    assert via_generator.shape == data.train.shape
    dropped = list(data.train.iter_batches(300, drop_last=True))
    assert [len(b) for b in dropped] == [300, 300]


def test_auto_streams_when_the_set_does_not_fit(curve_file, monkeypatch):
    path, *_ = curve_file(n=100)
    monkeypatch.setattr(training_module, "fits_in_memory", lambda nbytes, device: False)
    assert load_training_data(path).streaming
    assert not load_training_data(path, in_memory=True).streaming
    monkeypatch.setattr(training_module, "fits_in_memory", lambda nbytes, device: True)
    assert not load_training_data(path).streaming


def test_normaliser_of_a_run_checks_a_new_file(tmp_path, curve_file):
    path, radii, *_ = curve_file(n=100)
    data = load_training_data(path)
    state = data.normaliser.state_dict()
    other_radii = np.geomspace(0.5, 40.0, 13)
    write_dataset(tmp_path / "other.h5", radii=other_radii, v_circ=np.ones((3, 13)))
    other = load_training_data(tmp_path / "other.h5", fractions=(1.0, 0.0, 0.0))
    restored = CurveNormaliser.from_state(state)
    restored.check_compatible(data.meta["radii"])
    with pytest.raises(DataError, match="other.h5 has 13 radii but the model was trained on 12 radii"):
        restored.check_compatible(other.meta["radii"], source=str(tmp_path / "other.h5"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_curves_on_the_gpu(curve_file, small_blocks):
    path, *_ = curve_file(n=500)
    mem = load_training_data(path, device="cuda")
    assert mem.train.device.type == "cuda"
    stream = load_training_data(path, device="cuda", in_memory=False)
    x = next(iter(stream.batches("train", 64)))
    assert x.device.type == "cuda" and x.dtype == torch.float32
    back = mem.normaliser.inverse(mem.train)
    assert back.device.type == "cuda"
    b = next(iter(mem.batches("train", 32)))
    assert b.device.type == "cuda"


# -------------------------------------------------------------------- MNIST
def test_mnist_with_train_and_test_files(tmp_path, mnist_factory):
    written = mnist_factory(tmp_path, n_train=90, n_test=30)
    data = load_training_data(f"mnist:{tmp_path}", seed=1)
    assert data.kind == "mnist" and data.input_dim == 784
    assert data.meta["layout"] == "train+t10k" and data.meta["image_shape"] == [28, 28]
    # train/val split train-* in the ratio 0.8 : 0.1; test is all of t10k-*
    assert data.meta["sizes"] == {"train": 80, "val": 10, "test": 30}
    ref = split_indices(90, 1, (0.8 / 0.9, 0.1 / 0.9, 0.0))
    np.testing.assert_array_equal(data.indices["val"], ref["val"])
    np.testing.assert_array_equal(data.indices["test"], np.arange(30))
    for name, prefix in (("train", "train"), ("val", "train"), ("test", "t10k")):
        x = data.split(name)
        assert x.dtype == torch.float32 and x.shape[1] == 784
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
        expected = written[f"{prefix}-images"][data.indices[name]].reshape(-1, 784) / np.float32(255)
        np.testing.assert_array_equal(x.numpy(), expected)
        labels = data.labels[name]
        assert labels.dtype == torch.int64
        np.testing.assert_array_equal(labels.numpy(), written[f"{prefix}-labels"][data.indices[name]])
        # each synthetic image is filled with 25 * label
        np.testing.assert_allclose(x[:, 1].numpy() * 255, 25 * labels.numpy(), atol=1e-4)
    assert data.params is None
    assert data.normaliser.inverse(data.train) is data.train
    assert data.normaliser.state_dict() == {"kind": "identity", "input_dim": 784}
    assert json.loads(json.dumps(data.meta)) == data.meta


def test_mnist_with_only_the_test_files_splits_them(tmp_path, mnist_factory):
    mnist_factory(tmp_path, n_train=None, n_test=50)
    data = load_training_data(f"mnist:{tmp_path}", seed=2)
    assert data.meta["layout"] == "t10k-only" and "split into train/val/test" in data.meta["note"]
    assert data.meta["sizes"] == {"train": 40, "val": 5, "test": 5}
    ref = split_indices(50, 2)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(data.indices[name], ref[name])


def test_mnist_errors(tmp_path, mnist_factory):
    with pytest.raises(DataError, match="no such folder"):
        load_training_data(f"mnist:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no MNIST files .*download_mnist"):
        load_training_data(f"mnist:{tmp_path / 'empty'}")
    mnist_factory(tmp_path / "half", n_test=30)
    (tmp_path / "half" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="no MNIST test labels"):
        load_training_data(f"mnist:{tmp_path / 'half'}")


def test_real_mnist_test_set_as_training_data(shared_mnist):
    data = load_training_data(f"mnist:{shared_mnist}", seed=0)
    assert data.meta["layout"] == "t10k-only"
    assert data.train.shape == (8000, 784) and data.val.shape == (1000, 784) and data.test.shape == (1000, 784)
    counts = sum(np.bincount(data.labels[s].numpy(), minlength=10) for s in ("train", "val", "test"))
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

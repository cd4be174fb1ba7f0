"""MNIST: reading the IDX files, and the verified downloader (no real network)."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import shutil
import urllib.request

import numpy as np
import pytest

from rotcurve.datasets.idx import write_idx
from rotcurve.datasets.mnist import (
    MNIST_CHECKSUMS,
    download_mnist,
    find_mnist_files,
    load_mnist,
    verify_mnist_file,
)
from rotcurve.errors import ConfigError, DataError

#: Digit counts of the 10,000-image MNIST test set (LeCun et al.; the same in
#: every copy, e.g. torchvision's and TensorFlow's).
T10K_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("gz", [True, False])
def test_load_synthetic_parts(tmp_path, mnist_factory, gz):
    written = mnist_factory(tmp_path, gz=gz)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = load_mnist(tmp_path, split)
        assert images.dtype == np.float32 and images.shape == written[f"{prefix}-images"].shape
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(labels, written[f"{prefix}-labels"])
        np.testing.assert_array_equal(images, written[f"{prefix}-images"] / np.float32(255))
        assert images.min() >= 0.0 and images.max() <= 1.0
        raw, _ = load_mnist(tmp_path, split, as_float=False)
        assert raw.dtype == np.uint8
        np.testing.assert_array_equal(raw, written[f"{prefix}-images"])


def test_torchvision_layout_is_found(tmp_path, mnist_factory):
    mnist_factory(tmp_path / "MNIST" / "raw", n_train=None)
    found = find_mnist_files(tmp_path)
    assert found["train-images"] is None
    assert found["t10k-labels"] == tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    assert load_mnist(tmp_path, "test")[0].shape == (30, 28, 28)


def test_missing_files_say_how_to_get_them(tmp_path, mnist_factory):
    mnist_factory(tmp_path, n_train=None)
    with pytest.raises(DataError, match=r"no MNIST train images .*--download"):
        load_mnist(tmp_path, "train")
    with pytest.raises(DataError, match="no such folder"):
        load_mnist(tmp_path / "nope", "test")
    with pytest.raises(ConfigError, match="'train' or 'test'"):
        load_mnist(tmp_path, "val")


def test_truncated_image_file_is_a_data_error(tmp_path, mnist_factory):
    mnist_factory(tmp_path, gz=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: IDX file is truncated"):
        load_mnist(tmp_path, "test")


def test_truncated_gzip_is_a_data_error(tmp_path, mnist_factory):
    mnist_factory(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: damaged or truncated gzip"):
        load_mnist(tmp_path, "train")


def test_swapped_files_fail_on_the_magic_number(tmp_path, mnist_factory):
    mnist_factory(tmp_path, gz=False)
    images = tmp_path / "t10k-images-idx3-ubyte"
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    content = images.read_bytes()
    images.write_bytes(labels.read_bytes())
    labels.write_bytes(content)
    with pytest.raises(DataError, match="not an MNIST image file .*magic number 2049, expected 2051"):
        load_mnist(tmp_path, "test")


def test_count_mismatch_and_bad_labels(tmp_path, mnist_factory):
    written = mnist_factory(tmp_path, gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", written["t10k-labels"][:-1])
    with pytest.raises(DataError, match="has 30 images but .* has 29 labels"):
        load_mnist(tmp_path, "test")
    bad = written["t10k-labels"].copy()
    bad[7] = 10
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", bad)
    with pytest.raises(DataError, match="label 10 at row 7 is not a digit"):
        load_mnist(tmp_path, "test")


def test_real_mnist_test_set(shared_mnist):
    images, labels = load_mnist(shared_mnist, "test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.bincount(labels, minlength=10).tolist() == T10K_LABEL_COUNTS
    raw, _ = load_mnist(shared_mnist, "test", as_float=False)
    header = (2051).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (10000, 28, 28))
    assert hashlib.md5(header + raw.tobytes()).hexdigest() == MNIST_CHECKSUMS["t10k-images-idx3-ubyte"]["raw_md5"]
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert verify_mnist_file(shared_mnist / f"{stem}.gz", stem)


# ------------------------------------------------------------------ downloads
def _mirror(tmp_path, mnist_factory):
    """A file:// mirror of synthetic .gz files and their checksums."""
    folder = tmp_path / "mirror"
    mnist_factory(folder)
    sums = {}
    for path in folder.iterdir():
        stem = path.name[: -len(".gz")]
        data = path.read_bytes()
        sums[stem] = {"gz_md5": hashlib.md5(data).hexdigest(), "gz_sha256": hashlib.sha256(data).hexdigest()}
    return folder, sums


def test_download_from_a_file_mirror_verifies_and_writes(tmp_path, mnist_factory):
    mirror, sums = _mirror(tmp_path, mnist_factory)
    dest = tmp_path / "data" / "mnist"
    got = download_mnist(dest, mirrors=[mirror.as_uri() + "/"], progress=False, checksums=sums)
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in mirror.iterdir())
    for part, path in got.items():
        assert path.read_bytes() == (mirror / path.name).read_bytes()
    images, _ = load_mnist(dest, "train")
    assert images.shape == (60, 28, 28)
    # Verified files are there: no network is touched (the mirror does not exist).
    again = download_mnist(dest, mirrors=["file:///nonexistent/mirror/"], progress=False, checksums=sums)
    assert again == got


def test_second_mirror_is_used_when_the_first_fails(tmp_path, mnist_factory):
    mirror, sums = _mirror(tmp_path, mnist_factory)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bgarbage")
    dest = tmp_path / "dest"
    got = download_mnist(
        dest,
        mirrors=[broken.as_uri(), mirror.as_uri()],
        parts=["t10k-labels"],
        progress=False,
        checksums=sums,
    )
    assert got["t10k-labels"].read_bytes() == (mirror / "t10k-labels-idx1-ubyte.gz").read_bytes()


def test_corrupted_download_is_rejected_and_leaves_nothing(tmp_path, mnist_factory):
    mirror, sums = _mirror(tmp_path, mnist_factory)
    target = mirror / "train-images-idx3-ubyte.gz"
    data = bytearray(target.read_bytes())
    data[-20] ^= 0xFF
    target.write_bytes(bytes(data))
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match=r"could not download a verified train-images-idx3-ubyte.gz \(.*checksum mismatch\); nothing was kept"):
        download_mnist(dest, mirrors=[mirror.as_uri()], parts=["train-images"], progress=False, checksums=sums)
    assert not dest.exists()  # the folder it created is gone too (an empty folder looked like a data set)


def test_unreachable_mirror_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="could not download .*nonexistent"):
        download_mnist(tmp_path / "a" / "d", mirrors=["file:///nonexistent/"], parts=["t10k-labels"], progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # created parents removed as well
    (tmp_path / "kept").mkdir()
    with pytest.raises(DataError):
        download_mnist(tmp_path / "kept", mirrors=["file:///nonexistent/"], parts=["t10k-labels"], progress=False)
    assert (tmp_path / "kept").is_dir()  # a folder that was there before stays


def test_unverified_existing_file_is_replaced(tmp_path, mnist_factory):
    mirror, sums = _mirror(tmp_path, mnist_factory)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "t10k-labels-idx1-ubyte.gz").write_bytes(b"stale")
    download_mnist(dest, mirrors=[mirror.as_uri()], parts=["t10k-labels"], progress=False, checksums=sums)
    assert verify_mnist_file(dest / "t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte", checksums=sums)


def test_download_refuses_parts_without_checksums_and_unknown_parts(tmp_path):
    with pytest.raises(ConfigError, match="no checksum known"):
        download_mnist(tmp_path, mirrors=["file:///x/"], parts=["t10k-labels"], checksums={}, progress=False)
    with pytest.raises(ConfigError, match="unknown MNIST part"):
        download_mnist(tmp_path, parts=["cifar"], progress=False)


def test_download_with_the_published_checksums_from_the_shared_copy(tmp_path, shared_mnist):
    # The shared t10k files act as a mirror; they are checked against the real
    # constants (labels: the published .gz MD5; images: recompressed, so the
    # decompressed-content checksums).
    dest = tmp_path / "mnist"
    got = download_mnist(dest, mirrors=[shared_mnist.as_uri()], parts=["t10k-images", "t10k-labels"], progress=False)
    labels = got["t10k-labels"].read_bytes()
    assert hashlib.md5(labels).hexdigest() == MNIST_CHECKSUMS["t10k-labels-idx1-ubyte"]["gz_md5"]
    images = gzip.decompress(got["t10k-images"].read_bytes())
    assert hashlib.sha256(images).hexdigest() == MNIST_CHECKSUMS["t10k-images-idx3-ubyte"]["raw_sha256"]


def test_verify_accepts_a_recompressed_or_raw_copy_and_rejects_others(tmp_path, shared_mnist):
    stem = "t10k-labels-idx1-ubyte"
    raw = gzip.decompress((shared_mnist / f"{stem}.gz").read_bytes())
    (tmp_path / stem).write_bytes(raw)
    assert verify_mnist_file(tmp_path / stem, stem)
    (tmp_path / "re.gz").write_bytes(gzip.compress(raw, compresslevel=1, mtime=123))
    assert verify_mnist_file(tmp_path / "re.gz", stem)
    changed = bytearray(raw)
    changed[100] = (changed[100] + 1) % 10
    (tmp_path / "bad").write_bytes(bytes(changed))
    assert not verify_mnist_file(tmp_path / "bad", stem)
    assert not verify_mnist_file(tmp_path / "missing", stem)
    shutil.copy(shared_mnist / f"{stem}.gz", tmp_path / "train.gz")
    assert not verify_mnist_file(tmp_path / "train.gz", "train-labels-idx1-ubyte")


class _BrokenResponse:
    """A response that delivers some bytes, then the connection drops."""

    headers = {"Content-Length": "1000000"}

    def __init__(self):
        self.calls = 0

    def read(self, size=-1):
        self.calls += 1
        if self.calls == 1:
            return b"\x1f\x8b" + b"\x00" * 100
        raise http.client.IncompleteRead(b"", 999898)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_connection_dropped_mid_download_falls_back_and_leaves_no_partial_file(
    tmp_path, mnist_factory, monkeypatch
):
    mirror, sums = _mirror(tmp_path, mnist_factory)
    real_urlopen = urllib.request.urlopen
    seen = []

    def fake_urlopen(url, timeout=None):
        seen.append(url)
        if url.startswith("https://flaky.example/"):
            return _BrokenResponse()
        return real_urlopen(url, timeout=timeout)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="flaky.example.*nothing was kept"):
        download_mnist(dest, mirrors=["https://flaky.example/"], parts=["t10k-images"], progress=False, checksums=sums)
    assert not dest.exists()
    got = download_mnist(
        dest, mirrors=["https://flaky.example/", mirror.as_uri()], parts=["t10k-images"], progress=False, checksums=sums
    )
    assert verify_mnist_file(got["t10k-images"], "t10k-images-idx3-ubyte", checksums=sums)
    assert [p.name for p in dest.iterdir()] == ["t10k-images-idx3-ubyte.gz"]

    def no_network(*args, **kwargs):
        raise AssertionError("the network was touched although verified files are present")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    assert download_mnist(dest, parts=["t10k-images"], progress=False, checksums=sums) == got


# --------------------------------------------- verified copies win over others
def _tamper_raw_next_to(gz, raw):
    """Write ``raw``: the decompressed ``gz`` with one byte changed (a tampered raw copy)."""
    data = bytearray(gzip.decompress(gz.read_bytes()))
    data[-1] ^= 0x01
    raw.write_bytes(bytes(data))
    return data


def test_verified_gz_wins_over_a_tampered_raw_file(tmp_path, mnist_factory):
    written = mnist_factory(tmp_path)  # the .gz files, as download_mnist leaves them
    sums = {}
    for path in tmp_path.iterdir():
        stem = path.name[: -len(".gz")]
        sums[stem] = {"gz_md5": hashlib.md5(path.read_bytes()).hexdigest()}
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        _tamper_raw_next_to(tmp_path / f"{stem}.gz", tmp_path / stem)
    found = find_mnist_files(tmp_path, checksums=sums)
    assert found["t10k-images"] == tmp_path / "t10k-images-idx3-ubyte.gz"
    assert found["t10k-labels"] == tmp_path / "t10k-labels-idx1-ubyte.gz"
    images, labels = load_mnist(tmp_path, "test", as_float=False, checksums=sums)
    np.testing.assert_array_equal(images, written["t10k-images"])
    np.testing.assert_array_equal(labels, written["t10k-labels"])
    # with no verified copy (another IDX data set with MNIST's names) the raw file is read, as before
    assert find_mnist_files(tmp_path, checksums={})["t10k-images"] == tmp_path / "t10k-images-idx3-ubyte"
    assert find_mnist_files(tmp_path)["t10k-images"] == tmp_path / "t10k-images-idx3-ubyte"


def test_real_download_folder_with_a_tampered_raw_file(tmp_path, shared_mnist):
    """The published checksums: after --download the verified .gz is what is loaded."""
    from rotcurve.datasets import load_training_data

    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copyfile(shared_mnist / f"{stem}.gz", tmp_path / f"{stem}.gz")
    tampered = _tamper_raw_next_to(tmp_path / "t10k-labels-idx1-ubyte.gz", tmp_path / "t10k-labels-idx1-ubyte")
    assert hashlib.md5(tampered).hexdigest() != MNIST_CHECKSUMS["t10k-labels-idx1-ubyte"]["raw_md5"]
    got = download_mnist(tmp_path, mirrors=["file:///nonexistent/"], parts=["t10k-images", "t10k-labels"],
                         progress=False)  # verified files are there: no network
    assert got["t10k-labels"] == tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw_images, labels = load_mnist(tmp_path, "test", as_float=False)
    label_bytes = (2049).to_bytes(4, "big") + (10000).to_bytes(4, "big") + labels.astype(np.uint8).tobytes()
    assert hashlib.md5(label_bytes).hexdigest() == "27ae3e4e09519cfbb04c329615203637"
    header = (2051).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (10000, 28, 28))
    assert hashlib.md5(header + raw_images.tobytes()).hexdigest() == "2646ac647ad5339dbf082846283269ea"
    data = load_training_data(f"mnist:{tmp_path}", seed=0, device="cpu")  # what `rotcurve train` reads
    all_labels = np.concatenate([data.labels[s].numpy() for s in ("train", "val", "test")])
    assert np.bincount(all_labels, minlength=10).tolist() == T10K_LABEL_COUNTS

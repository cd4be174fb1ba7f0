"""``rotcurve train``: the run folder, resuming, and one-line errors that change nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rotcurve.cli.main import main
from rotcurve.testing import write_curves


def _curves(path, n=300, seed=0):
    write_curves(path, n, seed=seed, radii=np.geomspace(0.1, 50.0, 16))
    return path


@pytest.fixture
def data(tmp_path):
    return _curves(tmp_path / "curves.h5")


def _one_line_error(capsys, argv, text):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert text in lines[0]
    assert "Traceback" not in captured.err
    return lines[0]


def _snapshot(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


BASE = ["--epochs", "2", "--batch-size", "64", "--device", "cpu", "--quiet"]


def test_train_writes_the_run_folder(tmp_path, data, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--out", str(out), "--latent-dim", "3", "--posterior", "full",
                 "--activation", "gelu", *BASE]) == 0
    printed = capsys.readouterr().out
    assert "trained 2 epochs, completed" in printed and str(out) in printed
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["latent_dim"] == 3 and cfg["model"]["posterior"] == "full"
    assert cfg["model"]["activation"] == "gelu"
    assert cfg["train"]["epochs"] == 2 and cfg["train"]["batch_size"] == 64
    assert cfg["data"]["spec"] == str(data.resolve())
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    raw = torch.load(out / "checkpoints" / "best.pt", weights_only=True)
    assert raw["model_config"]["latent_dim"] == 3


def test_resume_and_refusals(tmp_path, data, capsys):
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(out), *BASE]
    assert main(args) == 0
    capsys.readouterr()
    before = _snapshot(out)
    _one_line_error(capsys, args, "already holds a run; pass --resume to continue it or --overwrite")
    line = _one_line_error(capsys, [*args, "--resume", "--lr", "0.01"], "cannot resume")
    assert "train.lr" in line
    assert _snapshot(out) == before
    assert main([*args, "--resume"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert main([*args, "--overwrite", "--seed", "1"]) == 0
    assert json.loads((out / "config.json").read_text())["train"]["seed"] == 1


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        (["--latent-dim", "0"], "argument --latent-dim: '0' must be >= 1"),
        (["--posterior", "wishart"], "unknown posterior 'wishart'; choose one of: diag, full, full-svd"),
        (["--activation", "swish"], "unknown activation 'swish'; choose one of: relu, leaky_relu, prelu, elu, silu, gelu, softplus, tanh"),
        (["--model", "gan"], "invalid choice: 'gan'"),
        (["--epochs", "-1"], "must be >= 1"),
        (["--download"], "--download is for MNIST only"),
        (["--model", "ae", "--posterior", "full"], "--posterior full is for --model vae"),
        (["--model", "ae", "--posterior", "full-svd"], "a plain autoencoder has no posterior"),
    ],
)
def test_bad_options(tmp_path, data, capsys, extra, text):
    out = tmp_path / "run"
    argv = ["train", "--data", str(data), "--out", str(out), *BASE, *extra]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and text in err[0]
    assert not out.exists()


def test_not_a_dataset(tmp_path, capsys):
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    _one_line_error(capsys, ["train", "--data", str(junk), "--out", str(tmp_path / "r"), *BASE], "is not an HDF5 file")
    _one_line_error(capsys, ["train", "--data", str(tmp_path / "missing.h5"), "--out", str(tmp_path / "r"), *BASE], "no such file")
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda(tmp_path, data, capsys):
    argv = ["train", "--data", str(data), "--out", str(tmp_path / "r"), "--device", "cuda", "--quiet"]
    line = _one_line_error(capsys, argv, "CUDA was requested but no CUDA device is available; use --device cpu or auto")
    assert line.startswith("rotcurve train: error:")
    assert not (tmp_path / "r").exists()


def test_mnist_training(tmp_path, capsys):
    from rotcurve.datasets.idx import write_idx

    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for part, n in (("train", 100), ("t10k", 20)):
        write_idx(folder / f"{part}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)).astype(np.uint8))
        write_idx(folder / f"{part}-labels-idx1-ubyte", rng.integers(0, 10, n).astype(np.uint8))
    out = tmp_path / "run"
    assert main(["train", "--data", f"mnist:{folder}", "--out", str(out), "--epochs", "1", "--device", "cpu", "--quiet"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["likelihood"] == "bernoulli" and cfg["model"]["input_dim"] == 784

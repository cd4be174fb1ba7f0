"""``rotcurve quickstart`` and :func:`rotcurve.quickstart.quickstart`: outputs, refusals, recovery."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rotcurve.cli.main import main
from rotcurve.errors import ConfigError, OutputExistsError
from rotcurve.quickstart import SUMMARY_FILE, QuickstartConfig, quickstart, summary_line

#: Tiny settings: the whole pipeline in a few seconds (the numbers are meaningless).
TINY = {"n_curves": 600, "epochs": 2, "n_samples": 100}
TINY_ARGS = ["--n-curves", "600", "--epochs", "2", "--n-samples", "100", "--device", "cpu", "-q"]


def _one_line_error(capsys, argv, text):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert text in lines[0], lines[0]
    assert "Traceback" not in captured.err
    return lines[0]


def _snapshot(folder):
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_interrupted_then_overwrite_gives_the_dataset_run_and_report(tmp_path, capsys, monkeypatch):
    import rotcurve.reports as report_module
    from rotcurve.io import open_dataset

    out = tmp_path / "qs"

    # 1. an interruption during the report: generation and training are done, nothing claims completion
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(report_module, "make_report", interrupted)
        with pytest.raises(KeyboardInterrupt):
            quickstart(out, seed=3, device="cpu", progress=False, **TINY)
    assert (out / "curves.h5").is_file() and (out / "run" / "checkpoints" / "best.pt").is_file()
    assert not (out / SUMMARY_FILE).exists() and not (out / "report").exists()

    # 2. without --overwrite the folder is refused and left as it was
    before = _snapshot(out)
    _one_line_error(capsys, ["quickstart", "--out", str(out), "--seed", "3", *TINY_ARGS], "--overwrite")
    assert _snapshot(out) == before

    # 3. with --overwrite everything is redone and completed
    assert main(["quickstart", "--out", str(out), "--seed", "3", "--overwrite", *TINY_ARGS]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    html = out / "report" / "report.html"
    assert printed[-1].endswith(str(html)), printed  # the HTML page is the last line
    assert printed[-2].startswith("held-out: median error"), printed

    # the data set: 600 curves of the reference prior on the default grid, with parameters and seed
    with open_dataset(out / "curves.h5") as ds:
        assert ds.n == 600 and ds.has_params
        assert ds.attrs["seed"] == 3
        np.testing.assert_allclose(ds.radii, np.geomspace(0.1, 50.0, 50), rtol=1e-12)
        assert ds.attrs["prior"]["kind"] == "reference"
    # the run: the 4-D VAE, 2 epochs, the same seed
    cfg = json.loads((out / "run" / "config.json").read_text())
    assert cfg["model"]["latent_dim"] == 4 and cfg["model"]["model"] == "vae"
    assert cfg["train"]["epochs"] == 2 and cfg["train"]["seed"] == 3
    assert len((out / "run" / "metrics.jsonl").read_text().splitlines()) == 2
    # the report: on the run's held-out test split (10 % of 600)
    metrics = json.loads((out / "report" / "metrics.json").read_text())
    assert html.is_file() and html.read_text().lstrip().lower().startswith("<!doctype html")
    assert metrics["score"]["n"] == 60 and metrics["data"]["split"] == "test"
    assert metrics["config"]["n_samples"] == 100 and metrics["config"]["seed"] == 3
    # the summary file is written last and repeats the report's numbers
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["metrics"] == metrics
    assert summary["config"] == {
        "n_curves": 600, "epochs": 2, "n_samples": 100, "seed": 3, "device": "cpu", "threads": None,
    }
    assert summary["device"] == "cpu"
    assert set(summary["seconds"]) == {"generate", "train", "report"}
    assert summary["report"] == str(html)
    # the printed summary shows the report's median error
    assert f"median error {100 * metrics['score']['median_frac_error']:.2g}%" in printed[-2]
    # nothing half-written anywhere
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_existing_folder_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rotcurve-quickstart").mkdir()  # the default --out
    (tmp_path / "rotcurve-quickstart" / "mine.txt").write_text("keep me")
    line = _one_line_error(capsys, ["quickstart", *TINY_ARGS], "rotcurve-quickstart exists")
    assert "--overwrite" in line and "--out" in line
    assert [p.name for p in (tmp_path / "rotcurve-quickstart").iterdir()] == ["mine.txt"]
    with pytest.raises(OutputExistsError):
        quickstart(tmp_path / "rotcurve-quickstart", progress=False, **TINY)


def test_output_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "qs"
    target.write_text("a file")
    _one_line_error(capsys, ["quickstart", "--out", str(target), "--overwrite", *TINY_ARGS], "is a file")
    assert target.read_text() == "a file"


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["--n-curves", "50"], "n_curves must be an integer >= 100"),
        (["--n-samples", "5"], "n_samples must be an integer >= 20"),
    ],
)
def test_bad_sizes_are_one_line_errors_and_create_nothing(tmp_path, capsys, argv, text):
    out = tmp_path / "qs"
    _one_line_error(capsys, ["quickstart", "--out", str(out), "--device", "cpu", "-q", *argv], text)
    assert not out.exists()


def test_cuda_without_a_gpu_is_refused_before_any_work(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    out = tmp_path / "qs"
    _one_line_error(capsys, ["quickstart", "--out", str(out), "--device", "cuda", "-q"], "no CUDA device")
    assert not out.exists()


def test_interrupt_on_the_command_line_says_how_to_go_on(tmp_path, capsys, monkeypatch):
    import rotcurve.generator as generator_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(generator_module, "generate", interrupted)
    out = tmp_path / "qs"
    assert main(["quickstart", "--out", str(out), *TINY_ARGS]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rerun with --overwrite" in err[0]
    assert not (out / SUMMARY_FILE).exists() and not (out / "curves.h5").exists()


def test_torch_threads_are_restored():
    import torch

    from rotcurve.quickstart import _torch_threads

    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with _torch_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with pytest.raises(KeyboardInterrupt), _torch_threads(1):
            raise KeyboardInterrupt
        assert torch.get_num_threads() == 2
        with _torch_threads(None):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(old)


def test_config_validation():
    assert QuickstartConfig().n_curves == 20_000 and QuickstartConfig().device == "auto"
    for bad in ({"epochs": 0}, {"seed": -1}, {"device": "tpu"}, {"n_curves": 1.5e4}, {"threads": 0}):
        with pytest.raises(ConfigError):
            QuickstartConfig(**bad)


def test_summary_line_reads_the_report_metrics():
    metrics = {
        "score": {"median_frac_error": 0.00044, "p95_frac_error": 0.0023, "neg_elbo": -199.04},
        "latents": {
            "r2": {"Md": {"linear": 0.9, "nonlinear": 0.991}, "c": {"linear": 0.7, "nonlinear": 0.953}},
        },
        "samples": {
            "prior": {
                "validity": {"fraction_within": {"0.01": 0.9, "0.02": 0.971}},
                "c2st": {"auc": 0.6234},
            },
            "aggregate": {
                "kind": "gmm",
                "validity": {"fraction_within": {"0.02": 0.995}},
                "c2st": {"auc": 0.551},
            },
        },
    }
    assert summary_line(metrics) == (
        "held-out: median error 0.044%, p95 0.23%, -ELBO -199 nats/curve | R2 Md 0.99 c 0.95 | "
        "new curves valid (2%) / C2ST AUC: aggregate (gmm) 99.5% / 0.55, prior N(0, I) (diagnostic) 97.1% / 0.62"
    )
    assert summary_line({}) == "no metrics"
    assert summary_line({"latents": {"r2": {"Md": {"nonlinear": None}}}}) == "no metrics"
    assert summary_line({"samples": {"prior": {"c2st": {"auc": 0.5}}}}) == (
        "new curves valid (2%) / C2ST AUC: prior N(0, I) (diagnostic) ? / 0.50"
    )

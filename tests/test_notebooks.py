"""The notebooks: stored clean, and executed top to bottom with tiny sizes in a temporary folder."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
NAMES = ("rotation_curves.ipynb", "mnist.ipynb")
#: Seconds one cell may take with ROTCURVE_NOTEBOOK_SMALL=1 (they take a few).
CELL_TIMEOUT = 300


def _mnist_dir() -> Path | None:
    """Where the MNIST notebook will find the IDX files without a download (as the notebook looks)."""
    from rotcurve.datasets.mnist import find_mnist_files

    candidates = [Path(p) for p in [os.environ.get("ROTCURVE_MNIST_DIR")] if p]
    candidates.append(REPO.parent / "shared" / "datasets" / "mnist")
    for folder in candidates:
        if folder.is_dir() and any(v is not None for v in find_mnist_files(folder).values()):
            return folder
    return None


def _execute(name: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("ROTCURVE_NOTEBOOK_SMALL", "1")
    monkeypatch.delenv("ROTCURVE_MNIST_DOWNLOAD", raising=False)  # never the network in tests
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    before = {p: p.stat().st_mtime_ns for p in NOTEBOOKS.iterdir()}
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    assert {p: p.stat().st_mtime_ns for p in NOTEBOOKS.iterdir()} == before  # nothing written into the repo
    return nb


def _text(nb: nbformat.NotebookNode) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            stream = o.get("output_type") == "stream"
            out.append(o.get("text", "") if stream else json.dumps(o.get("data", {})))
    return "\n".join(out)


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_stored_clean(name):
    raw = (NOTEBOOKS / name).read_text(encoding="utf-8")
    nb = nbformat.reads(raw, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"{name}: stored with outputs"
    assert "ROTCURVE_NOTEBOOK_SMALL" in code[0].source  # the size knob is read at the top
    assert raw.endswith("\n") and json.loads(raw)["nbformat"] == 4


def test_rotation_curves_notebook_runs(tmp_path, monkeypatch):
    nb = _execute("rotation_curves.ipynb", tmp_path, monkeypatch)
    work = tmp_path / "rotation-curves-notebook"
    for path in ("curves.h5", "heldout.h5", "run/checkpoints/best.pt", "corner.png", "report/report.html"):
        assert (work / path).is_file(), path
    metrics = json.loads((work / "report" / "metrics.json").read_text())
    assert metrics["format"] == "rotcurve-report"
    assert metrics["data"]["n_analysed"] == 600  # the held-out file, all of it (SMALL size)
    assert math.isfinite(metrics["score"]["neg_elbo"])
    text = _text(nb)
    assert "SMALL sizes" in text and "held-out (600 curves): median error" in text


def test_mnist_notebook_runs(tmp_path, monkeypatch):
    folder = _mnist_dir()
    if folder is None:
        pytest.skip(
            "no MNIST files at ../shared/datasets/mnist (relative to the repository) or $ROTCURVE_MNIST_DIR; "
            "the notebook could download them, but tests do not use the network"
        )
    monkeypatch.setenv("ROTCURVE_MNIST_DIR", str(folder))
    nb = _execute("mnist.ipynb", tmp_path, monkeypatch)
    work = tmp_path / "mnist-notebook"
    assert (work / "run" / "checkpoints" / "best.pt").is_file() and (work / "tsne.png").is_file()
    text = _text(nb)
    assert f"MNIST from {folder}" in text
    assert "held-out negative ELBO" in text and "image/png" in text

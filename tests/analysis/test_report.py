"""The run report: a self-contained HTML page, PNG + PDF figures and metrics.json, written atomically."""

from __future__ import annotations

import base64
import html.parser
import json
import math
import re
import shutil

import numpy as np
import pytest

from rotcurve.errors import ConfigError, DataError, OutputExistsError
from rotcurve.testing import write_curves

RADII = np.geomspace(0.1, 50.0, 16)
# small and fast: the numbers are checked for consistency, not for quality
FAST = {"posterior_curves": 30, "posterior_draws": 5, "regressor": "knn", "dpi": 40, "tsne_points": 40}


def _write(path, n, seed, *, params=True, radii=RADII):
    return write_curves(path, n, seed=seed, radii=radii, params=params)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from rotcurve.training import fit

    root = tmp_path_factory.mktemp("report")
    _write(root / "curves.h5", 500, 0)
    fit(root / "curves.h5", root / "run", model={"hidden": [32, 16], "latent_dim": 2},
        train={"epochs": 4, "batch_size": 50, "lr": 5e-3, "device": "cpu"}, progress=False)
    return root


@pytest.fixture(scope="module")
def report(trained):
    from rotcurve.reports import make_report

    out = trained / "rep"
    res = make_report(trained / "run", trained / "curves.h5", out, n_samples=60, seed=3, progress=False,
                      options=FAST)
    return res


class _Checker(html.parser.HTMLParser):
    """Records tags and attributes and checks that elements nest properly."""

    VOID = {"img", "meta", "br", "hr", "link", "input", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _numbers(node, where=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _numbers(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _numbers(v, f"{where}[{i}]")
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield where, node


def test_html_is_self_contained_valid_and_embeds_every_figure(report):
    text = report.path.read_text(encoding="utf-8")
    assert report.path.name == "report.html" and text.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert not checker.errors and not checker.stack
    # nothing is fetched from elsewhere: every src is a data: URI, no stylesheet or script links
    srcs = [a["src"] for tag, a in checker.tags if "src" in a]
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not [t for t, a in checker.tags if t in ("link", "script", "iframe")]
    assert not [a for _, a in checker.tags if "href" in a and not a["href"].startswith("#")]
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I)
    # one embedded image per figure, and they decode to the PNG files written next to the page
    assert len(srcs) == len(report.metrics["figures"])
    png = base64.b64decode(srcs[0].split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png in {(report.folder / f["png"]).read_bytes() for f in report.metrics["figures"].values()}
    for heading in ("Summary", "Training", "Reconstruction", "Latents versus physics", "New curves"):
        assert f">{heading}</h2>" in text


def test_every_figure_is_written_as_png_and_pdf(report):
    figures = report.metrics["figures"]
    expected = {"training_history", "reconstructions", "reconstruction_error", "correlations",
                "corner_params_latents", "posterior_overlay", "bands_prior", "samples_prior",
                "latents_encoded_vs_prior", "validity", "interpolation", "traversals",
                "bands_gaussian", "bands_gmm", "samples_aggregate", "latents_encoded_vs_aggregate"}
    assert expected <= set(figures)
    names = sorted(p.name for p in (report.folder / "figures").iterdir())
    assert names == sorted([f"{n}.png" for n in figures] + [f"{n}.pdf" for n in figures])
    for entry in figures.values():
        assert (report.folder / entry["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (report.folder / entry["pdf"]).read_bytes()[:5] == b"%PDF-"
        assert entry["caption"]
    # nothing else lies in or next to the report folder
    assert sorted(p.name for p in report.folder.iterdir()) == ["figures", "metrics.json", "report.html"]
    assert not [p for p in report.folder.parent.iterdir() if p.name.startswith(".rep")]


def test_metrics_json_has_every_number_and_only_finite_ones(report, trained):
    m = json.loads((report.folder / "metrics.json").read_text())
    assert m == json.loads(json.dumps(report.metrics))
    for key in ("format", "run", "data", "config", "seeds", "versions", "targets", "training", "score",
                "latents", "samples", "figures", "timings_s", "notes", "warnings"):
        assert key in m, key
    assert m["format"] == "rotcurve-report" and m["config"]["seed"] == 3 and m["seeds"]["report"] == 3
    assert m["run"]["path"] == str((trained / "run").resolve()) and m["run"]["latent_dim"] == 2
    assert m["data"] == {"data": str((trained / "curves.h5").resolve()), "same_as_training": True, "split": "test",
                         "n_available": 500, "n_candidates": 50, "n_analysed": 50, "has_params": True}
    assert {"torch", "numpy", "rotcurve", "corner"} <= set(m["versions"])
    assert m["training"]["epochs"] == 4 and m["training"]["best_epoch"] in range(1, 5)
    for name in ("Md", "Rd", "Mh", "c"):
        assert set(m["latents"]["r2"][name]) == {"linear", "nonlinear"}
    assert len(m["latents"]["correlations"]) == 2 * 4
    for source in ("prior", "gaussian", "gmm", "aggregate"):
        s = m["samples"][source]
        assert s["n"] == 60 and set(s["validity"]["fraction_within"]) == {"0.01", "0.02"}
        assert 0.0 <= s["c2st"]["auc"] <= 1.0 and len(s["bands"]) == 5
    assert m["samples"]["aggregate"]["kind"] == m["samples"]["aggregate_model"]["choice"]
    numbers = dict(_numbers({k: m[k] for k in ("score", "latents", "samples", "training")}))
    assert numbers and all(math.isfinite(v) for v in numbers.values())
    # None only where a number is undefined (never in the headline metrics)
    headline = [m["score"]["median_frac_error"], m["samples"]["prior"]["c2st"]["auc"],
                *[m["latents"]["r2"][p]["nonlinear"] for p in ("Md", "Rd", "Mh", "c")]]
    assert all(isinstance(x, float) for x in headline)


def test_numbers_agree_with_independent_computations(report, trained):
    from scipy import stats

    from rotcurve.datasets.splits import split_indices
    from rotcurve.io import read_dataset
    from rotcurve.run import load_run

    m = report.metrics
    run = load_run(trained / "run")
    data = read_dataset(trained / "curves.h5")
    test = split_indices(500, 0, (0.8, 0.1, 0.1))["test"]  # 50 rows <= n_curves: all of them
    v = data.v_circ[test].astype(np.float64)
    frac = np.abs(run.reconstruct(v) / v - 1.0)
    assert m["score"]["median_frac_error"] == pytest.approx(np.median(frac), rel=1e-4)
    assert m["score"]["n"] == 50
    z = run.encode(v).mean
    logp = np.log10(data.params.iloc[test]["Mh"].to_numpy())
    row = next(r for r in m["latents"]["correlations"] if r["latent"] == "z1" and r["parameter"] == "Mh")
    assert row["pearson"] == pytest.approx(stats.pearsonr(z[:, 0], logp)[0], rel=1e-6)
    assert row["spearman"] == pytest.approx(stats.spearmanr(z[:, 0], logp)[0], rel=1e-6)
    np.testing.assert_allclose(m["latents"]["std_of_means"], z.std(axis=0), rtol=1e-6)
    # the simulated curves are disc + halo curves: the validity test must accept (nearly) all of them
    ref = m["samples"]["reference_simulated"]["validity"]["fraction_within"]
    assert ref["0.01"] >= 0.99
    # the generated curves are those of `rotcurve sample --seed 3 --from prior`
    from rotcurve.analysis.validity import physical_validity

    gen = run.sample(60, seed=3, source="prior")
    within = physical_validity(gen, RADII, seed=m["seeds"]["validity"]).fraction_within[0.02]
    assert m["samples"]["prior"]["validity"]["fraction_within"]["0.02"] == pytest.approx(within)


def test_dataset_without_parameters_skips_physics_with_a_note(report, trained, tmp_path):
    """Also: --overwrite replaces an existing report only with a complete new one."""
    from rotcurve.reports import make_report

    _write(tmp_path / "noparams.h5", 80, 5, params=False)
    out = tmp_path / "rep"
    shutil.copytree(report.folder, out)
    (out / "mine.txt").write_text("old")
    with pytest.raises(OutputExistsError, match="exists; pass --overwrite"):
        make_report(trained / "run", tmp_path / "noparams.h5", out, progress=False)
    assert (out / "mine.txt").exists()
    res = make_report(trained / "run", tmp_path / "noparams.h5", out, n_samples=40, n_curves=60, seed=1,
                      overwrite=True, progress=False, options=FAST)
    assert not (out / "mine.txt").exists() and (out / "report.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noparams.h5", "rep"]
    m = res.metrics
    assert m["data"]["has_params"] is False and m["data"]["split"] == "all" and m["data"]["n_analysed"] == 60
    assert m["latents"]["r2"] is None and m["latents"]["correlations"] is None
    assert any("no true parameters" in n for n in m["notes"])
    assert "no true parameters" in res.path.read_text()
    assert "corner_latents" in m["figures"] and "corner_params_latents" not in m["figures"]
    assert m["samples"]["prior"]["validity"]["n"] == 40 and "c2st" in m["samples"]["aggregate"]


def test_mismatched_data_is_refused_before_anything_is_written(trained, tmp_path):
    from rotcurve.reports import make_report

    _write(tmp_path / "coarse.h5", 30, 1, radii=np.geomspace(0.2, 40.0, 16))
    with pytest.raises(DataError, match="radius grid"):
        make_report(trained / "run", tmp_path / "coarse.h5", tmp_path / "out", progress=False)
    with pytest.raises(DataError, match="holds images but the run was trained on rotation curves"):
        make_report(trained / "run", f"mnist:{tmp_path}", tmp_path / "out", progress=False)
    with pytest.raises(DataError, match="no such file|not found|does not exist"):
        make_report(trained / "run", tmp_path / "missing.h5", tmp_path / "out", progress=False)
    (tmp_path / "afile").write_text("")
    with pytest.raises(DataError, match=r"afile/out: .*afile is a file, not a folder"):
        make_report(trained / "run", trained / "curves.h5", tmp_path / "afile" / "out", progress=False)
    (tmp_path / "afile").unlink()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(DataError, match="holds something other than a rotcurve report"):
        make_report(trained / "run", trained / "curves.h5", precious, overwrite=True, progress=False)
    assert (precious / "thesis.tex").read_text() == "years of work"
    shutil.rmtree(precious)
    with pytest.raises(ConfigError, match="unknown setting report.bins"):
        make_report(trained / "run", trained / "curves.h5", tmp_path / "out", progress=False, options={"bins": 3})
    with pytest.raises(ConfigError, match="n_samples must be an integer >= 10"):
        make_report(trained / "run", trained / "curves.h5", tmp_path / "out", n_samples=2, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coarse.h5"]


def test_a_failure_half_way_leaves_nothing(trained, tmp_path, monkeypatch):
    import dataclasses

    import rotcurve.reports as report_module
    from rotcurve.reports.sections import SECTIONS

    def boom(builder, *args, **kwargs):
        from rotcurve.analysis.figures import new_figure

        builder.figure("half", new_figure(), "written before the crash")
        assert (builder.folder / "figures" / "half.pdf").exists()
        raise RuntimeError("simulated crash")

    monkeypatch.setitem(SECTIONS, "curves", dataclasses.replace(SECTIONS["curves"], write=boom))
    with pytest.raises(RuntimeError, match="simulated crash"):
        report_module.make_report(trained / "run", trained / "curves.h5", tmp_path / "rep", progress=False,
                                  options=FAST)
    assert list(tmp_path.iterdir()) == []


def test_corner_figure_alone(trained, tmp_path):
    from rotcurve.reports import analysis_set, corner_figure
    from rotcurve.run import load_run

    run = load_run(trained / "run")
    fig = corner_figure(run, trained / "curves.h5", n_curves=30)
    assert len(fig.axes) == (4 + 2) ** 2
    _write(tmp_path / "noparams.h5", 40, 2, params=False)
    assert len(corner_figure(trained / "run", tmp_path / "noparams.h5").axes) == 2 * 2
    from rotcurve.analysis.corner_plots import corner_plot

    with pytest.raises(DataError, match="give the parameters, the latents or both"):
        corner_plot(None, None)
    # the subsample is seeded and in file order
    a = analysis_set(run, tmp_path / "noparams.h5", n_curves=15, seed=4)
    b = analysis_set(run, tmp_path / "noparams.h5", n_curves=15, seed=4)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.x.shape == (15, 16) and a.info["n_available"] == 40


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    from rotcurve.datasets.idx import write_idx
    from rotcurve.training import fit

    root = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    for part, n in (("train", 150), ("t10k", 60)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = (rng.random((n, 28, 28)) < (labels[:, None, None] + 1) / 12).astype(np.uint8) * 255
        write_idx(root / f"{part}-images-idx3-ubyte", images)
        write_idx(root / f"{part}-labels-idx1-ubyte", labels)
    fit(f"mnist:{root}", root / "run", model={"hidden": [32], "latent_dim": 2},
        train={"epochs": 2, "batch_size": 32, "device": "cpu"}, progress=False)
    return root


def test_mnist_report_has_the_image_views(mnist_run, tmp_path):
    from rotcurve.reports import make_report

    res = make_report(mnist_run / "run", f"mnist:{mnist_run}", tmp_path / "rep", n_samples=20, seed=0,
                      progress=False, options=FAST)
    m = res.metrics
    assert {"encoder_map", "decoder_grid", "samples_prior", "samples_aggregate", "interpolation",
            "reconstructions", "tsne", "training_history"} <= set(m["figures"])
    assert m["data"]["split"] == "test" and m["data"]["n_analysed"] == 60
    assert m["score"]["n"] == 60 and "neg_elbo" in m["score"] and "median_frac_error" not in m["score"]
    assert m["samples"]["aggregate_model"]["choice"] in ("gaussian", "gmm")
    for f in m["figures"].values():
        assert (res.folder / f["pdf"]).exists() and (res.folder / f["png"]).exists()
    assert res.path.read_text().count('src="data:image/png;base64,') == len(m["figures"])
    with pytest.raises(DataError, match="holds rotation curves but the run was trained on MNIST"):
        make_report(mnist_run / "run", tmp_path / "curves.h5", tmp_path / "rep2", progress=False)
    assert not (tmp_path / "rep2").exists()


# -- the old import paths (rotcurve.analysis.report, .html, .report_figures) for one release -----------------


def test_the_old_module_paths_warn_and_give_the_same_objects(monkeypatch):
    import sys

    import rotcurve.reports
    import rotcurve.reports.figures
    import rotcurve.reports.html

    for old in ("rotcurve.analysis.report", "rotcurve.analysis.html", "rotcurve.analysis.report_figures"):
        monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning, match="rotcurve.analysis.report moved to rotcurve.reports;") as rec:
        import rotcurve.analysis.report as old_report
    assert rec[0].filename == __file__  # points at the importer
    with pytest.warns(DeprecationWarning, match="rotcurve.analysis.html moved to rotcurve.reports.html;"):
        import rotcurve.analysis.html as old_html
    with pytest.warns(DeprecationWarning, match="rotcurve.analysis.report_figures moved to rotcurve.reports.figures;"):
        import rotcurve.analysis.report_figures as old_figures
    for old, new in ((old_report, rotcurve.reports), (old_html, rotcurve.reports.html),
                     (old_figures, rotcurve.reports.figures)):
        assert old.__all__ == new.__all__
        for name in new.__all__:
            assert getattr(old, name) is getattr(new, name), name


def test_the_old_package_names_warn_and_give_the_same_objects():
    import rotcurve.analysis
    import rotcurve.reports

    for name in ("make_report", "corner_figure", "analysis_set", "ReportConfig", "ReportResult"):
        with pytest.warns(DeprecationWarning, match=f"rotcurve.analysis.{name} moved to rotcurve.reports") as rec:
            value = getattr(rotcurve.analysis, name)
        assert rec[0].filename == __file__
        assert value is getattr(rotcurve.reports, name)
        assert name not in rotcurve.analysis.__all__


def test_importing_analysis_or_reports_warns_nothing():
    import subprocess
    import sys

    code = (
        "import rotcurve.analysis as a; from rotcurve.analysis import *; "
        "a.physical_validity, a.corner_plot, a.fit_aggregate; "
        "import rotcurve.reports, rotcurve.reports.html, rotcurve.reports.figures, rotcurve.cli.main"
    )
    subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code], check=True)


def test_analysis_depends_on_neither_run_nor_reports():
    import subprocess
    import sys

    code = (
        "import importlib, pkgutil, sys, rotcurve.analysis as a; "
        "shims = {'report', 'html', 'report_figures'}; "
        "[importlib.import_module('rotcurve.analysis.' + m.name) for m in pkgutil.iter_modules(a.__path__) "
        " if m.name not in shims]; "
        "bad = [m for m in sys.modules if m.startswith(('rotcurve.run', 'rotcurve.reports', 'rotcurve.training'))]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_report_folder_parents_are_made_and_removed_on_failure(tmp_path):
    from rotcurve.reports.folder import check_out, staged_folder

    out = tmp_path / "a" / "b" / "report"
    check_out(out, overwrite=False)  # missing parents are fine
    with pytest.raises(RuntimeError):
        with staged_folder(out, overwrite=False) as tmp:
            (tmp / "report.html").write_text("half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []  # neither the staging folder nor the parents made for it
    with staged_folder(out, overwrite=False) as tmp:
        (tmp / "report.html").write_text("done")
    assert (out / "report.html").read_text() == "done"

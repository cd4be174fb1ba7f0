"""The default generative path is the saved aggregate density (issue 10).

``rotcurve sample`` without ``--from`` and ``Run.sample`` without ``source``
draw from the density saved in the run folder; the file is JSON (never
unpickled) with a digest; a damaged file is one line on stderr (no warning
text, no traceback) and is fitted again; the help and the docs say so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rotcurve.cli.main import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_dir(make_tiny_run):
    root = make_tiny_run("sample-default")
    return root / "run"


def _density(run_dir: Path) -> Path:
    return run_dir / "aggregate-best.json"


def _sample(run_dir: Path, out: Path, *extra: str) -> int:
    return main(["sample", "--run", str(run_dir), "--n", "40", "--seed", "7", "--out", str(out), *extra])


def test_sample_without_from_uses_the_saved_aggregate_density(run_dir, tmp_path, capsys):
    from rotcurve.io import read_dataset
    from rotcurve.run import DEFAULT_SOURCE, load_run

    assert DEFAULT_SOURCE == "aggregate"
    assert _sample(run_dir, tmp_path / "default.h5", "--quiet") == 0
    mtime = _density(run_dir).stat().st_mtime_ns  # saved by the first use
    assert _sample(run_dir, tmp_path / "agg.h5", "--quiet", "--from", "aggregate") == 0
    assert _sample(run_dir, tmp_path / "prior.h5", "--quiet", "--from", "prior") == 0
    out = capsys.readouterr().out.splitlines()
    choice = json.loads(_density(run_dir).read_text())["choice"]
    assert f"latents from the {choice} latent aggregate (saved in aggregate-best.json)" in out[0]
    assert "latents from the N(0, I) prior: known to give ~5 % invalid curves; for diagnostics" in out[2]
    default, agg = read_dataset(tmp_path / "default.h5"), read_dataset(tmp_path / "agg.h5")
    np.testing.assert_array_equal(default.v_circ, agg.v_circ)
    assert default.attrs["latent_source"] == "aggregate" and default.attrs["latent_aggregate"] == choice
    assert not np.allclose(default.v_circ, read_dataset(tmp_path / "prior.h5").v_circ)
    assert _density(run_dir).stat().st_mtime_ns == mtime  # loaded, not fitted again
    # Python: the same default
    run = load_run(run_dir)
    np.testing.assert_allclose(run.sample(40, seed=7), default.v_circ, rtol=1e-6)
    np.testing.assert_array_equal(run.sample(40, seed=7), run.sample(40, seed=7, source="aggregate"))
    np.testing.assert_array_equal(run.sample_latents(5, seed=1), run.sample_latents(5, seed=1, source=choice))


def test_the_density_file_round_trips_without_pickle(run_dir, monkeypatch):
    import pickle

    from rotcurve.analysis.aggregate import aggregate_from_dict
    from rotcurve.run import load_run
    from rotcurve.run.aggregates import models_digest

    run = load_run(run_dir)
    fitted = run.aggregates()
    record = json.loads(_density(run_dir).read_text())  # plain JSON
    assert record["format"] == "rotcurve-aggregates" and record["models_sha256"] == models_digest(record["models"])
    assert record["fit_seed"] == run.train_config.seed and record["checkpoint"] == "best.pt"

    def refuse(*args, **kwargs):
        raise AssertionError("the aggregate density must not be unpickled")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    run._aggregates = None  # the checkpoint is already loaded: only the density is read now
    loaded = run.aggregates()
    assert loaded.path == _density(run_dir) and loaded.choice == fitted.choice
    for kind in ("prior", "gaussian", "gmm"):
        assert loaded.models[kind].to_dict() == fitted.models[kind].to_dict()
        rebuilt = aggregate_from_dict(record["models"][kind])
        np.testing.assert_array_equal(rebuilt.sample(20, seed=3), fitted.models[kind].sample(20, seed=3))


def _flip_a_number(path: Path) -> None:
    record = json.loads(path.read_text())
    record["models"]["gmm"]["means"][0][0] += 0.5  # still valid JSON and a valid mixture
    path.write_text(json.dumps(record))


def _wrong_dim(path: Path) -> None:
    record = json.loads(path.read_text())
    record["models"]["gaussian"] = {"kind": "gaussian", "format_version": 1, "dim": 1, "mean": [0.0],
                                    "covariance": [[1.0]]}
    path.write_text(json.dumps(record))


DAMAGES = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "altered value": _flip_a_number,
    "wrong shape": _wrong_dim,
    "not utf-8": lambda p: p.write_bytes(b"\xff\xfe\x00garbage"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_density_is_one_line_and_is_fitted_again(run_dir, tmp_path, capsys, damage):
    from rotcurve.run import load_run

    load_run(run_dir).aggregates()  # a sound file to damage
    DAMAGES[damage](_density(run_dir))
    assert _sample(run_dir, tmp_path / "s.h5", "--quiet") == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith("rotcurve sample: ") and str(_density(run_dir)) in line
    assert "the saved latent aggregate density is damaged" in line and line.endswith("fitting it again from the training data")
    for text in ("Warning", "Traceback", ".py:", "warnings.warn"):
        assert text not in line
    assert json.loads(_density(run_dir).read_text())["format"] == "rotcurve-aggregates"  # sound again


def test_a_damaged_density_without_training_data_is_refused_in_one_line(make_tiny_run, tmp_path, capsys):
    root = make_tiny_run("sample-damaged-gone")
    assert _sample(root / "run", tmp_path / "a.h5", "--quiet") == 0
    _density(root / "run").write_text("{ not json")
    (root / "curves.h5").unlink()
    assert _sample(root / "run", tmp_path / "b.h5", "--quiet") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2, err  # what is wrong with the file, then why it cannot be fitted again
    assert "density is damaged" in err[0] and err[1].startswith("rotcurve sample: error: ")
    assert "is not there" in err[1] and "Traceback" not in "".join(err)
    assert not (tmp_path / "b.h5").exists()


def test_help_and_docs_say_what_the_default_is(capsys):
    from rotcurve.cli import sample as cli_sample
    from rotcurve.run import DEFAULT_SOURCE, PRIOR_NOTE, SAMPLE_SOURCES

    # the command line repeats the library's names (to start without torch): they must agree
    assert set(cli_sample.SOURCE_CHOICES) == set(SAMPLE_SOURCES)
    assert cli_sample.DEFAULT_SOURCE == DEFAULT_SOURCE and cli_sample.PRIOR_NOTE == PRIOR_NOTE
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default aggregate)" in text and "the density saved in the run folder" in text
    assert "prior = the N(0, I) prior: known to give ~5 % invalid curves; for diagnostics" in text
    cli_md = (REPO / "docs" / "cli.md").read_text()
    [row] = [line for line in cli_md.splitlines() if line.startswith("| `--from")]
    assert row.rstrip().endswith("| `aggregate` |") and "for diagnostics" in row
    using = (REPO / "docs" / "using-a-run.md").read_text()
    assert "known to give ~5 % invalid curves; for diagnostics" in using


def test_train_saves_the_density_that_sample_uses(tmp_path, capsys):
    from rotcurve.testing import write_curves

    write_curves(tmp_path / "c.h5", 200, radii=np.geomspace(0.1, 50.0, 16))
    argv = ["train", "--data", str(tmp_path / "c.h5"), "--out", str(tmp_path / "run"), "--latent-dim", "2",
            "--epochs", "2", "--batch-size", "50", "--device", "cpu", "--seed", "3", "-q"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    density = _density(tmp_path / "run")
    record = json.loads(density.read_text())
    assert f"aggregate:   {density} ({record['choice']}, fit seed 3; the default of rotcurve sample)" in out
    assert record["fit_seed"] == 3
    mtime = density.stat().st_mtime_ns
    assert _sample(tmp_path / "run", tmp_path / "s.h5", "--quiet") == 0
    assert density.stat().st_mtime_ns == mtime

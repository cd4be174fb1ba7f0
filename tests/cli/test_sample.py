"""``rotcurve sample``: new curves in the file format, seeded; one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.cli.main import main


@pytest.fixture(scope="module")
def run_dir(make_tiny_run):
    return make_tiny_run("sample")


def test_sample_file_is_seeded(run_dir, tmp_path, capsys):
    from rotcurve.io import read_dataset
    from rotcurve.run import load_run

    a, b, c = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "c.h5"
    for out, seed in ((a, "3"), (b, "3"), (c, "4")):
        assert main(["sample", "--run", str(run_dir / "run"), "--n", "50", "--seed", seed, "--out", str(out), "--quiet"]) == 0
    assert "wrote 50 sampled curves" in capsys.readouterr().out
    da, db, dc = read_dataset(a), read_dataset(b), read_dataset(c)
    assert da.v_circ.shape == (50, 16) and da.params is None and da.attrs["seed"] == 3
    np.testing.assert_array_equal(da.v_circ, db.v_circ)
    assert not np.array_equal(da.v_circ, dc.v_circ)
    np.testing.assert_allclose(da.v_circ, load_run(run_dir / "run").sample(50, seed=3), rtol=1e-6)
    assert (da.v_circ > 0).all()


@pytest.mark.parametrize(("argv", "text"), [(["--n", "0"], "must be >= 1"), (["--seed", "-2"], "must be >= 0")])
def test_bad_numbers(run_dir, tmp_path, capsys, argv, text):
    with pytest.raises(SystemExit) as exc:
        main(["sample", "--run", str(run_dir / "run"), "--out", str(tmp_path / "s.h5"), "--n", "5", *argv])
    assert exc.value.code == 2 and text in capsys.readouterr().err
    assert not (tmp_path / "s.h5").exists()


def test_missing_run_and_existing_output(run_dir, tmp_path, capsys):
    assert main(["sample", "--run", str(tmp_path / "nope"), "--n", "5", "--out", str(tmp_path / "s.h5")]) == 2
    assert "no such run folder" in capsys.readouterr().err
    keep = tmp_path / "keep.h5"
    keep.write_text("mine")
    assert main(["sample", "--run", str(run_dir / "run"), "--n", "5", "--out", str(keep)]) == 2
    assert keep.read_text() == "mine"


def test_sample_from_aggregate_caches_the_model_and_is_seeded(run_dir, tmp_path, capsys):
    import json

    from rotcurve.io import read_dataset
    from rotcurve.run import load_run

    cache = run_dir / "run" / "aggregate-best.json"
    cache.unlink(missing_ok=True)
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    for out in (a, b):
        argv = ["sample", "--run", str(run_dir / "run"), "--n", "40", "--seed", "2", "--from", "aggregate",
                "--out", str(out), "--quiet"]
        assert main(argv) == 0
    record = json.loads(cache.read_text())
    chosen = record["choice"]
    assert f"latents from the {chosen} latent aggregate" in capsys.readouterr().out
    da, db = read_dataset(a), read_dataset(b)
    np.testing.assert_array_equal(da.v_circ, db.v_circ)
    assert da.attrs["latent_source"] == "aggregate" and da.attrs["latent_aggregate"] == chosen
    np.testing.assert_allclose(da.v_circ, load_run(run_dir / "run").sample(40, seed=2, source=chosen), rtol=1e-6)
    assert main(["sample", "--run", str(run_dir / "run"), "--n", "5", "--from", "gaussian",
                 "--out", str(tmp_path / "g.h5"), "--quiet"]) == 0
    assert read_dataset(tmp_path / "g.h5").attrs["latent_aggregate"] == "gaussian"
    with pytest.raises(SystemExit) as exc:
        main(["sample", "--run", str(run_dir / "run"), "--n", "5", "--from", "flow", "--out", str(tmp_path / "f.h5")])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err
    assert not (tmp_path / "f.h5").exists()

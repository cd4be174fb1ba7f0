"""``rotcurve fit``: outputs, exit status 0 / 1 (a galaxy failed) / 2 (bad command input), resume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from rotcurve.cli.main import build_parser, main

BASE = ["--walkers", "16", "--max-steps", "100", "--no-figures", "--workers", "1", "-q"]
FAST = [*BASE, "--no-report"]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A long CSV table of three galaxies, one with an error of zero."""
    rows = []
    for name, k, vmax in (("one", 9, 120.0), ("two", 7, 80.0), ("bad", 6, 60.0)):
        r = np.linspace(0.5, 10.0, k)
        for i in range(k):
            ev = 0.0 if (name == "bad" and i == 3) else 4.0
            rows.append({"name": name, "R": r[i], "V": vmax * r[i] / (r[i] + 2.0), "eV": ev})
    path = tmp_path_factory.mktemp("tables") / "curves.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_fit_is_registered():
    text = build_parser().format_help()
    assert "fit" in text


def test_success_and_failure_exit_status(table, tmp_path, capsys):
    good = tmp_path / "good.csv"
    df = pd.read_csv(table)
    df[df["name"] != "bad"].to_csv(good, index=False)
    assert main(["fit", "--data", str(good), "--out", str(tmp_path / "g"), *BASE]) == 0  # with the report
    assert (tmp_path / "g" / "report.html").is_file()
    out = capsys.readouterr().out
    assert "2 galaxies" in out and "0 failed" in out
    s = Table.read(tmp_path / "g" / "summary.ecsv")
    assert list(s["model"]) == ["disc-nfw", "disc-nfw"] and list(s["prior"]) == ["reference", "reference"]
    assert main(["fit", "--data", str(table), "--out", str(tmp_path / "b"), *FAST]) == 1
    err = capsys.readouterr().err
    assert "failed: bad:" in err and "galaxy bad, line 21 (R = " in err and "eV = 0" in err  # 9 + 7 rows + header
    assert "Traceback" not in err
    assert (tmp_path / "b" / "failures.csv").read_text().splitlines()[1].startswith("bad,")


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--prior", "nope"], "neither a known kind"),
        (["--model", "sparc"], "no galaxy has the Vgas, Vdisk columns"),
        (["--prior", "reference", "--model", "sparc"], "reference prior is for the disc-nfw model"),
    ],
)
def test_bad_command_input_exits_2(table, tmp_path, capsys, extra, match):
    assert main(["fit", "--data", str(table), "--out", str(tmp_path / "o"), *FAST, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and match in err


def test_missing_data_and_existing_outputs(table, tmp_path, capsys):
    assert main(["fit", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o"), *FAST]) == 2
    assert "no such file" in capsys.readouterr().err
    args = ["fit", "--data", str(table), "--out", str(tmp_path / "o"), *FAST]
    assert main(args) == 1
    capsys.readouterr()
    assert main(args) == 2
    assert "--overwrite or --resume" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 1
    assert main([*args, "--overwrite"]) == 1
    with pytest.raises(SystemExit) as info:
        main([*args, "--overwrite", "--resume"])
    assert info.value.code == 2

"""CITATION.cff and LICENSE: valid, and in step with the package."""

from __future__ import annotations

from pathlib import Path

import pytest

import rotcurve

ROOT = Path(__file__).resolve().parents[1]
yaml = pytest.importorskip("yaml")


@pytest.fixture(scope="module")
def cff():
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def test_citation_is_valid_yaml_with_the_package_version(cff):
    assert cff["cff-version"] == "1.2.0"
    assert cff["title"] == "rotcurve"
    assert str(cff["version"]) == rotcurve.__version__
    assert cff["license"] == "BSD-3-Clause"
    assert cff["authors"] == [{"name": "rotcurve developers"}]
    assert isinstance(cff["message"], str) and cff["message"]


def test_citation_references(cff):
    refs = {(r["authors"][0]["family-names"], r["year"]): r for r in cff["references"]}
    assert set(refs) == {("Lelli", 2016), ("Freeman", 1970), ("Navarro", 1997)}
    sparc = refs["Lelli", 2016]
    assert (sparc["volume"], sparc["start"]) == (152, 157) and "SPARC" in sparc["title"]
    for r in refs.values():
        assert r["type"] == "article" and r["doi"].startswith("10.")


def test_license_matches_the_metadata():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License")
    assert "Copyright (c) 2026, rotcurve developers" in text
    assert "BSD-3-Clause" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")

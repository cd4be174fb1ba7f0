"""Sphinx configuration of the rotcurve documentation.

Build (warnings are errors; no network is used)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Pages are Markdown (MyST).  Examples in the pages are ``pycon`` blocks that
``tests/test_docs.py`` runs as doctests, so they cannot drift from the code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The package is normally installed (pip install -e .); make a plain checkout
# work too.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Importing the package for autodoc must not start threads or touch a GPU.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import rotcurve  # noqa: E402

project = "rotcurve"
author = "rotcurve developers"
copyright = "rotcurve developers, BSD-3-Clause"
release = rotcurve.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

# -- MyST ---------------------------------------------------------------------
# dollarmath: $...$ and $$...$$ for equations (rendered by MathJax);
# colon_fence: ::: directives; deflist: definition lists in option tables.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
# Anchors for ## and ### headings, so pages can link to sections.
myst_heading_anchors = 3

# -- autodoc ------------------------------------------------------------------
# docs/api.md gives each package ``:members:`` without a list, so autodoc takes
# the package's __all__ (names without a docstring are left out), in source order.
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc docstrings already give types and shapes
# torch, sklearn, matplotlib etc. are real dependencies and are imported; no
# mocking, so an import error in the package fails the build.

# -- numpydoc -----------------------------------------------------------------
# The class pages list methods through autodoc's :members:; numpydoc's own
# member tables would list every method twice (and warn about each one it
# cannot find a stub for).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Docstring style is checked by the project's own rules, not at build time:
# no validation checks here (they would turn every style nit into an error
# under -W).
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False
# numpydoc loads sphinx.ext.autosummary; the API page uses automodule, so no
# stub pages are generated (and none are expected from a .md-only source).
autosummary_generate = False

# -- HTML ---------------------------------------------------------------------
html_theme = "alabaster"
html_static_path = ["_static"]
html_title = f"rotcurve {release}"
html_theme_options = {
    "description": "Surrogate models of galaxy rotation curves",
    "fixed_sidebar": False,
    "show_relbars": True,
}
# No intersphinx and no remote images: the build never touches the network.

"""Sphinx configuration for the sklearn_metal documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("SKLEARN_METAL_EXAMPLES_FAST", "1")

project = "sklearn_metal"
author = "sklearn_metal developers"
copyright = "2026, sklearn_metal developers"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/**/*.ipynb"]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_default_options = {"members": True, "inherited-members": False}
# skorch's inherited docstrings are not numpydoc; document our own members only
numpydoc_validation_checks = set()
nitpicky = False
suppress_warnings = ["config.cache"]

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
}
html_theme = "alabaster"
templates_path = ["_templates"]


def _skip_generated(app, what, name, obj, skip, options):
    # scikit-learn adds set_*_request methods to every estimator class
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_generated)

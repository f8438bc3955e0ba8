"""Sphinx configuration of the skunlearn documentation.

Build from the repository root (offline: nothing is fetched at build time)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Set ``SKUNLEARN_GALLERY=0`` to skip running the gallery examples (their pages
are then built without outputs).
"""

# SPDX-License-Identifier: BSD-3-Clause

import os
import sys
import warnings
from pathlib import Path

# The checkout's package, installed or not.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import skunlearn  # noqa: E402

project = "skunlearn"
author = "The skunlearn developers"
copyright = "The skunlearn developers"
release = skunlearn.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb"]
# No intersphinx: the site builds offline. Links to scikit-learn's pages are
# written as URLs (see the ``sklearn`` role below).
default_role = "literal"
nitpicky = False

# -- autodoc / autosummary / numpydoc ----------------------------------------
autosummary_generate = True
autodoc_default_options = {}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# numpydoc turns types in Parameters sections into cross-references; without
# intersphinx, names from scikit-learn, numpy and Python would not resolve and
# are shown as plain text instead.
numpydoc_xref_param_type = False

# -- MyST (Markdown pages: the changelog, the receipt schema) ----------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# -- sphinx-gallery -----------------------------------------------------------
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg",
)
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "plot_gallery": os.environ.get("SKUNLEARN_GALLERY", "1") != "0",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "reference_url": {"skunlearn": None},
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("skunlearn",),
    "show_memory": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skunlearn {release}"
html_static_path = []
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"changelog": [], "benchmarks": []}
html_show_sourcelink = True


# -- members documented ---------------------------------------------------------
def _defined_in_skunlearn(obj):
    import inspect

    for candidate in (obj, getattr(obj, "fget", None), getattr(obj, "fn", None)):
        if candidate is None:
            continue
        module = getattr(inspect.unwrap(candidate), "__module__", None) or ""
        if module.startswith("skunlearn"):
            return True
    return False


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document a class's own members and those skunlearn adds, not scikit-learn's.

    Methods inherited from scikit-learn (``predict`` of a ``Pipeline``,
    ``score``, the generated ``set_*_request`` methods) are documented by
    scikit-learn; their docstrings point into its glossary, which this site
    does not have.
    """
    if what != "class" or skip:
        return None
    return None if _defined_in_skunlearn(obj) else True


# -- every public name has a reference page -------------------------------------
# The public modules and the names documented elsewhere (re-exports).
PUBLIC_MODULES = (
    "skunlearn",
    "skunlearn.pipeline",
    "skunlearn.strategies",
    "skunlearn.tree",
    "skunlearn.ensemble",
    "skunlearn.cluster",
    "skunlearn.neural_net",
    "skunlearn.metrics",
    "skunlearn.audit",
    "skunlearn.io",
    "skunlearn.utils.estimator_checks",
    "skunlearn.exceptions",
)
DOCUMENTED_ELSEWHERE = {
    "skunlearn": {"__version__", *skunlearn.exceptions.__all__},
    "skunlearn.strategies": {"register_strategy"},
}


def _check_api_reference(app):
    """Warn (an error under ``-W``) about public names without a reference page.

    The names are each public module's ``__all__``; the pages are the
    autosummary entries of ``api/index.rst``, under their ``currentmodule``.
    """
    import importlib
    import re

    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    text = (Path(app.srcdir) / "api" / "index.rst").read_text(encoding="utf-8")
    documented, module = set(), None
    for line in text.splitlines():
        m = re.match(r"\.\. currentmodule:: (\S+)", line)
        if m:
            module = m[1]
        elif module and re.match(r"   [A-Za-z_]\w*$", line):
            documented.add(f"{module}.{line.strip()}")
    for name in PUBLIC_MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:  # an optional extra missing: its page says so
            continue
        skip = DOCUMENTED_ELSEWHERE.get(name, set())
        for public in getattr(mod, "__all__", ()):
            if public not in skip and f"{name}.{public}" not in documented:
                logger.warning(
                    "%s.%s is public (in __all__) but has no page in "
                    "docs/api/index.rst",
                    name,
                    public,
                )


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("builder-inited", _check_api_reference)

"""Sphinx configuration: MyST Markdown pages, API reference from docstrings, warnings are errors."""

from __future__ import annotations

import dbsnap

project = "dbsnap"
author = "the dbsnap authors"
release = dbsnap.__version__
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_use_ivar = True
html_theme = "alabaster"
suppress_warnings = ["myst.xref_missing"]
nitpicky = False

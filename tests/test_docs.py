"""Drift tests: the docs say what the code does (CLI reference, environment variables, hooks)."""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

from dbsnap import hookspecs
from dbsnap.retention import PERIODS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DOCS_SITE = "https://dbsnap.readthedocs.io/en/latest/"


def test_the_cli_reference_is_generated_from_the_parser() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import cli_reference  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    assert (DOCS / "cli.md").read_text() == cli_reference.render(), "run: python scripts/cli_reference.py"


def test_the_contract_reference_is_generated_from_the_code() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import contract_reference  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    assert (DOCS / "contract.md").read_text() == contract_reference.render(), (
        "run: python scripts/contract_reference.py"
    )


def _variables_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        found |= set(re.findall(r"\b((?:DBSNAP|BACKUP)_[A-Z_]+[A-Z])\b", path.read_text()))
    found |= {f"DBSNAP_KEEP_{rule.upper()}" for rule in ("last", *PERIODS)}
    found |= {f"DBSNAP_KEEP_WITHIN{suffix.upper()}" for suffix in ("", *(f"_{p}" for p in PERIODS))}
    found.add("DATABASE_URL")
    return found


def test_every_environment_variable_is_in_the_configuration_table() -> None:
    table = (DOCS / "configuration.md").read_text()
    missing = sorted(v for v in _variables_in_code() if f"`{v}`" not in table)
    assert missing == []


def _hooks() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(func)
        for name, func in vars(hookspecs).items()
        if name.startswith("dbsnap_") and callable(func)
    }


def test_every_hook_is_documented_with_its_signature() -> None:
    page = (DOCS / "plugins.md").read_text()
    for name, signature in _hooks().items():
        call = f"{name}({', '.join(signature.parameters)})"
        assert f"`{call}`" in page, call


def test_every_hook_has_a_test() -> None:
    tests = "\n".join(p.read_text() for p in Path(__file__).parent.rglob("*.py") if p.name != "test_docs.py")
    assert [name for name in _hooks() if name not in tests] == []


def test_the_readme_links_work_on_a_package_index_page() -> None:
    """PyPI shows README.md without the docs folder: every link is absolute and names a real page."""
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    relative = [t for t in targets if "://" not in t and not t.startswith("#")]
    assert relative == []
    pages = [t for t in targets if t.startswith(DOCS_SITE)]
    assert len(pages) >= 10
    missing = [t for t in pages if not (DOCS / t.removeprefix(DOCS_SITE).replace(".html", ".md")).exists()]
    assert missing == []

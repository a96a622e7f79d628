"""The command line shared by the scripts that write a generated docs page: write it, or --check it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


def write_or_check(target: Path, render: Callable[[], str]) -> int:
    """Write render() to `target`; with --check, write nothing and return 1 if `target` differs."""
    text = render()
    if "--check" in sys.argv:
        return 0 if target.read_text() == text else 1
    target.write_text(text)
    return 0

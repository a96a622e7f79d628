"""The command line: `dbsnap COMMAND`, one module per command, imported only when it runs."""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (see dbsnap.cli.exits)."""
    from dbsnap.cli.main import main as run

    return run(argv)

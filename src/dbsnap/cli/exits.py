"""Exit codes: the contract scripts and monitors read (docs/operations.md has the table; tests pin it)."""

from __future__ import annotations

OK = 0
FAILURE = 1
USAGE = 2
VERIFICATION_FAILED = 3
PARTIAL = 4
STORE_MISSING = 10
LOCK_HELD = 11
STALE = 12
INTERRUPTED = 130
TERMINATED = 143
PIPE_CLOSED = 141

MEANINGS = {
    OK: "success",
    FAILURE: "failure",
    USAGE: "usage error",
    VERIFICATION_FAILED: "verification failed",
    PARTIAL: "partial (some stores done, others failed)",
    STORE_MISSING: "store does not exist",
    LOCK_HELD: "lock held by another run",
    STALE: "stale (check)",
    INTERRUPTED: "interrupted (SIGINT)",
    TERMINATED: "terminated (SIGTERM)",
    PIPE_CLOSED: "output pipe closed",
}


def summary() -> str:
    """One line for --help: every code and what it means."""
    return ", ".join(f"{code} {meaning}" for code, meaning in MEANINGS.items())

"""Startup stays light: `import dbsnap` and the quick commands import nothing heavy they do not use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_env, make_db, run_cli

# Heavy or slow to import, and useless to the commands below (measured with python -X importtime).
HEAVY = {
    "asyncio", "asyncssh", "botocore", "celery", "django", "fsspec", "pluggy", "psycopg", "pyrage",
    "s3fs", "sshfs", "tqdm",
}  # fmt: skip
PROBE = """
import json, sys
argv = json.loads(sys.argv[1])
if argv:
    from dbsnap.cli import main
    try:
        main(argv)
    except SystemExit:
        pass
else:
    import dbsnap
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def _top_modules(argv: list[str]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)], env=cli_env(), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "argv",
    [[], ["--version"], ["--help"], ["list", "--store", "STORE"], ["check", "--store", "STORE"]],
    ids=["import dbsnap", "--version", "--help", "list", "check"],
)
def test_quick_commands_import_nothing_heavy(argv: list[str], tmp_path: Path) -> None:
    store = tmp_path / "backups"
    run_cli("snapshot", f"sqlite:///{make_db(tmp_path / 'app.db')}", "--store", str(store))
    argv = [str(store) if a == "STORE" else a for a in argv]
    loaded = _top_modules(argv)
    assert "dbsnap" in loaded
    assert loaded & HEAVY == set()


def test_the_entry_point_cache_survives_files_written_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m dbsnap` puts the working folder first on sys.path; a store written there must not
    turn every run into a full metadata scan (75 ms), while a distribution appearing there must."""
    from dbsnap import entrypoints

    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path[1:]])
    groups = ("dbsnap.drivers",)
    before = entrypoints._key(groups)
    (tmp_path / "backups").mkdir()
    (tmp_path / "app.db").write_bytes(b"x")
    assert entrypoints._key(groups) == before
    (tmp_path / "someplugin-1.0.dist-info").mkdir()
    assert entrypoints._key(groups) != before

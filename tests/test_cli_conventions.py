"""What users expect of a command line: any order, global options anywhere, suggestions, completion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import dbsnap
from tests.conftest import cli_env, make_db, run_cli
from tests.sshserver import SshServer


@pytest.fixture
def made(tmp_path: Path) -> tuple[str, Path, str]:
    """(database URL, store, snapshot name)."""
    db = make_db(tmp_path / "app.db")
    store = tmp_path / "store"
    return f"sqlite:///{db}", store, dbsnap.snapshot(f"sqlite:///{db}", str(store)).name


def test_options_and_positionals_in_any_order(made: tuple[str, Path, str], tmp_path: Path) -> None:
    url, store, name = made
    assert run_cli("verify", name, "--restore", url, "--store", str(store)).returncode == 0
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    restored = run_cli("restore", name, "--yes", copy, "--store", str(store))
    assert restored.returncode == 0, restored.stderr
    assert run_cli("restore", "--store", str(store), name, copy, "--yes").returncode == 0


def test_global_options_after_the_command(made: tuple[str, Path, str]) -> None:
    _, store, name = made
    listed = run_cli("list", "--store", str(store), "--json", "-q")
    assert json.loads(listed.stdout)["snapshots"][0]["name"] == name
    verbose = run_cli("verify", name, "--store", str(store), "-v")
    assert verbose.returncode == 0
    assert f"Database backup: snapshot {name} in" in verbose.stderr
    before = run_cli("-v", "verify", name, "--store", str(store))
    assert before.stderr.splitlines()[-1] == verbose.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("typo", "meant"), [("lst", "list"), ("snapshto", "snapshot"), ("restor", "restore")]
)
def test_a_mistyped_command_gets_a_suggestion(typo: str, meant: str) -> None:
    result = run_cli(typo)
    assert result.returncode == 2
    assert f"unknown command {typo!r}; did you mean {meant!r}?" in result.stderr


def test_bash_completion_completes_commands_and_options() -> None:
    script = run_cli("completion", "bash").stdout
    probe = (
        f"{script}\n"
        'COMP_WORDS=(dbsnap sn); COMP_CWORD=1; _dbsnap; echo "${COMPREPLY[@]}"\n'
        'COMP_WORDS=(dbsnap prune --keep-l); COMP_CWORD=2; _dbsnap; echo "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["snapshot", "--keep-last"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_completion_name_every_command(shell: str) -> None:
    from dbsnap.cli.parser import HELP

    script = run_cli("completion", shell).stdout
    assert all(command in script for command in HELP)
    assert "--keep-last" in script or "keep-last" in script


def test_stale_after_zero_and_restic_durations_in_any_order(made: tuple[str, Path, str]) -> None:
    _, store, _ = made
    result = run_cli("prune", "--store", str(store), "--keep-within", "2d1y", "--stale-after", "0", "--json")
    assert result.returncode == 0, result.stderr
    assert "within 1y2d" in json.loads(result.stdout)["keep"][0]["reasons"]


def test_prune_without_any_policy_refuses_and_names_the_fix(made: tuple[str, Path, str]) -> None:
    _, store, name = made
    result = run_cli("prune", "--store", str(store))
    assert result.returncode == 2
    assert "--keep-last N" in result.stderr and "DBSNAP_KEEP_LAST" in result.stderr
    assert (store / name).exists()
    legacy = run_cli("prune", "--store", str(store), "--dry-run", env={"BACKUP_RETENTION_COUNT": "3"})
    assert legacy.returncode == 0, legacy.stderr


def test_library_chatter_stays_out_of_the_output_and_every_log_line_is_about_a_backup(
    sshd: SshServer, tmp_path: Path
) -> None:
    db = make_db(tmp_path / "app.db")
    url = sshd.url("conventions")
    (sshd.remote / "conventions").mkdir()
    import shutil

    shutil.chown(sshd.remote / "conventions", "dbsnaptest", "dbsnaptest")
    result = subprocess.run(
        [sys.executable, "-m", "dbsnap", "snapshot", f"sqlite:///{db}", "--store", url, "-v"],
        env=cli_env(sshd.env()), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines, "nothing logged with -v"
    assert [line for line in lines if not line.startswith(("Database backup", "dbsnap:"))] == []

"""No secret (database password, SFTP password, key passphrase) in argv, child environments, logs,
errors, manifests or exception reprs, for every command, succeeding and failing."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

import dbsnap
from dbsnap.exceptions import DbsnapError
from tests.conftest import cli_env
from tests.pgserver import PASSWORD as PG_PASSWORD
from tests.pgserver import Cluster, free_port
from tests.sshserver import PASSWORD as SFTP_PASSWORD
from tests.sshserver import SshServer

PASSPHRASE = "Key-Passphrase-SECRET-!@#-4242"
SECRETS = [PG_PASSWORD, quote(PG_PASSWORD, safe=""), SFTP_PASSWORD, quote(SFTP_PASSWORD, safe=""), PASSPHRASE]


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(
                    Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


class Watcher:
    """Samples every process's argv, and the environment of the command's children, while it runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.leaks: list[str] = []
        self.children_seen: set[str] = set()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _check(self, what: str, data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        for secret in SECRETS:
            if secret in text:
                self.leaks.append(f"{what}: {text[:200]!r}")

    def _run(self) -> None:
        while not self.done.is_set():
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    with contextlib.suppress(OSError):
                        self._check(f"argv of {entry}", Path(f"/proc/{entry}/cmdline").read_bytes())
            try:
                own = Path(f"/proc/{self.pid}/cmdline").read_bytes()
            except OSError:
                own = b""
            for child in _descendants(self.pid):
                try:
                    argv = Path(f"/proc/{child}/cmdline").read_bytes()
                    if argv == own:
                        # Forked but not yet exec'd: the same memory as dbsnap itself, which was
                        # started with the secrets in its environment by the test (as by a user).
                        continue
                    self.children_seen.add(argv.split(b"\0")[0].decode(errors="replace"))
                    self._check(f"environment of {argv[:60]!r}", Path(f"/proc/{child}/environ").read_bytes())
                except OSError:
                    pass
            self.done.wait(0.003)


def run_watched(args: list[str], env: dict[str, str], stdin: str = "") -> tuple[int, str, Watcher]:
    full = cli_env(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbsnap", "--debug", *args],
        env=full,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watcher = Watcher(proc.pid)
    out, err = proc.communicate(stdin, timeout=180)
    watcher.done.set()
    watcher.thread.join()
    return proc.returncode, out + err, watcher


def assert_clean(label: str, text: str, watcher: Watcher | None = None) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{label}: a secret is in the output:\n{text}"
    if watcher is not None:
        assert watcher.leaks == [], f"{label}: {watcher.leaks}"


@pytest.fixture(scope="module")
def secret_key(sshd: SshServer) -> Path:
    return sshd.add_key("passphrase_key", PASSPHRASE)


def test_no_secret_anywhere_in_any_command(
    pg: Cluster, sshd: SshServer, secret_key: Path, tmp_path: Path
) -> None:
    source = pg.createdb("secretive")
    with pg.connect("secretive") as conn:
        conn.execute("CREATE TABLE t AS SELECT g FROM generate_series(1, 300000) g")
    local = tmp_path / "local"
    sftp = sshd.url("secrets")
    with_password = {
        "DBSNAP_DATABASE_URL": source,
        "DBSNAP_SFTP_KNOWN_HOSTS": str(sshd.known_hosts),
        "DBSNAP_SFTP_PASSWORD": SFTP_PASSWORD,
    }
    with_key = {
        "DBSNAP_DATABASE_URL": source,
        "DBSNAP_SFTP_KNOWN_HOSTS": str(sshd.known_hosts),
        "DBSNAP_SFTP_KEY_FILE": str(secret_key),
        "DBSNAP_SFTP_KEY_PASSPHRASE": PASSPHRASE,
    }
    succeeding = [
        (["snapshot", "--store", str(local), "--store", sftp, "--json"], with_password),
        (["snapshot", "--store", sftp], with_key),
        (["list", "--store", sftp, "--json"], with_key),
        (["verify", "--all", "--store", sftp], with_password),
        (["prune", "--store", sftp, "--keep-last", "5"], with_key),
        (["plugins"], with_key),
    ]
    saw_pg_dump = False
    for args, env in succeeding:
        code, text, watcher = run_watched(args, env)
        assert code == 0, (args, text)
        assert_clean(" ".join(args), text, watcher)
        saw_pg_dump |= any(c.endswith("pg_dump") for c in watcher.children_seen)
    assert saw_pg_dump, "pg_dump was never seen running: the environment check proved nothing"
    name = dbsnap.list_snapshots(str(local))[0].name
    for args, env in [
        (["verify", name, "--restore", "--store", str(local)], with_password),
        (["restore", name, "--store", sftp, "--yes"], with_key),
    ]:
        code, text, watcher = run_watched(args, env)
        assert code == 0, (args, text)
        assert_clean(" ".join(args), text, watcher)
    wrong_pg = source.replace(quote(PG_PASSWORD, safe=""), quote("x" + PG_PASSWORD[::-1], safe=""))
    failing = [
        (["snapshot", "--store", str(local)], {**with_password, "DBSNAP_DATABASE_URL": wrong_pg}),
        (["snapshot", "--store", sftp], {**with_password, "DBSNAP_SFTP_PASSWORD": "wrong" + SFTP_PASSWORD}),
        (["snapshot", "--store", sftp], {**with_key, "DBSNAP_SFTP_KEY_PASSPHRASE": PASSPHRASE + "x"}),
        (
            ["restore", name, "--store", str(local), "--yes"],
            {**with_password, "DBSNAP_DATABASE_URL": source.replace(f":{pg.port}/", f":{free_port()}/")},
        ),
    ]
    for args, env in failing:
        code, text, watcher = run_watched(args, env)
        assert code != 0, (args, text)
        assert_clean(" ".join(args), text, watcher)
    for manifest in [*local.glob("*.manifest.json"), *(sshd.remote / "secrets").glob("*.manifest.json")]:
        assert_clean(str(manifest), manifest.read_text())


def test_exception_reprs_hold_no_secret(
    pg: Cluster, sshd: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBSNAP_SFTP_KNOWN_HOSTS", str(sshd.known_hosts))
    wrong_pg = pg.url("postgres", password="x" + PG_PASSWORD)
    wrong_sftp = sshd.url("x", password=quote("wrong" + SFTP_PASSWORD, safe=""))
    attempts: list[Callable[[], object]] = [
        lambda: dbsnap.snapshot(wrong_pg, str(tmp_path / "s")),
        lambda: dbsnap.snapshot(pg.url("postgres"), wrong_sftp),
        lambda: dbsnap.list_snapshots(wrong_sftp),
    ]
    for attempt in attempts:
        with pytest.raises(DbsnapError) as info:
            attempt()
        for text in (
            str(info.value),
            repr(info.value),
            repr(info.value.__cause__),
            repr(info.value.__context__),
        ):
            for secret in [
                *SECRETS,
                "x" + PG_PASSWORD,
                "wrong" + SFTP_PASSWORD,
                quote("x" + PG_PASSWORD, safe=""),
            ]:
                assert secret not in text, text


def test_a_password_in_the_url_query_is_never_shown(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    url = f"postgresql://app@127.0.0.1:{free_port()}/shop?password=Query-SECRET-5150&sslmode=disable"
    shown = run_cli("--debug", "snapshot", url, "--store", str(tmp_path))
    assert shown.returncode == 1
    assert "password=***" in shown.stderr and "Query-SECRET-5150" not in shown.stdout + shown.stderr
    unknown = run_cli("--debug", "snapshot", url.replace("postgresql", "mysql"), "--store", str(tmp_path))
    assert unknown.returncode == 2 and "Query-SECRET-5150" not in unknown.stdout + unknown.stderr

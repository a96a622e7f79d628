"""The SFTP store against a real OpenSSH server: tee to several stores, host keys, faults."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dbsnap
from dbsnap.exceptions import StoreError
from dbsnap.testing.storekit import StoreKit
from tests.conftest import make_blob_db, make_db, run_cli, table_dump
from tests.sshserver import PASSWORD, USER, SshServer


def remote_files(sshd: SshServer, folder: str) -> list[Path]:
    path = sshd.remote / folder
    return sorted(path.iterdir()) if path.exists() else []


def test_snapshot_to_local_and_sftp_then_list_verify_restore(
    sshd: SshServer, db: Path, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    url = sshd.url("both")
    made = run_cli(
        "snapshot", f"sqlite:///{db}", "--store", str(local), "--store", url, "--json", env=sshd.env()
    )
    assert made.returncode == 0, made.stderr
    outcome = json.loads(made.stdout)
    assert [s["ok"] for s in outcome["stores"]] == [True, True]
    name = outcome["snapshot"]["name"]
    assert (local / name).read_bytes() == (sshd.remote / "both" / name).read_bytes()
    listed = json.loads(run_cli("list", "--store", url, "--json", env=sshd.env()).stdout)["snapshots"]
    assert [m["name"] for m in listed] == [name]
    assert run_cli("verify", "--all", "--store", url, env=sshd.env()).returncode == 0
    before = table_dump(db)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM items")
    conn.commit()
    conn.close()
    temp = tmp_path / "tmp"
    temp.mkdir()
    restored = run_cli(
        "restore",
        name,
        f"sqlite:///{db}",
        "--store",
        url,
        "--yes",
        env={**sshd.env(), "DBSNAP_TMPDIR": str(temp)},
    )
    assert restored.returncode == 0, restored.stderr
    assert table_dump(db) == before
    assert list(temp.iterdir()) == []


def test_remote_files_are_private(sshd: SshServer, db: Path, sshd_env: SshServer) -> None:
    snap = dbsnap.snapshot(f"sqlite:///{db}", sshd.url("private"))
    folder = sshd.remote / "private"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in (snap.name, snap.name + ".manifest.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600


def test_password_authentication(sshd: SshServer, db: Path) -> None:
    env = {**sshd.env(key=False), "DBSNAP_SFTP_PASSWORD": PASSWORD}
    made = run_cli("--debug", "snapshot", f"sqlite:///{db}", "--store", sshd.url("pw"), env=env)
    assert made.returncode == 0, made.stderr
    assert len(remote_files(sshd, "pw")) == 2
    assert PASSWORD not in made.stdout + made.stderr
    for path in remote_files(sshd, "pw"):
        assert PASSWORD not in path.read_text(errors="replace")


def test_a_wrong_password_is_a_one_line_error(sshd: SshServer, db: Path) -> None:
    env = {**sshd.env(key=False), "DBSNAP_SFTP_PASSWORD": "wrong-" + PASSWORD}
    result = run_cli("snapshot", f"sqlite:///{db}", "--store", sshd.url("nope"), env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("dbsnap: error: authentication failed") and result.stderr.count("\n") == 1
    assert "wrong-" not in result.stderr and PASSWORD not in result.stderr
    assert not (sshd.remote / "nope").exists()


def test_an_unknown_host_key_is_refused_and_nothing_is_written(
    sshd: SshServer, db: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    env = {**sshd.env(), "DBSNAP_SFTP_KNOWN_HOSTS": str(empty)}
    result = run_cli("snapshot", f"sqlite:///{db}", "--store", sshd.url("unknown"), env=env)
    assert result.returncode == 1
    assert "ssh-keyscan -p" in result.stderr and str(empty) in result.stderr
    assert not (sshd.remote / "unknown").exists()
    missing = {**sshd.env(), "DBSNAP_SFTP_KNOWN_HOSTS": str(tmp_path / "absent")}
    result = run_cli("snapshot", f"sqlite:///{db}", "--store", sshd.url("unknown"), env=missing)
    assert result.returncode == 1
    assert "does not exist" in result.stderr


def test_a_changed_host_key_is_refused(sshd: SshServer, db: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, key = other.with_suffix(".pub").read_text().split()[:2]
    forged = tmp_path / "known_hosts"
    forged.write_text(f"[127.0.0.1]:{sshd.port} {kind} {key}\n")
    result = run_cli(
        "snapshot",
        f"sqlite:///{db}",
        "--store",
        sshd.url("changed"),
        env={**sshd.env(), "DBSNAP_SFTP_KNOWN_HOSTS": str(forged)},
    )
    assert result.returncode == 1
    assert "host key" in result.stderr
    assert not (sshd.remote / "changed").exists()


def test_one_failing_store_does_not_stop_the_others(sshd: SshServer, db: Path, tmp_path: Path) -> None:
    local = tmp_path / "local"
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    result = run_cli(
        "snapshot",
        f"sqlite:///{db}",
        "--store",
        str(local),
        "--store",
        str(blocked),
        "--store",
        sshd.url("tee"),
        "--json",
        env=sshd.env(),
    )
    assert result.returncode == 4  # partial: committed to some stores, not all
    outcome = json.loads(result.stdout)
    assert [s["ok"] for s in outcome["stores"]] == [True, True, False]
    assert str(blocked) in result.stderr
    assert len(list(local.glob("*.manifest.json"))) == 1
    assert len([p for p in remote_files(sshd, "tee") if p.name.endswith(".manifest.json")]) == 1


def test_the_original_systems_variables_write_to_both_stores(
    sshd: SshServer, db: Path, tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{db}",
        "BACKUP_DIR": str(tmp_path / "legacy"),
        "BACKUP_RETENTION_COUNT": "2",
        "BACKUP_SFTP_ENABLED": "True",
        "BACKUP_SFTP_HOST": "127.0.0.1",
        "BACKUP_SFTP_PORT": str(sshd.port),
        "BACKUP_SFTP_USER": USER,
        "BACKUP_SFTP_PASSWORD": PASSWORD,
        "BACKUP_SFTP_DIRECTORY": str(sshd.remote / "legacy"),
        "DBSNAP_SFTP_KNOWN_HOSTS": str(sshd.known_hosts),
    }
    for _ in range(3):
        result = run_cli("snapshot", env=env)
        assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "legacy").glob("*.manifest.json"))) == 3
    assert len([p for p in remote_files(sshd, "legacy") if p.name.endswith(".manifest.json")]) == 3
    pruned = run_cli("prune", env=env)
    assert pruned.returncode == 0, pruned.stderr
    assert len(list((tmp_path / "legacy").glob("*.manifest.json"))) == 2
    assert len([p for p in remote_files(sshd, "legacy") if p.name.endswith(".manifest.json")]) == 2


def test_restore_refuses_a_corrupted_remote_payload(sshd: SshServer, db: Path, tmp_path: Path) -> None:
    url = sshd.url("corrupt")
    made = run_cli("snapshot", f"sqlite:///{db}", "--store", url, "--json", env=sshd.env())
    name = json.loads(made.stdout)["snapshot"]["name"]
    payload = sshd.remote / "corrupt" / name
    data = bytearray(payload.read_bytes())
    data[10] ^= 0x01
    payload.write_bytes(bytes(data))
    temp = tmp_path / "tmp"
    temp.mkdir()
    before = table_dump(db)
    env = {**sshd.env(), "DBSNAP_TMPDIR": str(temp)}
    result = run_cli("restore", name, f"sqlite:///{db}", "--store", url, "--yes", env=env)
    assert result.returncode == 3
    assert table_dump(db) == before
    assert list(temp.iterdir()) == []
    assert run_cli("verify", name, "--store", url, env=sshd.env()).returncode == 3


def _snapshot_and_kill(
    sshd: SshServer, db: Path, local: Path, folder: str, retries: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **sshd.env(), "DBSNAP_SFTP_RETRIES": retries}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dbsnap",
            "snapshot",
            f"sqlite:///{db}",
            "--store",
            str(local),
            "--store",
            sshd.url(folder),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    killed = 0
    while proc.poll() is None and time.monotonic() < deadline and not killed:
        temps = [p for p in remote_files(sshd, folder) if p.name.startswith(".")]
        if temps and temps[0].stat().st_size > 8 << 20:
            killed = sshd.kill_sessions()
        time.sleep(0.005)
    out, err = proc.communicate(timeout=120)
    assert killed, "the upload finished before the connection could be killed"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_a_connection_killed_mid_upload_fails_that_store_only(sshd: SshServer, tmp_path: Path) -> None:
    db = make_blob_db(tmp_path / "big.db", 120)
    local = tmp_path / "local"
    result = _snapshot_and_kill(sshd, db, local, "killed", retries="0")
    assert result.returncode == 4  # partial: the local store committed
    assert "connection" in result.stderr.lower() and "sftp://" in result.stderr
    assert len(list(local.glob("*.manifest.json"))) == 1
    assert run_cli("verify", "--all", "--store", str(local)).returncode == 0
    url = sshd.url("killed")
    assert json.loads(run_cli("list", "--store", url, "--json", env=sshd.env()).stdout)["snapshots"] == []
    again = run_cli("snapshot", f"sqlite:///{db}", "--store", url, env=sshd.env())
    assert again.returncode == 0, again.stderr
    swept = run_cli(
        "prune", "--store", url, "--keep-last", "5", "--stale-after", "0h", "--json", env=sshd.env()
    )
    assert swept.returncode == 0, swept.stderr
    assert json.loads(swept.stdout)["swept"]
    left = [p.name for p in remote_files(sshd, "killed")]
    assert len(left) == 2 and not any(n.startswith(".") for n in left)


def test_a_connection_killed_mid_upload_is_resumed_by_retry(sshd: SshServer, tmp_path: Path) -> None:
    db = make_blob_db(tmp_path / "big.db", 120)
    local = tmp_path / "local"
    result = _snapshot_and_kill(sshd, db, local, "resumed", retries="3")
    assert result.returncode == 0, result.stderr
    assert "retrying" in result.stderr
    url = sshd.url("resumed")
    verified = run_cli("verify", "--all", "--store", url, env=sshd.env())
    assert verified.returncode == 0, verified.stdout + verified.stderr
    local_payload = next(p for p in local.iterdir() if p.name.endswith(".zst"))
    assert local_payload.read_bytes() == (sshd.remote / "resumed" / local_payload.name).read_bytes()


def test_a_bad_url_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, sshd: SshServer) -> None:
    monkeypatch.setenv("DBSNAP_SFTP_KNOWN_HOSTS", str(sshd.known_hosts))
    with pytest.raises(dbsnap.ConfigError):
        dbsnap.list_snapshots("sftp:///no-host")
    with pytest.raises(StoreError, match="cannot connect"):
        dbsnap.list_snapshots(f"sftp://{USER}@127.0.0.1:1/x")


def test_several_databases_to_sftp_list_by_label(
    sshd: SshServer, tmp_path: Path, sshd_env: SshServer
) -> None:
    url = sshd.url("labels")
    for label in ("alpha", "beta"):
        dbsnap.snapshot(f"sqlite:///{make_db(tmp_path / f'{label}.db', 10)}", url)
    assert [s.database for s in dbsnap.list_snapshots(url, database="beta")] == ["beta"]


def test_progress_is_reported_through_fsspec_callbacks(
    sshd: SshServer, db: Path, tmp_path: Path, sshd_env: SshServer
) -> None:
    from fsspec.callbacks import Callback

    url = sshd.url("progress")
    made = Callback()
    snap = dbsnap.snapshot(f"sqlite:///{db}", [str(tmp_path / "local"), url], progress=made)
    assert made.value == snap.size
    fetched = Callback()
    dbsnap.restore(snap.name, f"sqlite:///{tmp_path / 'copy.db'}", url, progress=fetched)
    assert (fetched.size, fetched.value) == (snap.size, snap.size)
    checked = Callback()
    dbsnap.verify(snap.name, url, progress=checked)
    assert checked.value == snap.size


def test_turning_host_key_checking_off_is_loud(sshd: SshServer, db: Path, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    env = {
        **sshd.env(),
        "DBSNAP_SFTP_KNOWN_HOSTS": str(empty),
        "DBSNAP_SFTP_INSECURE_NO_HOST_KEY_CHECK": "true",
    }
    result = run_cli("snapshot", f"sqlite:///{db}", "--store", sshd.url("insecure"), env=env)
    assert result.returncode == 0, result.stderr
    assert "host key checking is OFF" in result.stderr


class TestSftpStore(StoreKit):
    @pytest.fixture
    def store_url(self, sshd_env: SshServer, tmp_path: Path) -> str:
        return sshd_env.url(f"kit-{tmp_path.name}")

    @pytest.fixture
    def store_env(self, sshd: SshServer) -> dict[str, str]:
        return sshd.env()


def test_a_missing_parent_folder_is_named_not_created(sshd: SshServer, db: Path, sshd_env: SshServer) -> None:
    with pytest.raises(StoreError, match="folder above"):
        dbsnap.snapshot(f"sqlite:///{db}", sshd.url("typo/backups"))
    assert not (sshd.remote / "typo").exists()

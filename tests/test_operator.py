"""Operator experience: a progress bar on a terminal only, notifications that never fail a backup."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

from tests.conftest import HOOK_TOKEN, make_blob_db, run_cli
from tests.pgserver import free_port

SECRET = HOOK_TOKEN


def run_in_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run dbsnap with stdin, stdout and stderr on a pseudo-terminal; return its code and what it drew."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("DBSNAP_")}, **env, "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbsnap", *args], stdin=follower, stdout=follower, stderr=follower, env=full
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(60)
    os.close(leader)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


def test_a_progress_bar_on_a_terminal_and_none_without(tmp_path: Path) -> None:
    db = make_blob_db(tmp_path / "big.db", 40)
    code, screen = run_in_pty(["snapshot", f"sqlite:///{db}", "--store", str(tmp_path / "s")], {})
    assert code == 0, screen
    assert "snapshot:" in screen and "B/s" in screen and "\r" in screen
    plain = run_cli("snapshot", f"sqlite:///{db}", "--store", str(tmp_path / "s"))
    assert plain.returncode == 0
    assert "B/s" not in plain.stderr and "\r" not in plain.stderr
    quiet_code, quiet = run_in_pty(
        ["--quiet", "snapshot", f"sqlite:///{db}", "--store", str(tmp_path / "s")], {}
    )
    assert quiet_code == 0 and "B/s" not in quiet
    json_code, as_json = run_in_pty(
        ["snapshot", f"sqlite:///{db}", "--store", str(tmp_path / "s"), "--json"], {}
    )
    assert json_code == 0 and "B/s" not in as_json
    name = json.loads(as_json[as_json.index("{") :])["snapshot"]["name"]
    code, screen = run_in_pty(
        ["restore", name, f"sqlite:///{tmp_path / 'copy.db'}", "--store", str(tmp_path / "s"), "--yes"], {}
    )
    assert code == 0 and "restore:" in screen and "B/s" in screen


def test_the_webhook_hears_of_a_failure_without_secrets(
    webhook: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, received = webhook
    database = f"postgresql://app:{SECRET}@127.0.0.1:{free_port()}/shop"
    result = run_cli(
        "snapshot",
        "--store",
        str(tmp_path / "s"),
        env={"DBSNAP_NOTIFY_URL": url, "DBSNAP_DATABASE_URL": database},
    )
    assert result.returncode == 1
    assert len(received) == 1
    event = received[0]
    assert event["event"] == "snapshot_failed" and event["database"] == "shop"
    assert set(event) >= {"event", "database", "store", "snapshot", "size", "duration", "error"}
    assert "cannot reach" in event["error"]
    assert SECRET not in json.dumps(event)


def test_the_webhook_hears_of_success_when_asked(
    webhook: tuple[str, list[dict[str, Any]]], db: Path, tmp_path: Path
) -> None:
    url, received = webhook
    env = {"DBSNAP_NOTIFY_URL": url}
    assert run_cli("snapshot", f"sqlite:///{db}", "--store", str(tmp_path / "s"), env=env).returncode == 0
    assert received == []
    env["DBSNAP_NOTIFY_ON_SUCCESS"] = "true"
    assert run_cli("snapshot", f"sqlite:///{db}", "--store", str(tmp_path / "s"), env=env).returncode == 0
    assert [e["event"] for e in received] == ["snapshot_finished"]
    assert (
        received[0]["size"] > 0
        and received[0]["snapshot"].startswith("app-")
        and received[0]["duration"] >= 0
    )


def test_a_dead_notifier_changes_no_exit_code(db: Path, tmp_path: Path) -> None:
    env = {
        "DBSNAP_NOTIFY_URL": f"http://127.0.0.1:{free_port()}/hook",
        "DBSNAP_NOTIFY_ON_SUCCESS": "true",
        "DBSNAP_NOTIFY_EMAIL": "ops@example.com",
        "DBSNAP_NOTIFY_EMAIL_ON_SUCCESS": "true",
        "DBSNAP_SMTP_HOST": "127.0.0.1",
        "DBSNAP_SMTP_PORT": str(free_port()),
        "DBSNAP_SMTP_TLS": "none",
    }
    good = run_cli("snapshot", f"sqlite:///{db}", "--store", str(tmp_path / "s"), env=env)
    assert good.returncode == 0, good.stderr
    assert "webhook to 127.0.0.1" in good.stderr and "e-mail notification" in good.stderr
    bad = run_cli("snapshot", f"sqlite:///{tmp_path}/missing.db", "--store", str(tmp_path / "s"), env=env)
    assert bad.returncode == 1


def test_email_notification_through_a_real_smtp_server(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list[Any] = []

    class Keep(Message):
        def handle_message(self, message: Any) -> None:
            received.append(message)

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = {
            "DBSNAP_NOTIFY_EMAIL": "ops@example.com",
            "DBSNAP_SMTP_HOST": "127.0.0.1",
            "DBSNAP_SMTP_PORT": str(port),
            "DBSNAP_SMTP_TLS": "none",
            "DBSNAP_DATABASE_URL": f"postgresql://app:{SECRET}@127.0.0.1:{free_port()}/shop",
        }
        result = run_cli("snapshot", "--store", str(tmp_path / "s"), env=env)
        assert result.returncode == 1
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        controller.stop()
    assert len(received) == 1
    message = received[0]
    assert "FAILED" in message["Subject"] and message["To"] == "ops@example.com"
    body = json.loads(message.get_payload(decode=True).decode())
    assert body["event"] == "snapshot_failed" and body["database"] == "shop"
    assert SECRET not in message.as_string()

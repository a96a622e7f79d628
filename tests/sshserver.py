"""A real OpenSSH sshd on a loopback port, with a generated host key, user key and password user."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import attrs

from tests.pgserver import free_port

USER = "dbsnaptest"
PASSWORD = "Sftp:@/?#%&'\" pässwörd-SECRET-9Z"
SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"


def _keygen(path: Path, passphrase: str = "") -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(path), "-C", "dbsnap-test"],
        check=True,
    )


def ensure_user() -> None:
    """Create the test login user with its password (needs root; the machine is a throwaway)."""
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True)
    subprocess.run(["chpasswd"], input=f"{USER}:{PASSWORD}\n", text=True, check=True)


@attrs.define
class SshServer:
    """A running sshd: where it listens, the files a client needs, and the remote folder for stores."""

    root: Path
    port: int
    proc: subprocess.Popen[bytes]
    known_hosts: Path
    key_file: Path
    remote: Path

    def url(self, folder: str = "backups", *, password: str | None = None) -> str:
        """An sftp:// URL for a folder under the user's remote area."""
        auth = USER if password is None else f"{USER}:{password}"
        return f"sftp://{auth}@127.0.0.1:{self.port}{self.remote}/{folder}"

    def env(self, *, key: bool = True) -> dict[str, str]:
        """Environment for dbsnap: known_hosts and (unless key=False) the user key."""
        env = {"DBSNAP_SFTP_KNOWN_HOSTS": str(self.known_hosts)}
        if key:
            env["DBSNAP_SFTP_KEY_FILE"] = str(self.key_file)
        return env

    def add_key(self, name: str, passphrase: str) -> Path:
        """Generate another user key (encrypted with `passphrase`), authorise it, return its path."""
        key = self.root / name
        _keygen(key, passphrase)
        with (self.root / "authorized_keys").open("a") as keys:
            keys.write((self.root / f"{name}.pub").read_text())
        return key

    def sessions(self) -> list[int]:
        """PIDs of every process serving a connection: sshd's per-connection processes and their children."""
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        found: list[int] = []
        frontier = {self.proc.pid}
        while frontier:
            children = {pid for pid, parent in parents.items() if parent in frontier}
            found.extend(children)
            frontier = children
        return found

    def kill_sessions(self) -> int:
        """Kill every open SSH connection's server processes (privsep monitor, child, sftp-server)."""
        pids = self.sessions()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def stop(self) -> None:
        """Stop sshd and remove its files."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def start_sshd() -> SshServer:
    """Start sshd as root on a free loopback port; raise RuntimeError when that cannot be done."""
    if os.geteuid() != 0:
        raise RuntimeError("the SFTP tests start a real sshd and need root (CI runs as root)")
    if not (os.path.exists(SSHD) and os.path.exists(SFTP_SERVER)):
        raise RuntimeError("openssh-server is not installed; run `make sysdeps`")
    ensure_user()
    root = Path(tempfile.mkdtemp(prefix="dbsnap-sshd-"))
    os.chmod(root, 0o755)
    _keygen(root / "host_key")
    _keygen(root / "user_key")
    shutil.copy(root / "user_key.pub", root / "authorized_keys")
    os.chmod(root / "authorized_keys", 0o644)
    remote = root / "remote"
    remote.mkdir()
    shutil.chown(remote, USER, USER)
    port = free_port()
    config = root / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {root}/host_key
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers {USER}
Subsystem sftp {SFTP_SERVER}
LogLevel ERROR
MaxStartups 100
MaxSessions 50
"""
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    with open(root / "sshd.log", "wb") as log:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=log)
    host_pub = (root / "host_key.pub").read_text().split()
    known = root / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    server = SshServer(root, port, proc, known, root / "user_key", remote)
    for _ in range(100):
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited: {(root / 'sshd.log').read_text()}")
        try:
            import socket

            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError("sshd did not start listening")

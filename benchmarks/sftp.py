"""Upload a large payload to a loopback sshd with dbsnap and with OpenSSH's sftp; list 1,000 snapshots.

Run from the repository root as root: python benchmarks/sftp.py [--megabytes 512] [--pairs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import HEADER, Run, pairs, run_command
from tests.sshserver import USER, SshServer, start_sshd

from dbsnap.manifest import Snapshot

UPLOAD = """
import sys, time
from dbsnap.resolve import open_store
from dbsnap.plugins import get_plugins
from dbsnap.streams import copy
store = open_store(sys.argv[1], get_plugins())
with store.writing(sys.argv[2], "0" * 12) as pending, open(sys.argv[3], "rb") as source:
    copy(source, pending.file, 1 << 20)
    pending.finish()
"""


def upload_dbsnap(server: SshServer, payload: Path, counter: list[int]) -> Run:
    counter[0] += 1
    env = {**os.environ, **server.env()}
    return run_command(
        [sys.executable, "-c", UPLOAD, server.url("bench"), f"up-{counter[0]}.bin", str(payload)], env
    )


def openssh_put(server: SshServer, local: Path, remote: str) -> Run:
    """Upload `local` to `remote` with OpenSSH's own sftp client (host key checked, batch mode)."""
    argv = [
        "sftp", "-q", "-b", "-", "-P", str(server.port), "-i", str(server.key_file),
        "-o", f"UserKnownHostsFile={server.known_hosts}", "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes", f"{USER}@127.0.0.1",
    ]  # fmt: skip
    return run_command(argv, stdin=f"put {local} {remote}\n")


def upload_openssh(server: SshServer, payload: Path, counter: list[int]) -> Run:
    counter[0] += 1
    return openssh_put(server, payload, f"{server.remote}/bench/ssh-{counter[0]}.bin")


def seed_listing(server: SshServer, count: int) -> str:
    folder = server.remote / "listing"
    folder.mkdir(exist_ok=True)
    shutil.chown(folder, USER, USER)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(count):
        name = f"app-{index:05d}.sqlite.zst"
        data = f"payload {index}".encode()
        (folder / name).write_bytes(data)
        manifest = Snapshot(
            name=name,
            database="app",
            driver="sqlite",
            created_at=start + timedelta(hours=index),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            codec="zstd",
        )
        (folder / f"{name}.manifest.json").write_text(manifest.to_json())
    return server.url("listing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=512)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    server = start_sshd()
    try:
        work = Path(tempfile.mkdtemp(prefix="dbsnap-bench-"))
        payload = work / "payload.bin"
        with payload.open("wb") as out:
            for _ in range(args.megabytes):
                out.write(os.urandom(1 << 20))
        (server.remote / "bench").mkdir()
        shutil.chown(server.remote / "bench", USER, USER)
        counter = [0]
        ratio = pairs(
            f"SFTP upload of {args.megabytes} MiB: dbsnap store / OpenSSH sftp put",
            lambda: upload_dbsnap(server, payload, counter),
            lambda: upload_openssh(server, payload, counter),
            args.pairs,
        )
        print(HEADER)
        print(ratio.row())
        for stale in (server.remote / "bench").iterdir():
            stale.unlink()
        url = seed_listing(server, 1000)
        os.environ.update(server.env())
        import dbsnap

        timings = []
        for _ in range(3):
            started = time.perf_counter()
            found = dbsnap.list_snapshots(url)
            timings.append(time.perf_counter() - started)
        assert len(found) == 1000
        print(
            f"\nlist_snapshots over SFTP, 1,000 snapshots: median {sorted(timings)[1]:.2f} s "
            f"(min {min(timings):.2f}, max {max(timings):.2f}; connection included)"
        )
        shutil.rmtree(work)
    finally:
        server.stop()


if __name__ == "__main__":
    main()

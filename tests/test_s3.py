"""The S3 store against a real S3-API server (moto's server mode on a loopback port)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

import dbsnap
from dbsnap.exceptions import StoreError
from dbsnap.plugins import create_plugins
from dbsnap.resolve import open_store
from dbsnap.stores.lock import is_lock
from dbsnap.testing.storekit import StoreKit
from tests.conftest import RECORD, cli_env, make_blob_db, make_db, run_cli, table_dump
from tests.s3server import S3Server


class TestS3Store(StoreKit):
    CREATE_RACES = 50
    TAKEOVER_RACES = 200

    @pytest.fixture
    def store_url(self, s3_env: S3Server) -> str:
        return s3_env.url()

    @pytest.fixture
    def store_env(self, s3: S3Server) -> dict[str, str]:
        return s3.env()


def test_snapshot_to_local_and_s3_then_everything_from_s3_alone(s3: S3Server, tmp_path: Path) -> None:
    db = make_db(tmp_path / "app.db")
    remote = s3.url("app")
    env = s3.env()
    made = run_cli(
        "snapshot",
        f"sqlite:///{db}",
        "--store",
        str(tmp_path / "local"),
        "--store",
        remote,
        "--json",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    stores = {s["store"]: s["ok"] for s in json.loads(made.stdout)["stores"]}
    assert stores == {str(tmp_path / "local"): True, remote: True}
    name = json.loads(made.stdout)["snapshot"]["name"]
    listed = run_cli("list", "--store", remote, "--json", env=env)
    assert [s["name"] for s in json.loads(listed.stdout)["snapshots"]] == [name]
    assert run_cli("verify", name, "--store", remote, env=env).returncode == 0
    assert run_cli("verify", name, f"sqlite:///{db}", "--restore", "--store", remote, env=env).returncode == 0
    before = table_dump(db)
    db.unlink()
    restored = run_cli("restore", name, f"sqlite:///{db}", "--yes", "--store", remote, env=env)
    assert restored.returncode == 0, restored.stderr
    assert table_dump(db) == before
    second = run_cli("snapshot", f"sqlite:///{db}", "--store", remote, "--json", env=env)
    assert second.returncode == 0, second.stderr
    pruned = run_cli("prune", "--store", remote, "--keep-last", "1", "--json", env=env)
    assert pruned.returncode == 0, pruned.stderr
    assert [r["name"] for r in json.loads(pruned.stdout)["remove"]] == [name]
    assert len(json.loads(run_cli("list", "--store", remote, "--json", env=env).stdout)["snapshots"]) == 1


def test_the_store_options_reach_every_object(s3_env: S3Server, tmp_path: Path) -> None:
    import boto3

    db = make_db(tmp_path / "app.db", rows=10)
    url = s3_env.url("classes") + "?storage_class=STANDARD_IA&sse=AES256"
    snap = dbsnap.snapshot(f"sqlite:///{db}", url)
    client = boto3.client("s3", endpoint_url=s3_env.endpoint)
    for key in (f"classes/{snap.name}", f"classes/{snap.name}.manifest.json"):
        head = client.head_object(Bucket=s3_env.bucket, Key=key)
        assert head.get("StorageClass") == "STANDARD_IA"
        assert head.get("ServerSideEncryption") == "AES256"
    with pytest.raises(Exception, match="unknown S3 store option"):
        dbsnap.snapshot(f"sqlite:///{db}", s3_env.url("x") + "?storage=x")


def test_a_missing_bucket_and_bad_credentials_are_named(s3_env: S3Server, tmp_path: Path) -> None:
    db = make_db(tmp_path / "app.db", rows=10)
    with pytest.raises(StoreError, match="does not exist; create it"):
        dbsnap.snapshot(f"sqlite:///{db}", "s3://no-such-bucket-dbsnap/x")
    missing = run_cli("list", "--store", s3_env.url("never-written"), env=s3_env.env())
    assert missing.returncode == 10, missing.stderr


def test_listing_a_thousand_snapshots_takes_under_two_seconds(
    s3_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first listing reads every manifest; later ones read only what changed (the manifest cache)."""
    monkeypatch.setenv("DBSNAP_CACHE_DIR", str(tmp_path / "cache"))
    from dbsnap.manifest import Snapshot

    store = open_store(s3_env.url("thousand"), create_plugins())
    template = dbsnap.snapshot(f"sqlite:///{make_db(tmp_path / 'a.db', rows=1)}", store.url)
    data = store.medium.read(template.name, 1 << 20)
    manifest = Snapshot.from_json(store.medium.read(f"{template.name}.manifest.json"))
    for index in range(999):
        name = f"a-{index:04d}.sqlite.zst"
        store.medium.put(name, data)
        store.medium.put(f"{name}.manifest.json", attrs.evolve(manifest, name=name).to_json().encode())
    assert len(dbsnap.list_snapshots(store.url)) == 1000  # cold: 1,000 GETs
    started = time.monotonic()
    listed = dbsnap.list_snapshots(store.url)
    elapsed = time.monotonic() - started
    assert len(listed) == 1000
    assert elapsed < 2.0, f"listing 1,000 snapshots took {elapsed:.2f}s"
    tampered = tmp_path / "cache"
    for path in tampered.rglob("*"):
        if path.is_file():
            path.write_bytes(path.read_bytes().replace(b'"sqlite"', b'"sqlitX"'))
    # A cache damaged behind dbsnap's back is caught by each manifest's own checksum, and the
    # store's own copy is read instead: a bad cache never hides a snapshot.
    assert len(dbsnap.list_snapshots(store.url)) == 1000


KILLER = """
import sys
import dbsnap
dbsnap.snapshot(sys.argv[1], sys.argv[2])
"""


@pytest.mark.slow
def test_sigkill_at_random_during_s3_uploads_leaves_nothing_invalid_and_no_debris(
    s3: S3Server, tmp_path: Path
) -> None:
    db = make_blob_db(tmp_path / "blobs.db", megabytes=24)  # incompressible: a multipart upload
    url = s3.url("killed")
    env = cli_env(s3.env())
    rng = random.Random(20261128)
    for _ in range(30):
        proc = subprocess.Popen([sys.executable, "-c", KILLER, f"sqlite:///{db}", url], env=env)
        time.sleep(rng.uniform(0.05, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    os.environ.update(s3.env())
    try:
        store = open_store(url, create_plugins())
        for snap in store.snapshots():
            dbsnap.verify(snap.name, url)  # every snapshot that lists is whole
        store.sweep(timedelta(0))
        left = [n for n in store.entries() if not is_lock(n) and not RECORD.fullmatch(n)]
        valid = {s.name for s in store.snapshots()}
        assert sorted(left) == sorted(valid | {f"{n}.manifest.json" for n in valid})
        assert store.medium.incomplete_uploads() == {}
    finally:
        for key in s3.env():
            os.environ.pop(key, None)

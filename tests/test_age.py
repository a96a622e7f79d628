"""Encryption with age: interoperable with the age command line both ways, nothing in clear in any store."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import dbsnap
from dbsnap.agecodec import DecryptionError, read_identities
from dbsnap.api import Encryption
from dbsnap.manifest import Snapshot
from dbsnap.plugins import create_plugins
from dbsnap.resolve import get_codec
from tests.conftest import run_cli, table_dump
from tests.pgcorpus import pg_dump_text
from tests.pgserver import Cluster
from tests.s3server import S3Server
from tests.sshserver import SshServer

MARKER = "MARKER-dbsnap-cleartext-4f1c"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[str, Path, Path]:
    """An identity made by age-keygen: (its public key, the identity file, another identity file)."""
    identity, other = tmp_path / "id.txt", tmp_path / "other.txt"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    subprocess.run(["age-keygen", "-o", str(other)], check=True, capture_output=True)
    public = next(line.split()[-1] for line in identity.read_text().splitlines() if "public key" in line)
    return public, identity, other


@pytest.fixture
def marked(tmp_path: Path) -> Path:
    db = tmp_path / "marked.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.executemany("INSERT INTO notes (body) VALUES (?)", [(f"{MARKER} {i}",) for i in range(500)])
    return db


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_a_sqlite_snapshot_decrypts_with_the_age_tool_and_restores_with_an_age_keygen_identity(
    keys: tuple[str, Path, Path], marked: Path, tmp_path: Path
) -> None:
    public, identity, _ = keys
    store = tmp_path / "store"
    made = run_cli("snapshot", f"sqlite:///{marked}", "--store", str(store), "--encrypt-to", public, "--json")
    assert made.returncode == 0, made.stderr
    manifest = json.loads(made.stdout)["snapshot"]
    assert manifest["codec"] == "zstd+age" and manifest["recipients"] == [public]
    assert manifest["name"].endswith(".sqlite.zst.age")
    payload = store / manifest["name"]
    plain = tmp_path / "by-age.db"
    subprocess.run(
        f"age -d -i {identity} {payload} | zstd -q -d -o {plain}", shell=True, check=True, capture_output=True
    )
    assert table_dump(plain) == table_dump(marked)
    restored = tmp_path / "restored.db"
    result = run_cli(
        "restore", manifest["name"], f"sqlite:///{restored}", "--store", str(store), "--yes",
        env={"DBSNAP_AGE_IDENTITY_FILE": str(identity)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert table_dump(restored) == table_dump(marked)


def test_the_age_tool_encrypts_and_dbsnap_reads_its_recipients_file(
    keys: tuple[str, Path, Path], marked: Path, tmp_path: Path
) -> None:
    public, identity, _ = keys
    recipients = tmp_path / "recipients.txt"
    recipients.write_text(f"# the backup key\n{public}\n")
    store = tmp_path / "store"
    made = run_cli(
        "snapshot", f"sqlite:///{marked}", "--store", str(store), "--recipients-file", str(recipients)
    )
    assert made.returncode == 0, made.stderr
    snap = dbsnap.list_snapshots(str(store))[0]
    assert snap.recipients == (public,)
    dbsnap.restore(snap.name, f"sqlite:///{tmp_path / 'r.db'}", str(store), identity=str(identity))


def test_a_postgres_snapshot_decrypts_with_age_zstd_and_pg_restore(
    pg: Cluster, keys: tuple[str, Path, Path], tmp_path: Path
) -> None:
    public, identity, _ = keys
    url = pg.createdb("age_source")
    with pg.connect("age_source") as conn:
        conn.execute(
            f"CREATE TABLE t (body text); INSERT INTO t SELECT '{MARKER}' || g FROM generate_series(1, 500) g"
        )
    store = tmp_path / "store"
    snap = dbsnap.snapshot(url, str(store), encryption=Encryption((public,)))
    listing = subprocess.run(
        f"age -d -i {identity} {store / snap.name} | zstd -q -d | pg_restore --list",
        shell=True, capture_output=True, text=True,
    )  # fmt: skip
    assert listing.returncode == 0 and "TABLE public t" in listing.stdout
    plain = run_cli("verify", snap.name, "--store", str(store), "--json")
    assert plain.returncode == 0 and "not checked" in json.loads(plain.stdout)["results"][0]["checks"]["note"]
    deep = run_cli("verify", snap.name, url, "--restore", "--identity", str(identity), "--store", str(store))
    assert deep.returncode == 0, deep.stdout + deep.stderr
    target = pg.createdb("age_target")
    dbsnap.restore(snap.name, target, str(store), identity=str(identity))
    assert pg_dump_text(pg, "age_target") == pg_dump_text(pg, "age_source")


def test_a_missing_or_wrong_identity_is_refused_naming_the_recipients_and_changes_nothing(
    keys: tuple[str, Path, Path], marked: Path, tmp_path: Path
) -> None:
    public, _, other = keys
    store = tmp_path / "store"
    snap = dbsnap.snapshot(f"sqlite:///{marked}", str(store), encryption=Encryption((public,)))
    live = tmp_path / "live.db"
    with sqlite3.connect(live) as conn:
        conn.execute("CREATE TABLE mine (x)")
    before = live.read_bytes()
    missing = run_cli("restore", snap.name, f"sqlite:///{live}", "--store", str(store), "--yes")
    assert missing.returncode == 1 and public[:20] in missing.stderr and "--identity" in missing.stderr
    wrong = run_cli(
        "restore", snap.name, f"sqlite:///{live}", "--store", str(store), "--yes", "--identity", str(other)
    )
    assert (
        wrong.returncode == 1 and "cannot decrypt" in wrong.stderr and "nothing was changed" in wrong.stderr
    )
    assert live.read_bytes() == before


@pytest.mark.parametrize("where", ["local", "sftp", "s3"])
def test_no_byte_of_an_encrypted_store_holds_the_cleartext(
    keys: tuple[str, Path, Path], marked: Path, tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> None:
    public = keys[0]
    clear = tmp_path / "clear"
    dbsnap.snapshot(f"sqlite:///{marked}", str(clear), codec="none")
    assert MARKER.encode() in _all_bytes(clear)  # the marker is there to be found in clear
    if where == "local":
        url, folder = str(tmp_path / "enc"), tmp_path / "enc"
    elif where == "sftp":
        sshd: SshServer = request.getfixturevalue("sshd_env")
        url, folder = sshd.url(f"enc-{tmp_path.name}"), sshd.remote / f"enc-{tmp_path.name}"
    else:
        s3: S3Server = request.getfixturevalue("s3_env")
        url, folder = s3.url(f"enc-{tmp_path.name}"), None
    for codec in ("none", "zstd"):
        dbsnap.snapshot(f"sqlite:///{marked}", url, codec=codec, encryption=Encryption((public,)))
    if folder is not None:
        stored = _all_bytes(folder)
    else:
        import boto3

        client = boto3.client("s3")
        keys_ = client.list_objects_v2(Bucket=s3.bucket, Prefix=f"enc-{tmp_path.name}/")["Contents"]
        stored = b"".join(client.get_object(Bucket=s3.bucket, Key=k["Key"])["Body"].read() for k in keys_)
    assert len(stored) > 10_000
    assert MARKER.encode() not in stored


def test_tampering_and_truncation_are_caught_by_the_checksum_and_by_age(
    keys: tuple[str, Path, Path], marked: Path, tmp_path: Path
) -> None:
    public, identity, _ = keys
    store = tmp_path / "store"
    snap = dbsnap.snapshot(f"sqlite:///{marked}", str(store), encryption=Encryption((public,)))
    payload = store / snap.name
    original = payload.read_bytes()
    for damaged in (original[:-100], original[:1000] + bytes([original[1000] ^ 1]) + original[1001:]):
        payload.write_bytes(damaged)
        assert run_cli("verify", snap.name, "--store", str(store)).returncode == 3
        # An attacker who can write the store can also forge a matching manifest; age still refuses.
        forged = Snapshot.from_manifest(
            {**snap.to_manifest(), "size": len(damaged), "sha256": hashlib.sha256(damaged).hexdigest()}
        )
        (store / f"{snap.name}.manifest.json").write_text(forged.to_json())
        with pytest.raises(DecryptionError):
            dbsnap.restore(snap.name, f"sqlite:///{tmp_path / 'r.db'}", str(store), identity=str(identity))
        assert not (tmp_path / "r.db").exists()
    payload.write_bytes(original)


def test_a_store_that_requires_encryption_never_gets_cleartext(marked: Path, tmp_path: Path) -> None:
    strict = f"file://{tmp_path / 'strict'}?encrypt=required"
    result = run_cli(
        "snapshot", f"sqlite:///{marked}", "--store", str(tmp_path / "local"), "--store", strict, "--json"
    )
    assert result.returncode == 4, result.stderr
    assert "requires encrypted snapshots" in result.stderr
    assert not (tmp_path / "strict").exists() or list((tmp_path / "strict").iterdir()) == []
    assert len(dbsnap.list_snapshots(str(tmp_path / "local"))) == 1


def test_the_offsite_copy_alone_can_be_encrypted(
    keys: tuple[str, Path, Path], marked: Path, tmp_path: Path
) -> None:
    public, identity, _ = keys
    local, offsite = str(tmp_path / "local"), str(tmp_path / "offsite")
    result = dbsnap.api.snapshot_to_stores(
        f"sqlite:///{marked}", [local, offsite], encryption=Encryption((public,), (offsite,))
    )
    by_store = {s.store: s for s in result.snapshots}
    assert by_store[local].codec == "zstd" and not by_store[local].recipients
    assert by_store[offsite].codec == "zstd+age" and by_store[offsite].name == by_store[local].name + ".age"
    assert MARKER.encode() not in _all_bytes(Path(offsite))
    restored = tmp_path / "from-offsite.db"
    dbsnap.restore(by_store[offsite].name, f"sqlite:///{restored}", offsite, identity=str(identity))
    assert table_dump(restored) == table_dump(marked)


def test_codecs_take_per_run_options_and_chains_reverse(
    keys: tuple[str, Path, Path], marked: Path, tmp_path: Path
) -> None:
    public, identity, _ = keys
    plugins = create_plugins()
    assert get_codec("zstd", plugins, level=9).level == 9  # type: ignore[attr-defined]
    chain = get_codec("zstd+age", plugins, level=1, recipients=[public])
    assert chain.name == "zstd+age" and chain.extension == ".zst.age"
    out = io.BytesIO()
    with chain.encoder(out) as sink:
        sink.write(b"x" * 100_000)
    assert b"x" * 64 not in out.getvalue() and out.getvalue().startswith(b"age-encryption.org/v1")
    decoding = get_codec("zstd+age", plugins, identities=read_identities(str(identity)))
    with decoding.decoder(io.BytesIO(out.getvalue())) as source:
        assert source.read() == b"x" * 100_000
    snap = dbsnap.snapshot(
        f"sqlite:///{marked}", str(tmp_path / "s"), codec="gzip", codec_options={"level": 1}
    )
    assert snap.codec == "gzip" and snap.name.endswith(".sqlite.gz")


def test_no_recipients_needs_no_pyrage_and_some_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without dbsnap[age] installed, an unencrypted run works and an encrypted one names the extra."""
    from dbsnap.agecodec import parse_recipients
    from dbsnap.exceptions import MissingExtraError

    monkeypatch.setitem(sys.modules, "pyrage", None)  # import pyrage now raises ImportError
    assert parse_recipients([]) == []
    assert parse_recipients(["", "# only a comment"]) == []
    with pytest.raises(MissingExtraError, match=r"pip install 'dbsnap\[age\]'"):
        parse_recipients(["age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"])

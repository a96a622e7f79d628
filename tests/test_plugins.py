"""The plugin system: a third-party driver, events, broken and conflicting plugins."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dbsnap
from dbsnap import hookimpl
from dbsnap.exceptions import PluginError, UnknownSchemeError
from dbsnap.plugins import Plugins
from tests.conftest import table_dump
from tests.plugins.textfile import TextFilePlugin


@pytest.fixture
def text_plugin(plugins: Plugins) -> Iterator[TextFilePlugin]:
    """Register the test-suite driver on the fresh manager, and always unregister it."""
    plugin = TextFilePlugin()
    plugins.register(plugin, name="textfile", dist="tests")
    yield plugin
    plugins.unregister("textfile")


def test_a_third_party_driver_snapshots_and_restores(
    plugins: Plugins, text_plugin: TextFilePlugin, tmp_path: Path
) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("hello plugin world\n" * 100)
    store = str(tmp_path / "store")
    snap = dbsnap.snapshot(f"text://{source}", store, plugins=plugins)
    assert snap.driver == "textfile" and snap.codec == "gzip" and snap.name.endswith(".txt.gz")
    source.write_text("changed")
    dbsnap.restore(snap.name, f"text://{source}", store, plugins=plugins)
    assert source.read_text() == "hello plugin world\n" * 100
    dbsnap.prune(store, dbsnap.Policy(keep_last=1), plugins=plugins)
    kinds = [event for event, _ in text_plugin.events]
    assert kinds == ["snapshot_finished", "restore_finished", "prune_finished"]
    assert plugins.drivers()["text"].dist == "tests"


def test_failure_event_fires(plugins: Plugins, text_plugin: TextFilePlugin, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        dbsnap.snapshot(f"text://{tmp_path}/missing.txt", str(tmp_path / "s"), plugins=plugins)
    assert text_plugin.events == [("snapshot_failed", "missing")]


def test_a_failing_event_hook_does_not_fail_the_snapshot(
    plugins: Plugins, db: Path, store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        @hookimpl
        def dbsnap_snapshot_finished(self, snapshot: Any) -> None:
            raise RuntimeError("notifier is down")

    plugins.register(Broken(), name="broken")
    snap = dbsnap.snapshot(f"sqlite:///{db}", str(store), plugins=plugins)
    assert dbsnap.verify(snap.name, str(store), plugins=plugins).snapshot == snap
    assert "notifier is down" in caplog.text


def test_two_plugins_registering_one_name_is_an_error_naming_both(plugins: Plugins) -> None:
    class Again:
        @hookimpl
        def dbsnap_register_drivers(self, register: Any) -> None:
            register("sqlite", object)

    plugins.register(Again(), name="again", dist="other-dist")
    with pytest.raises(PluginError) as info:
        plugins.drivers()
    assert "'sqlite'" in str(info.value) and "'again'" in str(info.value)
    assert "dbsnap" in str(info.value) and "other-dist" in str(info.value)


def test_a_misspelled_hook_fails_loudly(plugins: Plugins) -> None:
    class Typo:
        @hookimpl
        def dbsnap_register_driver(self, register: Any) -> None:
            raise AssertionError("never called")

    with pytest.raises(Exception, match="dbsnap_register_driver"):
        plugins.register(Typo(), name="typo")


def test_unknown_scheme_lists_installed_drivers(plugins: Plugins, tmp_path: Path) -> None:
    installed = ", ".join(sorted(plugins.drivers()))
    assert "postgresql, sqlite" in installed
    with pytest.raises(UnknownSchemeError, match=re.escape(f"(installed drivers: {installed})")):
        dbsnap.snapshot("oracle://db", str(tmp_path), plugins=plugins)


def _fake_distribution(
    root: Path,
    dist: str,
    entry_points: dict[str, str],
    modules: dict[str, str],
    group: str = "dbsnap",
    requires: tuple[str, ...] = (),
) -> None:
    # Wheels name the folder with underscores; a dash would make it look like "dbsnap" itself.
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    extras = "".join(f"Requires-Dist: {r}\n" for r in requires)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n{extras}")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{lines}\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


def _cli(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(root), **env}
    return subprocess.run(
        [sys.executable, "-m", "dbsnap", *args], env=full, capture_output=True, text=True, check=False
    )


def test_a_plugin_that_fails_to_import_is_reported_and_skipped(tmp_path: Path) -> None:
    _fake_distribution(
        tmp_path,
        "dbsnap-broken",
        {"broken": "dbsnap_broken_mod"},
        {"dbsnap_broken_mod": "import nosuchmodule\n"},
    )
    result = _cli(tmp_path, "plugins")
    assert result.returncode == 0
    assert "broken" in result.stderr and "dbsnap-broken" in result.stderr
    assert "failed to load plugin broken (dbsnap-broken)" in result.stdout
    assert "sqlite" in result.stdout
    blocked = _cli(tmp_path, "plugins", DBSNAP_DISABLE_PLUGINS="broken")
    assert "broken" not in blocked.stdout + blocked.stderr


def test_a_conflicting_third_party_plugin_is_an_error_naming_both(tmp_path: Path) -> None:
    source = """
    from dbsnap import hookimpl

    @hookimpl
    def dbsnap_register_drivers(register):
        register("sqlite", object)
    """
    _fake_distribution(tmp_path, "dbsnap-clash", {"clash": "dbsnap_clash_mod"}, {"dbsnap_clash_mod": source})
    result = _cli(tmp_path, "snapshot", "sqlite:///x.db", "--store", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "'clash' (dbsnap-clash)" in result.stderr and "'sqlite' (dbsnap)" in result.stderr


class XorCodec:
    """A toy codec: every byte XOR 0xFF."""

    name = "xor"
    extension = ".xor"

    @contextlib.contextmanager
    def encoder(self, sink: Any) -> Iterator[Any]:
        class Out:
            def write(self, data: bytes, /) -> int:
                return int(sink.write(bytes(b ^ 0xFF for b in data)) or len(data))

        yield Out()

    @contextlib.contextmanager
    def decoder(self, source: Any) -> Iterator[Any]:
        class In:
            def read(self, size: int = -1, /) -> bytes:
                return bytes(b ^ 0xFF for b in source.read(size))

        yield In()


class StorageAndCodecPlugin:
    @hookimpl
    def dbsnap_register_codecs(self, register: Any) -> None:
        register("xor", XorCodec())

    @hookimpl
    def dbsnap_register_stores(self, register: Any) -> None:
        from dbsnap.stores.memory import MemoryMedium

        register("testmem", lambda url, **options: MemoryMedium("testmem-" + url.split("://", 1)[1]))


def test_plugins_register_codecs_and_stores(plugins: Plugins, db: Path) -> None:
    plugins.register(StorageAndCodecPlugin(), name="storage-and-codec", dist="tests")
    url = "testmem://plugin-store"
    snap = dbsnap.snapshot(f"sqlite:///{db}", url, codec="xor", plugins=plugins)
    assert snap.codec == "xor" and snap.name.endswith(".sqlite.xor")
    assert [s.name for s in dbsnap.list_snapshots(url, plugins=plugins)] == [snap.name]
    before = table_dump(db)
    db.unlink()
    dbsnap.restore(snap.name, f"sqlite:///{db}", url, plugins=plugins)
    assert table_dump(db) == before
    assert plugins.codecs()["xor"].dist == "tests"
    assert plugins.stores()["testmem"].plugin == "storage-and-codec"


def test_every_event_hook_fires_through_pluggy(plugins: Plugins, db: Path, store: Path) -> None:
    heard: list[str] = []

    class Listener:
        @hookimpl
        def dbsnap_snapshot_started(self, database: str) -> None:
            heard.append(f"started {database}")

        @hookimpl
        def dbsnap_drill_finished(self, record: dict[str, Any]) -> None:
            heard.append(f"drill {record['ok']}")

        @hookimpl
        def dbsnap_drill_failed(self, database: str, error: BaseException, store: str | None) -> None:
            heard.append(f"drill failed {database} {store is not None}")

    plugins.register(Listener(), name="listener")
    traced: list[str] = []
    undo = plugins.pm.add_hookcall_monitoring(lambda name, *_: traced.append(name), lambda *_: None)
    snap = dbsnap.snapshot(f"sqlite:///{db}", str(store), plugins=plugins)
    dbsnap.drill(f"sqlite:///{db}", str(store), plugins=plugins)
    payload = store / snap.name
    payload.write_bytes(payload.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(dbsnap.VerificationError):
        dbsnap.drill(f"sqlite:///{db}", str(store), plugins=plugins)
    undo()
    assert heard == ["started app", "drill True", "drill False", "drill failed app True"]
    assert {"dbsnap_snapshot_started", "dbsnap_drill_finished", "dbsnap_drill_failed"} <= set(traced)


def test_a_url_loads_only_its_own_plugin_module() -> None:
    heavy = [
        "dbsnap.drivers.postgres", "dbsnap.drivers.sqlite", "dbsnap.stores.sftp", "dbsnap.stores.s3",
        "dbsnap.notify.webhook", "dbsnap.notify.email", "pluggy", "psycopg", "asyncssh", "s3fs",
    ]  # fmt: skip
    code = (
        "import sys\n"
        "from dbsnap.plugins import create_plugins\n"
        "from dbsnap.resolve import open_store\n"
        "open_store('./backups', create_plugins())\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_plugin_whose_extra_is_missing_says_how_to_install_it_first(tmp_path: Path) -> None:
    _fake_distribution(
        tmp_path,
        "dbsnap-needy",
        {"needy": "dbsnap_needy_mod:NeedyMedium [cloud]"},
        {"dbsnap_needy_mod": "class NeedyMedium:\n    pass\n"},
        group="dbsnap.stores",
        requires=('no-such-package-dbsnap-test>=1; extra == "cloud"',),
    )
    listed = _cli(tmp_path, "plugins", "--json")
    row = next(r for r in json.loads(listed.stdout)["plugins"] if r["name"] == "needy")
    assert row["usable"] is False and row["missing"] == ["no-such-package-dbsnap-test"]
    assert row["install"] == "pip install 'dbsnap-needy[cloud]'"
    used = _cli(tmp_path, "list", "--store", "needy://bucket/x")
    assert used.returncode == 1
    assert "pip install 'dbsnap-needy[cloud]'" in used.stderr


def test_a_typed_entry_point_clash_between_distributions_names_both(tmp_path: Path) -> None:
    _fake_distribution(
        tmp_path,
        "dbsnap-other-sqlite",
        {"sqlite": "dbsnap_other_sqlite:Driver"},
        {"dbsnap_other_sqlite": "class Driver:\n    name = 'sqlite'\n"},
        group="dbsnap.drivers",
    )
    result = _cli(tmp_path, "snapshot", "sqlite:///x.db", "--store", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "provided by two distributions, dbsnap-other-sqlite and dbsnap;" in result.stderr


@pytest.mark.parametrize("driver", ["mysql", "postgresql", "sqlite"])
def test_plugins_options_lists_what_the_driver_declares(driver: str) -> None:
    """`dbsnap plugins --options DRIVER --json` lists the options the driver declares."""
    from tests.conftest import run_cli

    registration = Plugins().find("driver", driver)
    assert registration is not None
    declared = registration.factory.options
    result = run_cli("plugins", "--options", driver, "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert listed["driver"] == driver
    assert [(o["name"], o["type"], o["commands"]) for o in listed["options"]] == [
        (o.name, o.kind, list(o.commands)) for o in declared
    ]
    text = run_cli("plugins", "--options", driver).stdout
    assert all(o.name in text for o in declared)
    unknown = run_cli("plugins", "--options", "oracle")
    assert unknown.returncode == 2
    assert "no driver 'oracle'" in unknown.stderr

"""Smoke-test an installed dbsnap wheel from outside the source tree (run by scripts/release-check.sh).

Run with the fresh virtualenv's Python, in an empty folder. Stages: "bare" (no extras: plugins name
what to install, dbsnap.testing names its extra, a SQLite snapshot and restore work), "example" (the
example plugin's wheel is discovered), and "extra NAME" (after installing dbsnap[NAME], the plugins
that needed it load).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
# The extras built-in plugins need, which `dbsnap plugins` must name with their install commands.
NEEDS = ("postgres", "sftp", "s3", "age")


def dbsnap(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the installed `dbsnap` script."""
    done = subprocess.run([str(BIN / "dbsnap"), *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        sys.exit(f"dbsnap {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


def plugins() -> dict[str, dict[str, object]]:
    """`dbsnap plugins --json`, keyed by kind:name."""
    doc = json.loads(dbsnap("--json", "plugins").stdout)
    return {f"{p['kind']}:{p['name']}": p for p in doc["plugins"]}


def bare() -> None:
    """No extras: versions, install hints, dbsnap.testing's message, a SQLite round trip."""
    import dbsnap as package

    assert "site-packages" in package.__file__, f"not the installed wheel: {package.__file__}"
    print("dbsnap", dbsnap("--version").stdout.strip(), "from", package.__file__)
    text = dbsnap("plugins").stdout
    for extra in NEEDS:
        hint = f"pip install 'dbsnap[{extra}]'"
        assert hint in text, f"`dbsnap plugins` does not say {hint!r}:\n{text}"
    print(f"dbsnap plugins names {len(NEEDS)} extras with their install commands")
    testing = subprocess.run(
        [sys.executable, "-c", "import dbsnap.testing"], capture_output=True, text=True, check=False
    )
    last = testing.stderr.strip().splitlines()[-1]
    assert testing.returncode != 0, "import dbsnap.testing worked without pytest installed"
    assert "dbsnap[testing]" in last, testing.stderr
    print("import dbsnap.testing:", last)
    db = Path("smoke.db").resolve()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO t (v) VALUES (?)", [(f"row {i}",) for i in range(1000)])
    conn.close()
    before = "\n".join(sqlite3.connect(db).iterdump())
    dbsnap("snapshot", f"sqlite:///{db}", "--store", "./backups")
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM t")
    conn.close()
    dbsnap("restore", "--latest", f"sqlite:///{db}", "--store", "./backups", "--yes")
    dbsnap("verify", "--all", "--store", "./backups")
    assert "\n".join(sqlite3.connect(db).iterdump()) == before, "the restored database differs"
    print("SQLite snapshot, restore and verify from the wheel: identical dump")


def example() -> None:
    """The example plugin, installed from its own wheel, is discovered."""
    found = [k for k, p in plugins().items() if p["distribution"] == "dbsnap-plugin-example" and p["usable"]]
    assert found, "the example plugin's wheel is installed but `dbsnap plugins` does not list it"
    print("example plugin discovered from its wheel:", ", ".join(found))


def extra(name: str) -> None:
    """After `pip install dbsnap[NAME]`, the plugins that needed NAME load."""
    found = plugins()
    hint = f"dbsnap[{name}]"
    missing = [key for key, p in found.items() if hint in str(p["install"] or "")]
    assert not missing, f"{hint} installed, still unusable: {missing}"
    module = {"django": "dbsnap.contrib.django.settings", "celery": "dbsnap.contrib.celery"}.get(name)
    if module:  # the integration the extra is for imports
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    unusable = sorted(key for key, p in found.items() if not p["usable"])
    print(f"{hint}: every plugin that needed it is usable; still to install: {unusable or 'nothing'}")


if __name__ == "__main__":
    stage, *rest = sys.argv[1:]
    {"bare": bare, "example": example, "extra": lambda: extra(rest[0])}[stage]()

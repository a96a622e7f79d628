#!/usr/bin/env bash
# Run a representative part of the fast test suite on every other supported Python this machine has
# (pyenv's, or python3.X on PATH), all at once, each in its own virtualenv (.venv-3.X, rebuilt when
# pyproject.toml changes). `make test` starts this beside the main suite.
#
# The part: everything that depends on the Python itself rather than on a server: the CLI and its
# argparse output, configuration, manifests, names, retention (property tests included), pruning,
# the store layer and locks (local and a real sshd: asyncio), plugins and entry points, SQLite (the
# sqlite3 module), start-up imports, the docs drift checks, the example plugin. Left to the main run:
# PostgreSQL, MariaDB, S3, Celery and Django, and the fault and secret suites, which scan every
# process on the machine and would see this run's children.
set -uo pipefail
VERSIONS=${DBSNAP_OTHER_PYTHONS:-"3.12 3.13"}
FILES=(tests/test_cli.py tests/test_cli_conventions.py tests/test_config.py tests/test_manifest.py
       tests/test_names.py tests/test_retention.py tests/test_retention_properties.py tests/test_prune.py
       tests/test_store.py tests/test_lock.py tests/test_plugins.py tests/test_sqlite.py
       tests/test_sqlite_edges.py tests/test_startup.py tests/test_store_urls.py tests/test_example_plugin.py
       tests/test_testing_helpers.py tests/test_docs.py examples/dbsnap-plugin-example/tests)
declare -A pids
found=0
for v in $VERSIONS; do
    py=$(ls -d "$HOME"/.pyenv/versions/"$v".*/bin/python 2>/dev/null | sort -V | tail -1)
    [ -n "$py" ] || py=$(command -v "python$v" || true)
    if [ -z "$py" ]; then
        echo "== Python $v: not on this machine, not tested"
        continue
    fi
    found=$((found + 1))
    venv=.venv-$v
    (
        set -e
        stamp=$venv/.stamp-$(cat pyproject.toml examples/dbsnap-plugin-example/pyproject.toml | sha256sum | cut -c1-12)
        if [ ! -e "$stamp" ]; then
            rm -rf "$venv"
            "$py" -m venv "$venv"
            "$venv/bin/python" -m pip install --quiet --upgrade pip
            "$venv/bin/python" -m pip install --quiet -e '.[all,testing]' --group test
            "$venv/bin/python" -m pip install --quiet -e examples/dbsnap-plugin-example
            touch "$stamp"
        fi
        "$venv/bin/python" --version
        "$venv/bin/python" -m pytest -q -p no:cacheprovider -m "not slow" "${FILES[@]}"
    ) > "$venv.log" 2>&1 &
    pids[$v]=$!
done
status=0
for v in $(printf '%s\n' "${!pids[@]}" | sort -V); do
    if wait "${pids[$v]}"; then
        echo "== $(grep -m1 '^Python 3' ".venv-$v.log"): $(grep -E '^[0-9]+ passed' ".venv-$v.log" | tail -1)"
    else
        echo "== Python $v FAILED: the last lines of .venv-$v.log:"
        grep -v "is ignored" ".venv-$v.log" | tail -40
        status=1
    fi
done
[ "$found" -gt 0 ] || echo "== no other Python found (looked for $VERSIONS)"
exit $status

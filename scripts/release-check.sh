#!/usr/bin/env bash
# Build the sdist and wheel, check them, and smoke-test the wheel in a fresh virtualenv from outside
# the source tree: no extras, the example plugin from its own wheel, then each extra in turn.
# Uploads nothing. Usage: scripts/release-check.sh [PYTHON]  (the project's virtualenv's Python).
set -euo pipefail
PY=${1:-.venv/bin/python}
ROOT=$(pwd)
DIST=$ROOT/dist
rm -rf "$DIST" && mkdir -p "$DIST/example"
echo "== build: sdist and wheel (isolated), and the example plugin's wheel"
"$PY" -P -m build --quiet --outdir "$DIST" . >/dev/null
"$PY" -P -m build --quiet --wheel --outdir "$DIST/example" examples/dbsnap-plugin-example >/dev/null
rm -rf examples/dbsnap-plugin-example/build
ls -l "$DIST"/dbsnap-* | awk '{print "   ", $5, $9}'
echo "== twine check --strict, check-wheel-contents"
"$PY" -m twine check --strict "$DIST"/dbsnap-*
"$PY" -m check_wheel_contents "$DIST"/dbsnap-*.whl

echo "== sdist contents: tests with their helpers, docs, examples, Makefile; no build debris"
SDIST=$(ls "$DIST"/dbsnap-*.tar.gz)
"$PY" - "$SDIST" <<'PYEOF'
import sys, tarfile
names = [n.split("/", 1)[1] for n in tarfile.open(sys.argv[1]).getnames() if "/" in n]
need = ["LICENSE", "CHANGELOG.md", "Makefile", "tests/conftest.py", "tests/pgserver.py", "tests/mysqlserver.py",
        "docs/conf.py", "examples/dbsnap-plugin-example/pyproject.toml", "scripts/wheel_smoke.py",
        "src/dbsnap/py.typed"]
missing = [n for n in need if n not in names]
debris = [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith((".venv", "build/", "dist/"))]
assert not missing and not debris, (missing, debris)
print(f"    {len(names)} entries, {sum(n.startswith('tests/') for n in names)} under tests/; nothing missing, no debris")
PYEOF

WHEEL=$(ls "$DIST"/dbsnap-*.whl)
EXAMPLE=$(ls "$DIST"/example/*.whl)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "== fresh virtualenv, the wheel with no extras, run from $WORK"
"$PY" -c "import sys; print('    ' + sys.version.split()[0])"
python3 -m venv "$WORK/venv"
VPY=$WORK/venv/bin/python
"$VPY" -m pip install --quiet "$WHEEL"
cp scripts/wheel_smoke.py "$WORK/"
cd "$WORK"
"$VPY" wheel_smoke.py bare
"$VPY" -m pip install --quiet "$EXAMPLE"
"$VPY" wheel_smoke.py example
for extra in postgres sftp s3 age django celery testing; do
    "$VPY" -m pip install --quiet "dbsnap[$extra] @ file://$WHEEL"
    "$VPY" wheel_smoke.py extra "$extra"
done
"$VPY" -c "import dbsnap.testing; print('    import dbsnap.testing: ok with dbsnap[testing]')"
echo "== release check passed (nothing uploaded)"

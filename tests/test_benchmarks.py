"""The benchmark suite behind `make bench` still runs end to end (tiny sizes; no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(
    r"^\| (Start-up|PostgreSQL|SQLite|MySQL)[^|]*: .+ "
    r"\| \*\*(\d+\.\d{3})\*\* \| .+ \| (\d+) MiB \| (\d+) MiB \|$"
)


def test_the_suite_measures_every_row_at_both_sizes_and_writes_the_page(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    original = (ROOT / "docs" / "performance.md").read_text()
    page.write_text(original)
    result = subprocess.run(
        [sys.executable, "benchmarks/suite.py", "--scale", "1", "--sqlite-megabytes", "5", "--factor", "2",
         "--pairs", "1", "--small-scales", "1", "--mysql-rows", "2000", "--write", "--doc", str(page)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    written = page.read_text()
    section = written.split("<!-- suite:begin -->")[1].split("<!-- suite:end -->")[0]
    rows = [m for m in map(ROW.match, section.splitlines()) if m]
    # Start-up 3 (--version, list, check) and one small PostgreSQL row at the given scale, then
    # fifteen rows per size: PostgreSQL 9 (two snapshots, local + SFTP, S3, encrypted snapshot,
    # restore, encrypted restore, two against django-dbbackup), SQLite 4 (snapshot, restore, two
    # against django-dbbackup) and MySQL 2 (snapshot, restore).
    assert len(rows) == 34, section
    assert [m.group(1) for m in rows] == ["Start-up"] * 3 + ["PostgreSQL"] + (
        ["PostgreSQL"] * 9 + ["SQLite"] * 4 + ["MySQL"] * 2
    ) * 2
    assert all(float(m.group(2)) > 0 and int(m.group(3)) > 0 and int(m.group(4)) > 0 for m in rows)
    assert "python benchmarks/suite.py --scale 1" in section and "pg_dump (PostgreSQL)" in section
    assert written.split("<!-- suite:begin -->")[0] == original.split("<!-- suite:begin -->")[0]
    assert written.split("<!-- suite:end -->")[1] == original.split("<!-- suite:end -->")[1]

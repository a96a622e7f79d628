"""django-dbbackup for the benchmark: its own virtualenv and a minimal Django project around it.

It runs with its defaults: PostgreSQL as plain SQL from pg_dump, restored with psql; SQLite as a copy
of the file.
"""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = ROOT / "build" / "bench-peer-venv"

SETTINGS = """
import os
SECRET_KEY = "bench"
INSTALLED_APPS = ["dbbackup"]
USE_TZ = True
if os.environ["PEER_ENGINE"] == "sqlite":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["PEER_SQLITE"]}}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": os.environ["PEER_PG_NAME"],
                 "USER": os.environ["PEER_PG_USER"], "PASSWORD": os.environ["PEER_PG_PASSWORD"],
                 "HOST": "127.0.0.1", "PORT": os.environ["PEER_PG_PORT"]}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "dbbackup": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                 "OPTIONS": {"location": os.environ["PEER_BACKUP_DIR"]}},
}
"""


def peer_python() -> Path:
    """Create (once) the virtualenv with django-dbbackup and return its python."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        venv.create(PEER_VENV, with_pip=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "django", "django-dbbackup", "psycopg[binary]"],
            check=True,
        )
    return python


def project(work: Path) -> Path:
    """Write a Django project with django-dbbackup configured from PEER_* variables; return its folder."""
    folder = work / "peerproject"
    folder.mkdir()
    (folder / "peer_settings.py").write_text(SETTINGS)
    (folder / "manage.py").write_text(
        "import os, sys\nos.environ['DJANGO_SETTINGS_MODULE'] = 'peer_settings'\n"
        "from django.core.management import execute_from_command_line\nexecute_from_command_line(sys.argv)\n"
    )
    return folder

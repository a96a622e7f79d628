"""Settings shared by the SQLite and PostgreSQL variants; paths come from the test's environment."""

import os
from pathlib import Path

BASE_DIR = Path(os.environ.get("SHOP_BASE_DIR", Path(__file__).resolve().parent.parent))
SECRET_KEY = "test-only-not-secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "dbsnap.contrib.django",
]
BACKUP_DIR = os.environ.get("SHOP_BACKUP_DIR") or str(BASE_DIR / "backups")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

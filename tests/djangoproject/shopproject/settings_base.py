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
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "garage",
    "dbsnap.contrib.django",
]
if os.environ.get("SHOP_BACKUP_DIR"):  # unset: the BACKUP_DIR variable, else BASE_DIR / "backups"
    BACKUP_DIR = os.environ["SHOP_BACKUP_DIR"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.request",
            ]
        },
    }
]

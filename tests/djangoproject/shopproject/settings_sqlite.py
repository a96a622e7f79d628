"""The test project on SQLite."""

import os

from shopproject.settings_base import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SHOP_SQLITE", str(BASE_DIR / "shop.sqlite3")),  # noqa: F405
    }
}

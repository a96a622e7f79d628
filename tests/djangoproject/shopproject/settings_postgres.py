"""The test project on PostgreSQL (the throwaway test cluster)."""

import os

from shopproject.settings_base import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["SHOP_PG_NAME"],
        "USER": os.environ["SHOP_PG_USER"],
        "PASSWORD": os.environ["SHOP_PG_PASSWORD"],
        "HOST": "127.0.0.1",
        "PORT": os.environ["SHOP_PG_PORT"],
    }
}

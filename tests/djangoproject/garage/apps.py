"""The garage app's configuration."""

from django.apps import AppConfig


class GarageConfig(AppConfig):
    """Customers, vehicles and repair orders."""

    name = "garage"
    default_auto_field = "django.db.models.BigAutoField"

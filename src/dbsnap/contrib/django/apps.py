"""The Django AppConfig of dbsnap's management commands."""

from __future__ import annotations

from django.apps import AppConfig


class DbsnapConfig(AppConfig):
    """dbsnap's Django app: the create_backup and restore_backup management commands."""

    name = "dbsnap.contrib.django"
    label = "dbsnap"
    verbose_name = "dbsnap backups"

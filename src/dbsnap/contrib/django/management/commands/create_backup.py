"""python manage.py create_backup [--filename NAME] [--upload] [--database ALIAS]."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dbsnap.contrib.django.settings import backup_plan
from dbsnap.contrib.jobs import run_backup
from dbsnap.exceptions import DbsnapError
from dbsnap.output import human_size
from dbsnap.redact import scrub
from dbsnap.snapshotting import PartialSnapshotError


class Command(BaseCommand):
    """Create a database backup in BACKUP_DIR (and off-site with --upload), then rotate old ones."""

    help = "Create a database backup in BACKUP_DIR (and on the SFTP server with --upload), then rotate."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the original system's options."""
        parser.add_argument("--filename", help="name of the backup (default: LABEL-UTCTIME.EXT)")
        parser.add_argument("--upload", action="store_true", help="also upload it to the SFTP server")
        parser.add_argument("--database", default="default", help="database alias (default: default)")

    def handle(self, *_args: Any, **options: Any) -> None:
        """Run the backup job and print the snapshot's name, size and where it went."""
        try:
            plan = backup_plan(options["database"], upload=options["upload"])
            outcome = run_backup(plan, name=options["filename"])
        except PartialSnapshotError as exc:
            for made in exc.result.snapshots:
                self.stdout.write(
                    f"Database backup created: {made.name} ({human_size(made.size)}) in {made.store}"
                )
            raise CommandError(f"Database backup incomplete: {scrub(str(exc))}", returncode=4) from None
        except DbsnapError as exc:
            raise CommandError(f"Database backup failed: {scrub(str(exc))}") from None
        snap = outcome.snapshot
        assert snap is not None
        self.stdout.write(f"Database backup created: {snap.name} ({human_size(snap.size)})")
        for store in outcome.stores:
            self.stdout.write(f"  stored in {store}")
        for store, removed in outcome.pruned.items():
            if removed:
                self.stdout.write(f"  rotation removed {len(removed)} old backup(s) from {store}")

"""python manage.py restore_backup [--list] | NAME [--noinput] [--database ALIAS].

Backups the original system left in BACKUP_DIR (backup_YYYYMMDD_HHMMSS.sql or a pg_dump archive, with
no manifest) are listed too; restoring one adopts it first (dbsnap.adopting: a manifest beside it,
recording the database it is restored into).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from dbsnap.adopting import adopt, originals
from dbsnap.api import restore
from dbsnap.config import Config
from dbsnap.contrib.django.settings import backup_dir, database_url, offsite_url, upload_enabled
from dbsnap.exceptions import DbsnapError, SnapshotNotFound
from dbsnap.listing import find, survey
from dbsnap.output import human_size, table
from dbsnap.plugins import get_plugins
from dbsnap.redact import scrub
from dbsnap.resolve import open_store


class Command(BaseCommand):
    """List the backups, or restore one after confirmation."""

    help = "List the available backups (the default), or restore NAME into the database after confirmation."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the original system's options."""
        parser.add_argument("name", nargs="?", help="the backup to restore")
        parser.add_argument("--list", action="store_true", help="list the available backups")
        parser.add_argument(
            "--noinput", "--no-input", action="store_true", help="do not ask for confirmation"
        )
        parser.add_argument("--database", default="default", help="database alias (default: default)")

    def _places(self) -> list[tuple[str, str]]:
        places = [("local", backup_dir())]
        offsite = offsite_url()
        if offsite and upload_enabled():
            places.append(("off-site", offsite))
        return places

    def handle(self, *_args: Any, **options: Any) -> None:
        """List, or restore with a prompt; Django's connections are closed around the restore."""
        try:
            if options["list"] or not options["name"]:
                self._list()
            else:
                self._restore(options["name"], options["database"], options["noinput"])
        except DbsnapError as exc:
            raise CommandError(f"Database backup: {scrub(str(exc))}") from None

    def _list(self) -> None:
        found: dict[str, tuple[Any, list[str]]] = {}
        places = self._places()
        stores = [open_store(url, get_plugins()) for _, url in places]
        seen = survey(stores, Config.from_env().store_timeout)
        where_of = {st.url: where for (where, _), st in zip(places, stores, strict=True)}
        order = [where for where, _ in places]
        for snap in seen.snapshots:
            found.setdefault(snap.name, (snap, []))[1].append(where_of.get(snap.store, snap.store))
        for _, wheres in found.values():
            wheres.sort(key=lambda w: order.index(w) if w in order else len(order))
        for url, error in seen.failures.items():
            self.stderr.write(
                f"Database backup: the {where_of.get(url, url)} store cannot be read: {scrub(str(error))}"
            )
        old = originals(backup_dir())
        if not found and not old:
            self.stdout.write(f"No backups in {backup_dir()}.")
            return
        rows = [
            [
                snap.name,
                snap.database,
                snap.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                human_size(snap.size),
                "+".join(w),
            ]
            for snap, w in sorted(found.values(), key=lambda item: item[0].created_at, reverse=True)
        ]
        rows += [
            [p.name, "?", "(from its name)", human_size(p.stat().st_size), "local (original)"] for p in old
        ]
        self.stdout.write(table(rows, ["NAME", "DATABASE", "CREATED", "SIZE", "WHERE"]))
        if old:
            self.stdout.write(
                f"{len(old)} backup(s) from the original system: restoring one records it as a backup of the "
                "database it is restored into."
            )

    def _restore(self, name: str, alias: str, noinput: bool) -> None:
        target = database_url(alias)
        original = next((p for p in originals(backup_dir()) if p.name == name), None)
        try:
            if original is None:
                source, _ = find(name, [open_store(url, get_plugins()) for _, url in self._places()])
        except SnapshotNotFound:
            raise CommandError(
                f"No backup named {name!r}; run 'manage.py restore_backup --list' to see them."
            ) from None
        if not noinput:
            self.stdout.write(
                f"WARNING: restoring {name} will replace ALL current data in the database {alias!r}.\n"
                "Type 'yes' to continue, or anything else to cancel: ",
                ending="",
            )
            self.stdout.flush()
            answer = sys.stdin.readline()
            if not answer:
                raise CommandError(
                    "Restore not confirmed: stdin is closed (cron, or docker exec without -i), so the answer "
                    "is no; nothing was changed. Pass --noinput to restore without asking."
                )
            if answer.strip() != "yes":
                self.stdout.write("Restore cancelled; nothing was changed.")
                return
        if original is not None:
            source = open_store(str(original.parent.resolve()), get_plugins())
            adopt([str(original)], target)
        connections[alias].close()
        try:
            snap = restore(name, target, source)
        finally:
            connections[alias].close()
        self.stdout.write(f"Database backup {snap.name} restored into {alias!r}.")

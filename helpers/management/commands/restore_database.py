"""``manage.py restore_database NAME``: put back a backup made by backup_database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from helpers.backups.db_backup import DEFAULT_TIMEOUT, BackupError, restore_database


class Command(BaseCommand):
    """Replace the database by the backup NAME (the backup is kept)."""

    help = (
        "Replace the whole database by the backup NAME made with backup_database (the backup is "
        "checked first, and kept)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the command's arguments."""
        parser.add_argument("name", help="the backup's name")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the database to restore")
        parser.add_argument(
            "--timeout", type=float, default=DEFAULT_TIMEOUT,
            help=f"seconds to wait for other connections to the database (default {DEFAULT_TIMEOUT:g})",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        """Restore the backup."""
        name = options["name"]
        try:
            where = restore_database(
                name, using=options["database"], timeout=options["timeout"], notify=self.stderr.write
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt:
            raise CommandError("Interrupted: nothing was restored; the database is as it was.") from None
        self.stdout.write(self.style.SUCCESS(f"Restored the database from backup {name!r} ({where})."))

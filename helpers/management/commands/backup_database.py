"""``manage.py backup_database NAME``: a named copy of the whole database (see helpers.backups.db_backup)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from helpers.backups.db_backup import DEFAULT_TIMEOUT, BackupError, backup_database, delete_backup


class Command(BaseCommand):
    """Copy the database under a name, to restore it with restore_database."""

    help = (
        "Copy the whole database (SQLite: a file in the backups folder, <BASE_DIR>/backups/ or "
        "settings.DB_BACKUP_DIR; PostgreSQL: a database on the same server; MySQL: a mariadb-dump "
        "file and its checksum in the backups folder) under NAME; "
        "restore_database NAME puts it back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the command's arguments."""
        parser.add_argument("name", help="the backup's name: lower-case letters, digits, underscores")
        parser.add_argument("--replace", action="store_true", help="overwrite a backup of that name")
        parser.add_argument("--delete", action="store_true", help="delete the backup NAME instead")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the database to back up")
        parser.add_argument(
            "--timeout", type=float, default=DEFAULT_TIMEOUT,
            help=f"seconds to wait for other connections to the database (default {DEFAULT_TIMEOUT:g})",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        """Make (or delete) the backup."""
        name, using = options["name"], options["database"]
        try:
            if options["delete"]:
                where = delete_backup(name, using=using)
                self.stdout.write(f"Deleted backup {name!r} ({where}).")
                return
            where = backup_database(
                name, using=using, replace=options["replace"], timeout=options["timeout"],
                notify=self.stderr.write,
            )  # fmt: skip
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt:
            raise CommandError("Interrupted: no backup was made; the database is as it was.") from None
        self.stdout.write(self.style.SUCCESS(f"Backed up the database as {name!r} ({where})."))

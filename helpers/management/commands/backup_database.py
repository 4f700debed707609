"""``manage.py backup_database NAME``: a named copy of the whole database (see helpers.db_backup)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS

from helpers.db_backup import backup_database, delete_backup


class Command(BaseCommand):
    """Copy the database under a name, to restore it with restore_database."""

    help = (
        "Copy the whole database (SQLite: a file next to it; PostgreSQL: a database on the same "
        "server) under NAME; restore_database NAME puts it back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the command's arguments."""
        parser.add_argument("name", help="the backup's name: lower-case letters, digits, underscores")
        parser.add_argument("--replace", action="store_true", help="overwrite a backup of that name")
        parser.add_argument("--delete", action="store_true", help="delete the backup NAME instead")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the database to back up")

    def handle(self, *args: Any, **options: Any) -> None:
        """Make (or delete) the backup."""
        if options["delete"]:
            where = delete_backup(options["name"], using=options["database"])
            self.stdout.write(f"Deleted backup {options['name']!r} ({where}).")
            return
        where = backup_database(options["name"], using=options["database"], replace=options["replace"])
        self.stdout.write(self.style.SUCCESS(f"Backed up the database as {options['name']!r} ({where})."))

"""``manage.py restore_database NAME``: put back a backup made by backup_database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS

from helpers.db_backup import restore_database


class Command(BaseCommand):
    """Replace the database by the backup NAME (the backup is kept)."""

    help = "Replace the whole database by the backup NAME made with backup_database (the backup is kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the command's arguments."""
        parser.add_argument("name", help="the backup's name")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the database to restore")

    def handle(self, *args: Any, **options: Any) -> None:
        """Restore the backup."""
        where = restore_database(options["name"], using=options["database"])
        message = f"Restored the database from backup {options['name']!r} ({where})."
        self.stdout.write(self.style.SUCCESS(message))

"""``manage.py move_model app_label.ModelName target_app``: move a model, keep its rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from helpers.writers.file_writer import WriteError
from helpers.writers.move_model import MoveModelError, plan_move


class Command(BaseCommand):
    """Write the migrations that move a model to another app, in place of makemigrations."""

    help = (
        "Run after moving a model's class to another app in the code, in place of makemigrations: "
        "writes migrations that rename its tables and move it in the migration state, so that no "
        "row is lost (makemigrations would drop the table and create an empty one). The files "
        "import only Django."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the command's arguments."""
        parser.add_argument("model", help="the model as it was: app_label.ModelName")
        parser.add_argument("target_app", help="the app label the model moved to")
        parser.add_argument(
            "--rename-db-objects", action="store_true",
            help="PostgreSQL, MySQL/MariaDB: also rename the indexes, constraints (and sequence) named after "
                 "the old table",
        )
        parser.add_argument("--dry-run", action="store_true", help="show the migrations; write nothing")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the database to check against")

    def handle(self, *args: Any, **options: Any) -> None:
        """Plan the move, then write its migrations (unless --dry-run)."""
        try:
            plan = plan_move(
                options["model"], options["target_app"],
                rename_db_objects=options["rename_db_objects"], using=options["database"],
            )
        except MoveModelError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(plan.report())
        if options["dry_run"]:
            self.stdout.write("(dry run: nothing written)")
            return
        try:
            plan.write()
        except WriteError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(plan.migrations)} migrations. Now run migrate."))

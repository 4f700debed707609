"""``manage.py make_data_migration``: the skeleton of a reversible data migration."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from helpers.writers.data_migration import (
    DataMigrationError,
    plan_data_migration,
    render_data_migration,
    write_data_migration,
)
from helpers.writers.file_writer import WriteError


class Command(BaseCommand):
    """Write ``NNNN_<name>.py``: RunPython(forwards, backwards) with historical models."""

    help = (
        "Write an app's next migration as a reversible data migration: RunPython with forwards and "
        "backwards stubs that take the named models from the historical app registry, and a "
        "dependency on the latest migration of every app those models belong to."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the app, the name, the models, --elidable and --dry-run."""
        parser.add_argument("app_label", help="App the migration belongs to.")
        parser.add_argument("name", help="Name of the migration, without its number.")
        parser.add_argument(
            "--model", "-m", action="append", default=[], dest="models", metavar="APP.MODEL",
            help="A model the migration reads or writes (repeat for several).",
        )  # fmt: skip
        parser.add_argument(
            "--elidable", action="store_true",
            help="Mark the RunPython elidable: squashmigrations may drop it.",
        )  # fmt: skip
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the file instead of writing it."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Plan the migration, then print or write it."""
        try:
            plan = plan_data_migration(
                options["app_label"], options["name"], options["models"], elidable=options["elidable"]
            )
        except DataMigrationError as exc:
            raise CommandError(str(exc)) from exc
        if options["dry_run"]:
            self.stdout.write(f"# {plan.relative_path} (dry run: not written)")
            self.stdout.write(render_data_migration(plan), ending="")
            return
        try:
            write_data_migration(plan)
        except WriteError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Data migration for '{plan.app_label}':"))
        self.stdout.write(f"  {plan.relative_path}")
        deps = ", ".join(f"{a}.{n}" for a, n in plan.dependencies)
        self.stdout.write(f"    depends on {deps}")
        self.stdout.write("    Fill in forwards() and backwards(), then run migrate.")

"""``manage.py check_migration_values``: can every model value go into a migration and back."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from helpers.analysis.serialization import check_models


class Command(BaseCommand):
    """Serialize every field, constraint, index and migration manager, read it back, compare."""

    help = (
        "Check, before makemigrations, that every field, constraint, index and migration manager "
        "of the given apps (default: all) can be written into a migration file, that the code "
        "runs, and that it reads back equal (otherwise makemigrations writes a new migration "
        "on every run)."
    )

    requires_system_checks: list[str] = []  # report even when the checks fail (as they may here)

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the optional app labels."""
        parser.add_argument("app_labels", nargs="*", help="Apps to check (default: all).")

    def handle(self, *args: Any, **options: Any) -> None:
        """Report the problems; exit with status 1 when there are any."""
        app_labels = options["app_labels"]
        try:
            checked, problems = check_models(app_labels or None)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        for problem in problems:
            self.stdout.write(self.style.ERROR(f"- {problem}"))
        if problems:
            raise CommandError(
                f"{len(problems)} of {checked} values cannot go into a migration file safely (above)."
            )
        self.stdout.write(
            self.style.SUCCESS(f"{checked} values checked: each is written, runs and reads back equal.")
        )

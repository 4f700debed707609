"""``manage.py migration_plan [app_label [migration_name]]``: what ``migrate`` would do.

Prints the plan ``migrate`` would run for the same arguments (forwards or
backwards, with each step's operations), then every app's leaf migrations,
conflicts, and applied migrations whose dependencies are not applied. Runs
nothing and writes nothing.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from helpers.analysis.migration_plan import conflicts, history_problems, leaf_nodes, migration_plan
from helpers.core.exceptions import MigrationTargetError


class Command(BaseCommand):
    """Show a migration plan and the graph's health without migrating."""

    help = "Show the plan `migrate [APP_LABEL [MIGRATION_NAME]]` would run, and the graph's health."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Same positional arguments as ``migrate``."""
        parser.add_argument("app_label", nargs="?")
        parser.add_argument("migration_name", nargs="?")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--all-applied", action="store_true", help="Plan as if every migration were applied."
        )
        parser.add_argument("--health", action="store_true", help="Also list leaves, conflicts, history.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Print the plan (and, with --health, leaves, conflicts and history problems)."""
        try:
            self._handle(options)
        except MigrationTargetError as exc:
            raise CommandError(str(exc)) from None

    def _handle(self, options: dict[str, Any]) -> None:
        using = options["database"]
        if options["health"]:
            self.stdout.write("Leaf migrations:")
            for app, names in leaf_nodes(using=using).items():
                self.stdout.write(f"  {app}: {', '.join(names)}")
            found = conflicts(using=using)
            self.stdout.write(
                "Conflicts: "
                + ("; ".join(f"{app}: {', '.join(n)}" for app, n in found.items()) if found else "none")
            )
            problems = history_problems(using=using)
            self.stdout.write("History: " + ("consistent" if not problems else "INCONSISTENT"))
            for problem in problems:
                self.stdout.write(f"  {problem}")
            if found:
                return
        plan = migration_plan(
            options["app_label"],
            options["migration_name"],
            using=using,
            assume_all_applied=options["all_applied"],
        )
        self.stdout.write(str(plan))

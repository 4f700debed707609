"""``manage.py check_reversible [app_label [migration_name]]``: find what a rollback would fail on.

Lists every operation of the backwards plan that cannot be reversed (see
:mod:`helpers.analysis.reversibility` for the kinds), without running anything.

Exit status (for CI):

* 0: every operation of the backwards plan can be reversed;
* 1: at least one cannot (``fails-with-rows`` findings count, unless
  ``--data-dependent-ok`` turns them into warnings);
* 2: bad input (unknown app, unknown or ambiguous migration name); nothing ran.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from helpers.analysis.reversibility import check_reversible
from helpers.core.exceptions import MigrationTargetError


class Command(BaseCommand):
    """Report the operations a ``migrate`` backwards would fail on."""

    help = (
        "List the operations of the backwards plan to APP_LABEL MIGRATION_NAME (default: every "
        "app to zero) that cannot be reversed. Exits 1 when there is one, 0 otherwise."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Same positional arguments as ``migrate``."""
        parser.add_argument("app_label", nargs="?", help="App to check (default: every app).")
        parser.add_argument(
            "migration_name",
            nargs="?",
            help="Target of the reversal: a name, a unique prefix, or 'zero' (default: zero).",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (with --applied).")
        parser.add_argument(
            "--applied",
            action="store_true",
            help="Plan from the database's applied migrations instead of assuming all are applied.",
        )
        parser.add_argument(
            "--data-dependent-ok",
            action="store_true",
            help="Report 'fails-with-rows' findings as warnings that do not fail the check.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Print the report; raise CommandError (exit 1) when something cannot be reversed."""
        try:
            report = check_reversible(
                options["app_label"],
                options["migration_name"],
                using=options["database"],
                assume_all_applied=not options["applied"],
                data_dependent_ok=options["data_dependent_ok"],
            )
        except MigrationTargetError as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(str(report))
        if not report.ok:
            count = len(report.blocking)
            raise CommandError(f"{count} operation{'s' if count != 1 else ''} cannot be reversed.")

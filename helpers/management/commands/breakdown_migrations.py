"""``manage.py breakdown_migrations <app_label>``: the migrations of a broken-down model.

Use it in place of ``makemigrations`` after rewriting a model with
``broken-down-models`` (partial parents linked by ``VirtualParentLink``): it
writes ``NNNN_breakdown`` (partials and virtual fields),
``NNNN_breakdown_copy`` (``CopyDataToPartial``) and ``NNNN_breakdown_cleanup``
(the moved fields removed), with no prompt and no hand edit, all or none. The
files import only Django and ``bdmodels``. See :mod:`helpers.writers.breakdown`.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpers.writers.breakdown import (
    BreakdownError,
    check_library_compatible,
    plan_breakdown,
    summary,
    write_breakdown_migrations,
)
from helpers.writers.file_writer import WriteError


class Command(BaseCommand):
    """Write the migrations of a breakdown (see the module's docstring)."""

    help = (
        "Write the schema, copy and cleanup migrations of an app whose models were broken down "
        "with broken-down-models (in place of makemigrations, no prompt, no hand edit)."
    )

    # The models are checked after the plan: a model that is not a broken-down model gets
    # this command's own explanation first, rather than the field clashes it causes.
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        """The app label, --dry-run and --database."""
        parser.add_argument("app_label", help="The app holding the broken-down model(s).")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show the migrations without writing them (reads no database, as makemigrations).",
        )
        parser.add_argument(
            "--database",
            default="default",
            help="Database to check the history on (not read with --dry-run).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Plan, check the project, then write (or, with --dry-run, only show) the migrations."""
        app_label, using, dry_run = options["app_label"], options["database"], options["dry_run"]
        try:
            check_library_compatible()
            plan = plan_breakdown(app_label, using=using, dry_run=dry_run)
            self.check(display_num_errors=False)
            plan, paths = write_breakdown_migrations(app_label, using=using, dry_run=dry_run, plan=plan)
        except (BreakdownError, WriteError) as exc:
            raise CommandError(str(exc)) from exc
        for line in summary(plan, paths):
            self.stdout.write(line)

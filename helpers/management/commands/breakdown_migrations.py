"""``manage.py breakdown_migrations <app_label>``: the three migrations of a broken-down model.

Use it in place of ``makemigrations`` after rewriting a model with
``broken-down-models`` (partial parents linked by ``VirtualParentLink``): it
writes ``NNNN_breakdown`` (partials and virtual parent links),
``NNNN_breakdown_copy`` (``CopyDataToPartial``) and ``NNNN_breakdown_cleanup``
(the moved fields removed), with no prompt and no hand edit. See
:mod:`helpers.breakdown`.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from helpers.breakdown import plan_breakdown, summary, write_breakdown_migrations


class Command(BaseCommand):
    """Write the three migrations of a breakdown (see the module's docstring)."""

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
            "--dry-run", action="store_true", help="Show the migrations without writing them."
        )
        parser.add_argument("--database", default="default", help="Database to check the history on.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Plan, check the project, then write (or, with --dry-run, only show) the migrations."""
        plan = plan_breakdown(options["app_label"], using=options["database"])
        self.check(display_num_errors=False)
        plan, paths = write_breakdown_migrations(
            options["app_label"], using=options["database"], dry_run=options["dry_run"], plan=plan
        )
        for line in summary(plan, paths):
            self.stdout.write(line)

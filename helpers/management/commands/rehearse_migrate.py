"""``manage.py rehearse_migrate [app_label [migration_name]]``: ``migrate`` on a throwaway copy.

Runs the plan ``migrate`` would run for the same arguments (forwards or
backwards) on a copy of the database, prints per migration and operation ok
or the real error, the time and (PostgreSQL) the locks, then drops the copy.
Exit status: 0 when the whole plan ran, 1 when a step failed (or no copy could
be made), 2 on bad input, 130 on Ctrl-C (the copy dropped all the same).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from helpers.analysis.rehearse import RehearsalError, rehearse_migrate
from helpers.core.exceptions import MigrationTargetError


class Command(BaseCommand):
    """Rehearse a migrate on a copy of the database; the real one is not changed."""

    help = "Run the plan of `migrate [APP_LABEL [MIGRATION_NAME]]` on a throwaway copy of the database."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Same positional arguments and ``--database`` as ``migrate``."""
        parser.add_argument("app_label", nargs="?")
        parser.add_argument("migration_name", nargs="?")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        """Print the rehearsal; exit 1 when a step failed, 2 on bad input."""
        try:
            result = rehearse_migrate(
                options["app_label"], options["migration_name"], using=options["database"]
            )
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted: the copy was dropped; the database was not changed.", returncode=130
            ) from None
        except RehearsalError as exc:
            raise CommandError(str(exc)) from None
        except MigrationTargetError as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(str(result))
        if not result.ok:
            failed = next(m for m in result.migrations if not m.ok)
            verb = "Unapply" if failed.backwards else "Apply"
            raise CommandError(f"{verb} {failed.app_label}.{failed.name} failed on the copy: {failed.error}")

"""``manage.py migration_graph [app_label ...]``: draw the migration graph (SVG, text or JSON)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from helpers.analysis.migration_graph import migration_graph


class Command(BaseCommand):
    """Print the migration graph of some apps, without any external program."""

    help = "Draw the migration graph of APP_LABEL... (default: every app) as text, SVG or JSON."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """App labels, output format, database."""
        parser.add_argument("app_label", nargs="*")
        parser.add_argument("--format", choices=("text", "svg", "json"), default="text")
        parser.add_argument("--output", help="Write to this file instead of standard output.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Mark what this database applied.")
        parser.add_argument("--no-database", action="store_true", help="Read no database.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Render the picture in the chosen format."""
        try:
            picture = migration_graph(
                options["app_label"] or None,
                using=None if options["no_database"] else options["database"],
            )
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        rendered = {"text": picture.text, "svg": picture.svg, "json": picture.to_json}[options["format"]]()
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as handle:
                handle.write(rendered)
            self.stdout.write(f"Wrote {options['format']} to {options['output']}.")
        else:
            self.stdout.write(rendered.rstrip("\n"))

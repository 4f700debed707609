"""``manage.py model_diagram app_label [app_label ...] [--format svg|text|json] [--output FILE]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpers.analysis.model_diagram import model_diagram


class Command(BaseCommand):
    """Draw the models of some apps, their tables and their relations."""

    help = "Draw the models of the given apps: tables, columns and relations (SVG, text or JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        """Apps, output format and file."""
        parser.add_argument("app_labels", nargs="+", help="apps whose models to draw")
        parser.add_argument("--format", choices=["svg", "text", "json"], default="text")
        parser.add_argument("--output", help="write to this file instead of standard output")

    def handle(self, *args: str, **options: Any) -> None:
        """Build the diagram and print or write it."""
        try:
            diagram = model_diagram(options["app_labels"])
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        rendered = {"svg": diagram.svg, "text": diagram.text, "json": diagram.to_json}[options["format"]]()
        if options["output"]:
            Path(options["output"]).write_text(rendered + "\n", encoding="utf-8")
            self.stdout.write(f"Wrote {options['output']}")
        else:
            self.stdout.write(rendered)

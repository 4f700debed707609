"""Checks of the migration graph the writers share: leaves, the next number, unapplied migrations."""

from __future__ import annotations

from collections.abc import Collection

from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader

__all__ = ["leaf", "leaves", "next_number", "unapplied"]

Key = tuple[str, str]


def leaves(loader: MigrationLoader, app_label: str) -> list[Key]:
    """The app's leaf migrations, sorted (several: conflicting branches; none: no migrations)."""
    return sorted(loader.graph.leaf_nodes(app_label))


def leaf(loader: MigrationLoader, app_label: str) -> Key | None:
    """The app's (first) leaf migration, or ``None`` when it has no migrations."""
    found = leaves(loader, app_label)
    return found[0] if found else None


def next_number(loader: MigrationLoader, app_label: str, taken: int = 0) -> int:
    """The number of the app's next migration: one more than its leaf's (and than ``taken``)."""
    last = leaf(loader, app_label)
    number = (MigrationAutodetector.parse_number(last[1]) or 0) if last else 0
    return max(number, taken) + 1


def unapplied(loader: MigrationLoader, app_label: str, applied: Collection[Key] | None = None) -> list[str]:
    """Names of the app's migrations in the graph that ``applied`` (default: the loader's) lacks."""
    done = loader.applied_migrations if applied is None else applied
    return sorted(n for label, n in loader.graph.nodes if label == app_label and (label, n) not in done)

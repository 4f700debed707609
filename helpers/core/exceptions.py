"""The exception types of the helpers' library code, each based on Django's where one fits.

Library code raises these; the management commands turn them into
``CommandError``. Nothing is changed when one is raised (files and database
as they were).
"""

from __future__ import annotations

from django.db.migrations.exceptions import AmbiguityError, NodeNotFoundError
from django.utils.connection import ConnectionDoesNotExist

__all__ = [
    "AmbiguousMigrationError",
    "ConflictingMigrationsError",
    "MigrationTargetError",
    "ReplacedMigrationError",
    "UnknownAppError",
    "UnknownDatabaseAliasError",
    "UnknownMigrationError",
]


class MigrationTargetError(ValueError):
    """A migration target is malformed or names nothing usable; nothing was changed."""


class UnknownAppError(MigrationTargetError, LookupError):
    """The target's app is not installed or has no migrations."""


class UnknownMigrationError(NodeNotFoundError, MigrationTargetError):
    """No migration of that name (or prefix) in the app."""


class AmbiguousMigrationError(AmbiguityError, MigrationTargetError):
    """More than one migration of the app starts with the given prefix."""


class ReplacedMigrationError(NodeNotFoundError, MigrationTargetError):
    """The target is replaced by a squashed migration: the message says which one to use."""


class ConflictingMigrationsError(MigrationTargetError):
    """An app has several leaf migrations (``makemigrations --merge`` first), as ``migrate`` refuses."""


class UnknownDatabaseAliasError(MigrationTargetError, ConnectionDoesNotExist):
    """No database of that alias in ``settings.DATABASES``."""

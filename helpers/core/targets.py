"""One way to resolve a migration target, as ``migrate`` resolves it, built on Django's loader.

A target is an app label and a migration name, a unique prefix of one, or
``zero``::

    from django.db.migrations.loader import MigrationLoader
    from helpers.core.targets import resolve_target

    loader = MigrationLoader(None, ignore_no_migrations=True)
    resolve_target(loader, "books", "0002")   # ('books', '0002_add_fields')
    resolve_target(loader, "books", "zero")   # ('books', None)

Bad input raises the types of :mod:`helpers.core.exceptions`, with the
messages of ``migrate`` (naming the apps with migrations, or the app's
migration names); a migration replaced by a squashed one names the squashed
migration and what to use instead. Only Django is imported.
"""

from __future__ import annotations

from collections.abc import Iterable

import django
from django.apps import apps
from django.db.migrations.exceptions import AmbiguityError
from django.db.migrations.loader import MigrationLoader

from .exceptions import (
    AmbiguousMigrationError,
    ReplacedMigrationError,
    UnknownAppError,
    UnknownMigrationError,
)

__all__ = [
    "check_app",
    "find_migration",
    "matching_names",
    "replaced_error",
    "replacing",
    "resolve_target",
]

Key = tuple[str, str]


def matching_names(names: Iterable[str], prefix: str) -> list[str]:
    """The names ``prefix`` selects: the name itself if present, otherwise every name it starts."""
    names = sorted(names)
    return [n for n in names if n == prefix] or [n for n in names if n.startswith(prefix)]


def check_app(loader: MigrationLoader, app_label: str) -> None:
    """Raise :class:`UnknownAppError` unless ``app_label`` is installed and has migrations."""
    migrated = ", ".join(sorted(loader.migrated_apps))
    try:
        apps.get_app_config(app_label)
    except LookupError:
        hint = " (several targets go in a list)" if "." in app_label else ""
        raise UnknownAppError(
            f"No installed app with label {app_label!r}{hint}. Apps with migrations: {migrated}."
        ) from None
    if app_label not in loader.migrated_apps:
        raise UnknownAppError(
            f"App {app_label!r} does not have migrations. Apps with migrations: {migrated}."
        )


def _app_migrations(loader: MigrationLoader, app_label: str) -> list[str]:
    return sorted(name for app, name in loader.disk_migrations if app == app_label)


def find_migration(loader: MigrationLoader, app_label: str, name: str) -> Key:
    """The key of the app's migration ``name`` (a full name or a unique prefix), on disk.

    A full name wins over a longer name it prefixes; otherwise Django's
    ``MigrationLoader.get_migration_by_prefix`` decides.
    """
    if (app_label, name) in loader.disk_migrations:
        return app_label, name
    try:
        migration = loader.get_migration_by_prefix(app_label, name)
    except AmbiguityError:
        raise AmbiguousMigrationError(
            f"More than one migration matches {name!r} in app {app_label!r}: "
            f"{', '.join(matching_names(_app_migrations(loader, app_label), name))}. Please be more specific."
        ) from None
    except KeyError:
        raise UnknownMigrationError(
            f"Cannot find a migration matching {name!r} from app {app_label!r}. "
            f"Its migrations are: {', '.join(_app_migrations(loader, app_label))} (or zero).",
            (app_label, name),
        ) from None
    return app_label, migration.name


def replacing(loader: MigrationLoader, key: Key) -> Key | None:
    """The squashed migration in the graph that replaces ``key`` (through nested squashes)."""
    for squashed, migration in loader.replacements.items():
        if key in {tuple(r) for r in migration.replaces}:
            if squashed in loader.graph.nodes:
                return squashed
            return replacing(loader, squashed)
    return None


def replaced_error(
    loader: MigrationLoader, key: Key, *, fresh_database: bool = False
) -> UnknownMigrationError | ReplacedMigrationError:
    """The error for ``key``, a migration on disk that is not a node of the graph.

    It names the squashed migration replacing it and what to use instead;
    ``fresh_database`` words the advice for an empty database (where Django
    applies the squashed migration), otherwise for ``migrate`` on a database
    where the squash is not applied.
    """
    app, name = key
    squashed = replacing(loader, key)
    if squashed is None:
        usable = ", ".join(sorted(n for a, n in loader.graph.nodes if a == app))
        return UnknownMigrationError(
            f"Migration {app}.{name} is not in the migration graph; the usable migrations of "
            f"{app!r} are: {usable}.",
            key,
        )
    replaced = loader.replacements[squashed].replaces
    head = (
        f"Migration {app}.{name} is replaced by the squashed migration {squashed[0]}.{squashed[1]} "
        f"(which replaces {', '.join(n for _, n in replaced)})"
    )
    if not fresh_database:
        advice = (
            f" and is not applied, so migrate cannot stop at it (Django stops with NodeNotFoundError). "
            f"Use '{squashed[0]} {squashed[1]}' (everything it replaces) or a target outside it "
            f"(such as '{squashed[0]} zero')."
        )
    elif key == tuple(replaced[-1]):
        advice = (
            f": the harness starts from an empty database, where Django applies the squashed migration; "
            f"use ({squashed[0]!r}, {squashed[1]!r}) instead: it ends where {name} ends."
        )
    else:
        advice = (
            f": the harness starts from an empty database, where Django applies the squashed migration; "
            f"the state between its replaced migrations does not exist on a fresh database: start at "
            f"({squashed[0]!r}, {squashed[1]!r}) (where {replaced[-1][1]} ends) or at a migration "
            "before the squash."
        )
    return ReplacedMigrationError(head + advice, key)


def resolve_target(
    loader: MigrationLoader, app_label: str, migration_name: str | None, *, fresh_database: bool = False
) -> tuple[str, str | None]:
    """Turn ``migrate``'s ``app_label migration_name`` into a graph key (``None`` for ``zero``).

    ``migration_name`` may be a full name, a unique prefix of one, ``zero``
    or ``None`` (zero). As Django's executor does, a target replaced by an
    *applied* squash (on Django 6.0 and later any squash, except on a
    ``fresh_database``) is planned on the graph without replacements (the
    loader is rebuilt so; its applied set kept), and a partially applied
    squash stands for its last replaced migration. Raises
    :class:`UnknownAppError`, :class:`UnknownMigrationError`,
    :class:`AmbiguousMigrationError` or :class:`ReplacedMigrationError`.
    """
    check_app(loader, app_label)
    if migration_name is None or migration_name == "zero":
        return app_label, None
    target = find_migration(loader, app_label, migration_name)
    if target not in loader.graph.nodes and target in loader.replacements:
        # A partially applied squashed migration is not in the graph: use its last replaced one.
        last_app, last_name = loader.replacements[target].replaces[-1]
        target = (last_app, last_name)
    replacing_on = loader.replace_migrations  # type: ignore[attr-defined]  # set by MigrationLoader.__init__
    # Django's executor plans a target replaced by a squash on the graph without replacements:
    # applied ones only before 6.0, every one since (a fresh database has none applied, so the
    # harness keeps the error there).
    replanned = target in loader.applied_migrations or (django.VERSION >= (6, 0) and not fresh_database)
    if target not in loader.graph.nodes and replanned and replacing_on:
        # Plan on the graph without replacements, keeping the applied set (assumed or recorded).
        applied = dict(loader.applied_migrations)
        loader.replace_migrations = False  # type: ignore[attr-defined]
        loader.build_graph()
        loader.applied_migrations = applied
    if target not in loader.graph.nodes:
        raise replaced_error(loader, target, fresh_database=fresh_database)
    return target

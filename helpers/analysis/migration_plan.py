"""What ``migrate`` would do, without doing it: plans, status, leaves, conflicts, history.

Everything here only *reads*: the migration files on disk and (when a
database alias is given) the ``django_migrations`` table. Nothing is applied,
faked or recorded, and no table is created, so the functions are safe to call
against production before a deployment::

    from helpers.analysis.migration_plan import migration_plan, migration_status, leaf_nodes

    print(migration_plan("books", "0002"))   # what `migrate books 0002` would run
    migration_plan("books", "zero").backwards  # True: it would unapply
    leaf_nodes()["books"]                     # two names: two branches added a 0003
    conflicts()                               # {'books': ['0003_a', '0003_b']}
    history_problems()                        # applied migrations whose parents are not

Targets are named as ``migrate`` names them: an app label, then a migration
name, a unique prefix of one, or ``zero``. Bad input raises
:class:`~helpers.core.exceptions.MigrationTargetError` (a ``ValueError``; the
subclasses of :mod:`helpers.core.exceptions`) naming the candidates (the app
labels with migrations, or the app's migration names); ``manage.py
migration_plan`` turns it into ``CommandError``.

Only Django (and :mod:`helpers.core`) is imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.base import Operation
from django.utils.connection import ConnectionDoesNotExist

from helpers.core.exceptions import (
    ConflictingMigrationsError,
    MigrationTargetError,
    ReplacedMigrationError,
    UnknownDatabaseAliasError,
)
from helpers.core.targets import check_app, resolve_target

__all__ = [
    "MigrationPlan",
    "MigrationStatus",
    "PlanStep",
    "ReplacedTargetError",
    "conflicts",
    "database_connection",
    "history_problems",
    "leaf_nodes",
    "load_executor",
    "migration_plan",
    "migration_status",
    "resolve_target",
]

Key = tuple[str, str]


@dataclass(frozen=True)
class PlanStep:
    """One migration ``migrate`` would apply (or unapply, when ``backwards``)."""

    app_label: str
    name: str
    backwards: bool
    operations: tuple[str, ...] = ()

    def __str__(self) -> str:
        verb = "Unapply" if self.backwards else "Apply"
        return f"{verb} {self.app_label}.{self.name}"


@dataclass(frozen=True)
class MigrationPlan:
    """The migrations ``migrate`` would run for a target, in the order it would run them."""

    target: str
    steps: tuple[PlanStep, ...]
    assumed_all_applied: bool = False

    @property
    def backwards(self) -> bool:
        """True when the plan unapplies migrations (``migrate`` towards an earlier state)."""
        return any(step.backwards for step in self.steps)

    @property
    def names(self) -> list[str]:
        """``app.name`` of every step, in order."""
        return [f"{s.app_label}.{s.name}" for s in self.steps]

    def __str__(self) -> str:
        head = f"Plan for {self.target}"
        if self.assumed_all_applied:
            head += " (assuming every migration is applied)"
        if not self.steps:
            return head + ": nothing to do."
        lines = [head + ":"]
        for step in self.steps:
            lines.append(f"  {step}")
            lines.extend(f"      {'undo: ' if step.backwards else ''}{op}" for op in step.operations)
        return "\n".join(lines)


@dataclass(frozen=True)
class MigrationStatus:
    """One migration of the graph and whether the database records it as applied."""

    app_label: str
    name: str
    applied: bool
    initial: bool
    dependencies: tuple[Key, ...] = field(default=())
    replaces: tuple[Key, ...] = field(default=())

    def __str__(self) -> str:
        return f"[{'X' if self.applied else ' '}] {self.app_label}.{self.name}"


def load_executor(using: str | None = DEFAULT_DB_ALIAS) -> MigrationExecutor:
    """A migration executor over the files on disk (and the ``using`` database's records).

    ``using=None`` reads no database at all: every migration counts as
    unapplied. Building it runs no migration and creates no table.
    """
    return MigrationExecutor(database_connection(using) if using is not None else None)


def database_connection(using: str) -> BaseDatabaseWrapper:
    """The connection of alias ``using``; :class:`UnknownDatabaseAliasError` naming the aliases if unknown."""
    try:
        return connections[using]
    except ConnectionDoesNotExist:
        raise UnknownDatabaseAliasError(
            f"Unknown database alias {using!r}. The aliases of this project: "
            f"{', '.join(sorted(connections.settings))}."
        ) from None


def _migrated_apps(loader: MigrationLoader) -> list[str]:
    return sorted(loader.migrated_apps)


def _check_app(loader: MigrationLoader, app_label: str) -> None:
    check_app(loader, app_label)


ReplacedTargetError = ReplacedMigrationError  # the name this module used before helpers.core


def _in_run_order(operations: Sequence[Operation], backwards: bool) -> list[Operation]:
    return list(reversed(operations)) if backwards else list(operations)


def _conflict_error(found: dict[str, list[str]]) -> ConflictingMigrationsError:
    text = "; ".join(f"{', '.join(names)} in {app}" for app, names in sorted(found.items()))
    return ConflictingMigrationsError(
        f"Conflicting migrations detected; multiple leaf nodes in the migration graph: ({text}).\n"
        "To fix them run 'python manage.py makemigrations --merge'"
    )


def prepared_executor(
    app_label: str | None,
    migration_name: str | None,
    using: str | None,
    *,
    assume_all_applied: bool = False,
) -> MigrationExecutor:
    """An executor for planning: the app checked, conflicts refused, applied set chosen.

    Raises :class:`MigrationTargetError` for a migration name without its app, an unknown
    app, or conflicting leaf migrations (as ``migrate`` does). With
    ``assume_all_applied``, every migration on disk counts as applied.
    """
    if migration_name is not None and app_label is None:
        raise MigrationTargetError(f"Name the app of migration {migration_name!r}.")
    executor = load_executor(using)
    loader = executor.loader
    if app_label is not None:
        _check_app(loader, app_label)
    found = loader.detect_conflicts()
    if found:
        raise _conflict_error(found)
    if assume_all_applied:
        # What a fully migrated database records: every node, and what each applied squash replaces.
        applied = {key: loader.graph.nodes[key] for key in loader.graph.nodes}
        for key, squashed in loader.replacements.items():
            if key in applied:
                for replaced in squashed.replaces:
                    app, name = replaced
                    if (app, name) in loader.disk_migrations:
                        applied[app, name] = loader.disk_migrations[app, name]
        loader.applied_migrations = applied
    return executor


def migration_plan(
    app_label: str | None = None,
    migration_name: str | None = None,
    *,
    using: str | None = DEFAULT_DB_ALIAS,
    assume_all_applied: bool = False,
) -> MigrationPlan:
    """The plan ``migrate [app_label [migration_name]]`` would run, without running it.

    With ``assume_all_applied`` the plan is computed as if every migration on
    disk were applied (what a fully deployed database holds), whatever the
    database says: the backwards plan of a release, checked before it exists.
    Like ``migrate``, refuses (:class:`ConflictingMigrationsError`) when an app has conflicting
    leaf migrations.
    """
    executor = prepared_executor(app_label, migration_name, using, assume_all_applied=assume_all_applied)
    loader = executor.loader
    if app_label and migration_name:
        targets: list[tuple[str, str | None]] = [resolve_target(loader, app_label, migration_name)]
        target_text = f"{app_label} {migration_name}"
    elif app_label:
        targets = [key for key in loader.graph.leaf_nodes() if key[0] == app_label]
        target_text = f"{app_label} (latest)"
    else:
        targets = list(loader.graph.leaf_nodes())
        target_text = "every app (latest)"
    steps = tuple(
        PlanStep(
            migration.app_label,
            migration.name,
            backwards,
            tuple(op.describe() for op in _in_run_order(migration.operations, backwards)),
        )
        for migration, backwards in executor.migration_plan(targets)
    )
    return MigrationPlan(target_text, steps, assume_all_applied)


def _ordered_keys(loader: MigrationLoader, app_labels: Iterable[str]) -> list[Key]:
    keys: list[Key] = []
    seen: set[Key] = set()
    for app in app_labels:
        for leaf in sorted(k for k in loader.graph.leaf_nodes() if k[0] == app):
            for key in loader.graph.forwards_plan(leaf):
                if key[0] == app and key not in seen:
                    seen.add(key)
                    keys.append(key)
    return keys


def migration_status(app_label: str | None = None, *, using: str = DEFAULT_DB_ALIAS) -> list[MigrationStatus]:
    """Every migration (of ``app_label``, or of every app) with its applied status, in order."""
    loader = load_executor(using).loader
    if app_label is not None:
        _check_app(loader, app_label)
    labels = [app_label] if app_label else _migrated_apps(loader)
    result = []
    for key in _ordered_keys(loader, labels):
        migration = loader.graph.nodes[key]
        initial = migration.initial
        if initial is None:  # Django's rule: first in its app, i.e. no parent in the same app
            initial = not any(dep[0] == key[0] for dep in migration.dependencies)
        result.append(
            MigrationStatus(
                key[0],
                key[1],
                key in loader.applied_migrations,
                bool(initial),
                tuple((d[0], d[1]) for d in migration.dependencies),
                tuple((r[0], r[1]) for r in migration.replaces),
            )
        )
    return result


def leaf_nodes(*, using: str | None = None) -> dict[str, list[str]]:
    """The leaf migrations of every app (two or more for an app means a conflict)."""
    loader = load_executor(using).loader
    leaves: dict[str, list[str]] = {}
    for app, name in sorted(loader.graph.leaf_nodes()):
        leaves.setdefault(app, []).append(name)
    return leaves


def conflicts(*, using: str | None = None) -> dict[str, list[str]]:
    """Apps with more than one leaf migration, and those leaves (what ``migrate`` refuses)."""
    loader = load_executor(using).loader
    return {app: sorted(names) for app, names in sorted(loader.detect_conflicts().items())}


def history_problems(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Applied migrations whose dependencies are not applied (``InconsistentMigrationHistory``).

    Returns one sentence per broken edge, instead of raising on the first one
    as ``migrate`` and ``makemigrations`` do; an empty list means consistent.
    """
    loader = load_executor(using).loader
    applied = loader.applied_migrations
    problems = []
    for key in sorted(applied):
        if key not in loader.graph.nodes:
            continue
        for parent in sorted(loader.graph.node_map[key].parents, key=lambda n: n.key):
            pkey = parent.key
            if pkey in applied:
                continue
            if pkey in loader.replacements and all(m in applied for m in loader.replacements[pkey].replaces):
                continue
            problems.append(
                f"Migration {key[0]}.{key[1]} is applied before its dependency {pkey[0]}.{pkey[1]}."
            )
    return problems

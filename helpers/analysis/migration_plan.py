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
:class:`~django.core.management.CommandError` naming the candidates (the
app labels with migrations, or the app's migration names).

Only Django is imported: copy this module into any project.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import django
from django.apps import apps
from django.core.management import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils.connection import ConnectionDoesNotExist

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
    """The connection of alias ``using``; :class:`CommandError` naming the aliases when unknown."""
    try:
        return connections[using]
    except ConnectionDoesNotExist:
        raise CommandError(
            f"Unknown database alias {using!r}. The aliases of this project: "
            f"{', '.join(sorted(connections.settings))}."
        ) from None


def _migrated_apps(loader: MigrationLoader) -> list[str]:
    return sorted(loader.migrated_apps)


def _check_app(loader: MigrationLoader, app_label: str) -> None:
    try:
        apps.get_app_config(app_label)
    except LookupError:
        raise CommandError(
            f"No installed app with label {app_label!r}. Apps with migrations: "
            f"{', '.join(_migrated_apps(loader))}."
        ) from None
    if app_label not in loader.migrated_apps:
        raise CommandError(
            f"App {app_label!r} does not have migrations. Apps with migrations: "
            f"{', '.join(_migrated_apps(loader))}."
        )


def _app_migrations(loader: MigrationLoader, app_label: str) -> list[str]:
    return sorted(name for app, name in loader.disk_migrations if app == app_label)


def resolve_target(loader: MigrationLoader, app_label: str, migration_name: str) -> tuple[str, str | None]:
    """Turn ``migrate``'s ``app_label migration_name`` into a graph key (``None`` for ``zero``).

    ``migration_name`` may be a full name, a unique prefix of one, or
    ``zero``. Raises :class:`CommandError` naming the candidates when the app
    is unknown, when nothing matches or when the prefix is ambiguous.
    """
    _check_app(loader, app_label)
    if migration_name == "zero":
        return app_label, None
    names = _app_migrations(loader, app_label)
    matches = [n for n in names if n == migration_name] or [n for n in names if n.startswith(migration_name)]
    if not matches:
        raise CommandError(
            f"Cannot find a migration matching {migration_name!r} from app {app_label!r}. "
            f"Its migrations are: {', '.join(names)} (or zero)."
        )
    if len(matches) > 1:
        raise CommandError(
            f"More than one migration matches {migration_name!r} in app {app_label!r}: "
            f"{', '.join(matches)}. Please be more specific."
        )
    target = (app_label, matches[0])
    if target not in loader.graph.nodes and target in loader.replacements:
        # A partially applied squashed migration is not in the graph: use its last replaced one.
        target = loader.replacements[target].replaces[-1]
    replanned = target in loader.applied_migrations or django.VERSION >= (6, 0)
    if target not in loader.graph.nodes and replanned and loader.replace_migrations:
        # What Django's executor does for a migration replaced by a squash (applied ones only
        # before 6.0, every one since): plan on the graph without replacements (keeping the
        # applied set, assumed or recorded).
        applied = dict(loader.applied_migrations)
        loader.replace_migrations = False
        loader.build_graph()
        loader.applied_migrations = applied
    if target not in loader.graph.nodes:
        raise _replaced_error(loader, target)
    return target


class ReplacedTargetError(CommandError):
    """The target migration is replaced by a squashed migration, so it is not a node of the graph."""


def _replaced_error(loader: MigrationLoader, target: Key) -> CommandError:
    squashed = sorted(
        key for key, migration in loader.replacements.items()
        if tuple(target) in {tuple(r) for r in migration.replaces} and key in loader.graph.nodes
    )  # fmt: skip
    if not squashed:
        return CommandError(f"Migration {target[0]}.{target[1]} is not in the migration graph.")
    app, name = squashed[0]
    replaced = loader.replacements[squashed[0]].replaces
    first, last = replaced[0], replaced[-1]
    return ReplacedTargetError(
        f"Migration {target[0]}.{target[1]} is replaced by the squashed migration {app}.{name} "
        f"(which replaces {first[0]}.{first[1]} to {last[0]}.{last[1]}) and is not applied, so "
        f"migrate cannot stop at it (Django stops with NodeNotFoundError). Use '{app} {name}' "
        f"(everything it replaces) or a target outside it (such as '{app} zero')."
    )


def _in_run_order(operations: list, backwards: bool) -> list:
    return list(reversed(operations)) if backwards else list(operations)


def _conflict_error(found: dict[str, list[str]]) -> CommandError:
    text = "; ".join(f"{', '.join(names)} in {app}" for app, names in sorted(found.items()))
    return CommandError(
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

    Raises ``CommandError`` for a migration name without its app, an unknown
    app, or conflicting leaf migrations (as ``migrate`` does). With
    ``assume_all_applied``, every migration on disk counts as applied.
    """
    if migration_name is not None and app_label is None:
        raise CommandError(f"Name the app of migration {migration_name!r}.")
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
                    if tuple(replaced) in loader.disk_migrations:
                        applied[tuple(replaced)] = loader.disk_migrations[tuple(replaced)]
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
    Like ``migrate``, refuses (``CommandError``) when an app has conflicting
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
                tuple(tuple(d) for d in migration.dependencies),  # type: ignore[misc]
                tuple(tuple(r) for r in migration.replaces),  # type: ignore[misc]
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

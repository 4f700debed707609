"""Write the migrations of a model broken down with ``broken-down-models`` (``bdmodels``).

The library's *Migrations* page explains that ``makemigrations`` misreads a
broken-down model: its virtual fields (``VirtualParentLink``,
``VirtualOneToOneField``) have no column, yet the autodetector adds them as
new non-null fields (asking for a one-off default) and may alter the primary
key. The documented fix is a manual edit into three migrations.
:func:`write_breakdown_migrations` (and the management command
``breakdown_migrations``) does that edit itself:

1. ``NNNN_breakdown``: the ``CreateModel`` of each new partial parent (and of
   each new broken-down model, without its virtual fields), one
   ``bdmodels.migration_ops.AddVirtualField`` per virtual field, without a
   default, in the order of the fields in the model, and, when the model's
   ``id`` is written as the library documents (``id =
   models.AutoField(primary_key=True)``), a state-only ``AlterField`` that
   keeps Django's state in step with the model without touching the table;
2. ``NNNN_breakdown_copy``: what the page does with one
   ``bdmodels.migration_ops.CopyDataToPartial`` per new partial (an ``INSERT ...
   SELECT``, reversed by an ``UPDATE`` joining the partial), as one ``RunPython``
   whose functions are written into the file: the library's operation cannot run
   on MySQL/MariaDB (it is ``atomic = True``, so Django wraps it in a transaction
   there, where its ``schema_editor.execute()`` is refused for lack of
   transactional DDL; its reverse is ``UPDATE ... FROM``, which MySQL lacks). The
   written copy runs the same ``INSERT ... SELECT`` through a cursor and reverses
   with the database's own multi-table ``UPDATE`` (``UPDATE ... FROM``, MySQL's
   ``UPDATE ... JOIN``, or correlated subqueries), then empties the partials of the
   copied rows, so that forwards, backwards and forwards again all work;
3. ``NNNN_breakdown_cleanup``: the moved fields removed, as one
   ``SeparateDatabaseAndState``: Django's ``RemoveField`` for the state, and
   for the database a ``RunPython`` whose two functions are written into the
   migration file itself. The reverse function re-adds the columns nullable
   (a cheap ``ADD COLUMN``), fills them from the partials (the same ``UPDATE``), and restores their
   real definition (``NOT NULL``, default, index) at once: on SQLite one
   rebuild of the table per model, whatever the number of fields. A plain
   ``RemoveField`` (what the page moves into the cleanup) cannot be reversed
   on a table with rows when a field is ``NOT NULL`` without a default.

Steps 2 and 3 are written only when fields move (adding virtual links to
partials that already exist, as the library's own test app does in its
migration 0002, needs the first migration only).

The written files import only Django and ``bdmodels``: a project can drop the
kit (or have a package of its own named ``helpers``) and still load its
history. Errors are :class:`BreakdownError` (a ``ValueError``); nothing is
written then.
"""

from __future__ import annotations

import importlib.metadata
import os
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import django
from bdmodels import migration_ops
from django.apps import apps as global_apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, migrations, models
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.base import Operation
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import MigrationWriter

from helpers.core import graph as graph_checks
from helpers.writers.file_writer import write_all

__all__ = [
    "BreakdownError",
    "BreakdownPlan",
    "BreakdownQuestioner",
    "check_library_compatible",
    "plan_breakdown",
    "summary",
    "write_breakdown_migrations",
]

#: The one-off default the library's page types at the prompt; it never reaches a file.
ONE_OFF_DEFAULT = 0
SUFFIXES = ("breakdown", "breakdown_copy", "breakdown_cleanup")
#: Stand-in module of the functions written into the cleanup migration itself.
_LOCAL = "_breakdown_local_functions"
HEADER = "# Written by breakdown_migrations. Needs only Django and broken-down-models (bdmodels).\n"


class BreakdownError(ValueError):
    """The breakdown cannot be written as asked; the message says why and what to do.

    Nothing was written when it is raised.
    """


def check_library_compatible() -> None:
    """Raise :class:`BreakdownError` when the installed bdmodels cannot run on this Django.

    broken-down-models 0.5.0 (the newest release) defines
    ``VirtualForeignKey._check_on_delete(self)``; Django 6.0 calls it with a
    ``databases`` argument, so every system check of a project using it ends
    in a ``TypeError``.
    """
    version = importlib.metadata.version("broken-down-models")
    numbers = tuple(int(p) for p in version.split(".")[:3] if p.isdigit())
    if django.VERSION >= (6, 0) and numbers <= (0, 5, 0):
        raise BreakdownError(
            f"broken-down-models {version} does not work on Django {django.get_version()}: its "
            "VirtualForeignKey._check_on_delete() takes no 'databases' argument, which Django 6.0 "
            "passes (TypeError in every system check). Use Django 5.2 LTS, or a release of "
            "broken-down-models that supports Django 6. Nothing was written."
        )


#: Written into both the copy and the cleanup migration: the copy back from the partials.
UPDATE_FUNCTION = '''
def update_syntax(connection):
    """The multi-table UPDATE this database has: "from", "join" (MySQL/MariaDB) or "subquery"."""
    if connection.vendor == "postgresql":
        return "from"
    if connection.vendor == "sqlite":  # UPDATE ... FROM since SQLite 3.33.0
        return "from" if connection.Database.sqlite_version_info >= (3, 33, 0) else "subquery"
    if connection.vendor == "mysql":
        return "join"
    return "subquery"  # standard SQL: one correlated subquery per column


def run_sql(schema_editor, sql):
    """``schema_editor.execute(sql)`` (which ``sqlmigrate`` collects), or a plain cursor where
    it refuses: inside a transaction on a database without transactional DDL (MySQL), which is
    where Django runs this migration's ``RunPython`` there."""
    connection = schema_editor.connection
    refused = connection.in_atomic_block and not connection.features.can_rollback_ddl
    if refused and not schema_editor.collect_sql:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    else:
        schema_editor.execute(sql)


def update_from_partials(schema_editor, model, partials, syntax=None):
    """Set the moved columns of ``model``'s rows from its partials' rows, in one UPDATE.

    ``partials`` is a list of (partial model, moved field names); rows match on
    the primary key, as the library's CopyDataToPartial does. The statement is the
    database's own (``update_syntax``): UPDATE ... FROM (PostgreSQL, SQLite),
    UPDATE ... JOIN ... SET (MySQL/MariaDB, which has no UPDATE ... FROM), or
    correlated subqueries (any other database).
    """
    qn = schema_editor.quote_name
    syntax = syntax or update_syntax(schema_editor.connection)
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    sets, sources, matches = [], [], []
    for index, (part, names) in enumerate(partials):
        src = qn("src%d" % index)
        source = f"{qn(part._meta.db_table)} {src}"
        match = f"{src}.{qn(part._meta.pk.column)} = {table}.{pk}"
        for name in names:
            column = qn(model._meta.get_field(name).column)
            value = f"{src}.{qn(part._meta.get_field(name).column)}"
            if syntax == "join":
                sets.append(f"{table}.{column} = {value}")
            elif syntax == "from":
                sets.append(f"{column} = {value}")
            else:
                sets.append(f"{column} = (SELECT {value} FROM {source} WHERE {match})")
        sources.append(source)
        matches.append(match)
    if syntax == "join":
        joins = " ".join(f"JOIN {s} ON {m}" for s, m in zip(sources, matches))
        sql = f"UPDATE {table} {joins} SET {', '.join(sets)}"
    elif syntax == "from":
        sql = f"UPDATE {table} SET {', '.join(sets)} FROM {', '.join(sources)} WHERE {' AND '.join(matches)}"
    else:
        found = " AND ".join(f"EXISTS (SELECT 1 FROM {s} WHERE {m})" for s, m in zip(sources, matches))
        sql = f"UPDATE {table} SET {', '.join(sets)} WHERE {found}"
    run_sql(schema_editor, sql)
'''

#: The functions of the copy migration, written into the file (after ``UPDATE_FUNCTION``).
COPY_FUNCTIONS = '''
def copy_to_partials(apps, schema_editor):
    """Forwards: fill each new partial's table from its broken-down model's (INSERT ... SELECT).

    One operation for every partial: one transaction on every database (on
    MySQL too, where the migration itself has none). A partial's rows with the
    primary key of a row being copied are copied again: on MySQL a failure later
    in the migration leaves this copy committed, and the retry starts over.
    """
    qn = schema_editor.quote_name
    for model_name, partials in MOVED.items():
        model = apps.get_model(APP_LABEL, model_name)
        table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
        for part_name, names in partials.items():
            part = apps.get_model(APP_LABEL, part_name)
            part_table, part_pk = qn(part._meta.db_table), qn(part._meta.pk.column)
            run_sql(schema_editor, f"DELETE FROM {part_table} WHERE {part_pk} IN (SELECT {pk} FROM {table})")
            targets = [part_pk] + [qn(part._meta.get_field(n).column) for n in names]
            values = [pk] + [qn(model._meta.get_field(n).column) for n in names]
            run_sql(
                schema_editor,
                f"INSERT INTO {part_table} ({', '.join(targets)}) SELECT {', '.join(values)} FROM {table}",
            )


def copy_back_from_partials(apps, schema_editor):
    """Backwards: the partials' values back into the model's rows, then out of the partials.

    One UPDATE per broken-down model (``update_from_partials``), then each
    partial's copied rows (those with a primary key of the model's table) are
    deleted: the partials are left as the schema migration made them, so the
    copy can run forwards again.
    """
    qn = schema_editor.quote_name
    for model_name, partials in MOVED.items():
        model = apps.get_model(APP_LABEL, model_name)
        parts = [(apps.get_model(APP_LABEL, p), names) for p, names in partials.items()]
        update_from_partials(schema_editor, model, parts)
        table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
        for part, _names in parts:
            run_sql(
                schema_editor,
                f"DELETE FROM {qn(part._meta.db_table)} "
                f"WHERE {qn(part._meta.pk.column)} IN (SELECT {pk} FROM {table})",
            )
'''

#: The functions of the cleanup migration, written into the file (``MOVED`` and
#: ``APP_LABEL`` are written above them, ``UPDATE_FUNCTION`` before them).
CLEANUP_FUNCTIONS = '''
def drop_moved_columns(apps, schema_editor):
    """Forwards: drop the columns whose values now live in the partial models."""
    for model_name, partials in MOVED.items():
        model = apps.get_model(APP_LABEL, model_name)
        for names in partials.values():
            for name in names:
                schema_editor.remove_field(model, model._meta.get_field(name))


def restore_moved_columns(apps, schema_editor):
    """Backwards: re-add the moved columns, fill them from the partials, restore their definitions.

    Each column comes back nullable, without default, unique or index (a plain
    ADD COLUMN, no table rebuild), is filled by one UPDATE joining every partial
    (``update_from_partials``), then gets its real definition back. On SQLite
    that last step is one rebuild of the table: the schema editor rebuilds it
    from the model, whose fields all have their real definitions. Elsewhere
    each column is altered.
    """
    for model_name, partials in MOVED.items():
        model = apps.get_model(APP_LABEL, model_name)
        loose = {}
        for names in partials.values():
            for name in names:
                real = model._meta.get_field(name)
                loose[name] = copy.copy(real)
                loose[name].null, loose[name]._unique, loose[name].db_index = True, False, False
                loose[name].default = loose[name].db_default = NOT_PROVIDED
                if hasattr(real, "auto_now"):
                    loose[name].auto_now = loose[name].auto_now_add = False
                schema_editor.add_field(model, loose[name])
        parts = [(apps.get_model(APP_LABEL, p), names) for p, names in partials.items()]
        update_from_partials(schema_editor, model, parts)
        changed = [
            model._meta.get_field(name)
            for name in loose
            if loose[name].deconstruct()[1:] != model._meta.get_field(name).deconstruct()[1:]
        ]
        if schema_editor.connection.vendor == "sqlite":
            changed = changed[:1]
        for real in changed:
            schema_editor.alter_field(model, loose[real.name], real)
'''




def _local_function(name: str) -> Any:
    """A stand-in for a function written into the migration file (the writer names it)."""

    def function(apps: Any, schema_editor: Any) -> None:  # pragma: no cover - never run
        raise NotImplementedError(name)

    function.__module__, function.__name__, function.__qualname__ = _LOCAL, name, name
    return function


class BreakdownQuestioner(NonInteractiveMigrationQuestioner):
    """Answer ``makemigrations``' question about the new virtual fields as the page does.

    The autodetector sees each virtual field as a new non-null field and asks
    for a one-off default; the page answers ``0`` and edits it away. Here the
    answer is given without a prompt and is dropped when the ``AddField``
    becomes an ``AddVirtualField``.
    """

    def ask_not_null_addition(self, field_name: str, model_name: str) -> Any:
        """Return the one-off default (0) instead of prompting."""
        return ONE_OFF_DEFAULT


@dataclass
class BreakdownPlan:
    """The migrations of a breakdown (one to three), before they are written."""

    app_label: str
    models: list[str]
    partials: list[str]
    dependencies: list[tuple[str, str]]
    schema: list[Operation] = field(default_factory=list)
    copy: list[Operation] = field(default_factory=list)
    #: model name -> partial name -> the fields moved there (for the cleanup's functions).
    moved: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    cleanup: list[Operation] = field(default_factory=list)
    names: tuple[str, ...] = ()

    def migrations(self) -> list[migrations.Migration]:
        """The ``Migration`` objects (schema, then copy and cleanup if fields move), chained."""
        made = []
        previous = list(self.dependencies)
        parts = [ops for ops in (self.schema, self.copy, self.cleanup) if ops]
        for name, operations in zip(self.names, parts, strict=True):
            migration = migrations.Migration(name, self.app_label)
            migration.dependencies = previous  # type: ignore[misc]  # as Django's own autodetector does
            migration.operations = list(operations)  # type: ignore[misc]
            made.append(migration)
            previous = [(self.app_label, name)]
        return made

    def texts(self) -> list[str]:
        """The source of each migration file, as it will be written."""
        out = []
        for migration in self.migrations():
            text = MigrationWriter(migration, include_header=False).as_string()
            if migration.operations and migration.operations == self.cleanup:
                text = _with_functions(text, self.app_label, self.moved, CLEANUP_FUNCTIONS, cleanup=True)
            elif migration.operations and migration.operations == self.copy:
                text = _with_functions(text, self.app_label, self.moved, COPY_FUNCTIONS)
            out.append(HEADER + text)
        return out


def _with_functions(
    text: str, app_label: str, moved: dict[str, dict[str, list[str]]], functions: str, *,
    cleanup: bool = False,
) -> str:
    """Write a migration's functions into its file, in place of the stand-in module."""
    text = text.replace(f"import {_LOCAL}\n", "").replace(f"{_LOCAL}.", "")
    constants = (
        f"APP_LABEL = {app_label!r}\n"
        "# The fields moved out of each broken-down model, per partial model.\n"
        f"MOVED = {moved!r}\n"
    )
    head, sep, tail = text.partition("\n\nclass Migration(")
    if cleanup:
        head = head.replace(
            "from django.db import migrations",
            "import copy\n\nfrom django.db.models import NOT_PROVIDED\nfrom django.db import migrations",
            1,
        )
    return f"{head}\n\n{constants}\n{UPDATE_FUNCTION}\n{functions}{sep}{tail}"


def _copy_operation() -> Operation:
    """The copy: one ``RunPython`` for every partial, its two functions written into the file.

    Not the library's ``CopyDataToPartial``: that one is ``atomic = True``, so on a
    database without transactional DDL (MySQL) Django runs it inside a transaction,
    where its ``schema_editor.execute()`` is refused (``TransactionManagementError``),
    and its reverse is ``UPDATE ... FROM``, which MySQL lacks. The written
    functions run the same ``INSERT ... SELECT`` through a cursor, and reverse with
    each database's own multi-table ``UPDATE``.
    """
    return migrations.RunPython(
        _local_function("copy_to_partials"), _local_function("copy_back_from_partials"), elidable=True
    )


def _cleanup_operation(plan: BreakdownPlan, removes: list[migrations.RemoveField]) -> Operation:
    return migrations.SeparateDatabaseAndState(
        database_operations=[
            migrations.RunPython(
                _local_function("drop_moved_columns"), _local_function("restore_moved_columns")
            )
        ],
        state_operations=list(removes),
    )


def _virtual(field: models.Field) -> bool:
    return bool(getattr(field, "can_share_attribute", False))


class _Target(NamedTuple):
    model_name: str  # lower case, as in the migration state
    label_lower: str
    parent_link: bool


def _target(field: models.Field) -> _Target:
    """The model a (virtual) relation of the breakdown points at."""
    rel = field.remote_field
    if rel is None or isinstance(rel.model, str):
        raise BreakdownError(f"{field.name} is not a resolved relation. Nothing was written.")
    meta = rel.model._meta
    return _Target(str(meta.model_name), meta.label_lower, bool(getattr(rel, "parent_link", False)))


def _describe(operations: Iterable[Operation]) -> str:
    return "; ".join(op.describe() for op in operations)


def _without_default(field: models.Field) -> models.Field:
    """The same virtual field, rebuilt without the one-off default."""
    _, _path, args, kwargs = field.deconstruct()
    kwargs.pop("default", None)
    return field.__class__(*args, **kwargs)


def _add_virtual(model_name: str, name: str, field: models.Field) -> Operation:
    """``bdmodels.migration_ops.AddVirtualField(...)``, written to files as that call."""
    return _AddVirtualFieldCall(model_name=model_name, name=name, field=_without_default(field))


class _AddVirtualFieldCall(migrations.SeparateDatabaseAndState):
    """The library's ``AddVirtualField`` result, written to files as a call to it.

    Behaves exactly as ``bdmodels.migration_ops.AddVirtualField(...)`` (it is
    built from it); only its ``deconstruct`` and module differ, so that
    ``MigrationWriter`` writes ``bdmodels.migration_ops.AddVirtualField(...)``.
    The written file never names this class.
    """

    __module__ = migration_ops.__name__

    def __init__(self, *, model_name: str, name: str, field: models.Field) -> None:
        made = migration_ops.AddVirtualField(model_name=model_name, name=name, field=field)
        super().__init__(database_operations=made.database_operations, state_operations=made.state_operations)
        self.model_name, self.name, self.field = model_name, name, field

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return "AddVirtualField", [], {"model_name": self.model_name, "name": self.name, "field": self.field}

    def describe(self) -> str:
        return f"Add virtual field {self.name} to {self.model_name} (model state only, no column)"


def _check_history(loader: MigrationLoader, app_label: str, *, applied: bool) -> None:
    conflicts = loader.detect_conflicts()
    if app_label in conflicts:
        raise BreakdownError(
            f"Conflicting migrations in app '{app_label}': {', '.join(sorted(conflicts[app_label]))}. "
            "Merge them first (makemigrations --merge). Nothing was written."
        )
    if not applied:
        return
    unapplied = graph_checks.unapplied(loader, app_label)
    if unapplied:
        raise BreakdownError(
            f"App '{app_label}' has unapplied migrations: {', '.join(unapplied)}. "
            "Apply them first (migrate), so that the breakdown starts from the database's real "
            "state. Nothing was written."
        )


def _broken_down_models(app_label: str, apps: Any) -> list[type[models.Model]]:
    from bdmodels.models import BrokenDownModel  # needs the app registry: imported when it is ready

    app_models = list(apps.get_app_config(app_label).get_models())
    misfits = [
        m._meta.object_name
        for m in app_models
        if not issubclass(m, BrokenDownModel)
        and not m._meta.proxy
        and (m._meta.parents or any(_virtual(f) for f in m._meta.local_fields))
    ]
    if misfits:
        raise BreakdownError(
            f"{', '.join(misfits)} in app '{app_label}' "
            f"{'has' if len(misfits) == 1 else 'have'} parent models but "
            f"{'is' if len(misfits) == 1 else 'are'} not a broken-down model: make "
            "bdmodels.models.BrokenDownModel the first base class and link each parent with a "
            "VirtualParentLink. Nothing was written."
        )
    found = [m for m in app_models if issubclass(m, BrokenDownModel) and not m._meta.proxy]
    if not found:
        raise BreakdownError(
            f"App '{app_label}' has no broken-down model (a subclass of "
            "bdmodels.models.BrokenDownModel). Nothing was written."
        )
    return found


def _loader(app_label: str, using: str, *, dry_run: bool) -> MigrationLoader:
    if using not in settings.DATABASES:
        raise BreakdownError(
            f"Unknown database alias {using!r}: the project's databases are "
            f"{', '.join(map(repr, settings.DATABASES))}. Nothing was written."
        )
    if dry_run:
        # As makemigrations: the files alone say what the migrations are.
        return MigrationLoader(None, ignore_no_migrations=True)
    try:
        return MigrationLoader(connections[using], ignore_no_migrations=True)
    except DatabaseError as exc:
        raise BreakdownError(
            f"Writing the breakdown needs database {using!r}, to check that every migration of "
            f"'{app_label}' is applied (the copy starts from the rows as they are), and it cannot "
            f"be reached: {exc}. --dry-run shows the migrations without it. Nothing was written."
        ) from exc


def plan_breakdown(
    app_label: str, *, using: str = DEFAULT_DB_ALIAS, apps: Any = None, dry_run: bool = False
) -> BreakdownPlan:
    """Work out the breakdown migrations of ``app_label``, or raise :class:`BreakdownError`.

    Refuses (nothing is written) when the app has conflicting migrations or
    (unless ``dry_run``, which reads no database) unapplied ones, when a model
    with parents is not a ``BrokenDownModel``, when the models add nothing to
    break down, when the model's primary key would change in the database, when
    the parent links are not in the order they were added, or when the models
    hold other changes too.
    """
    apps = apps or global_apps
    try:
        apps.get_app_config(app_label)
    except LookupError as exc:
        raise BreakdownError(f"No installed app with label '{app_label}'.") from exc
    loader = _loader(app_label, using, dry_run=dry_run)
    if app_label not in loader.migrated_apps:
        raise BreakdownError(f"App '{app_label}' has no migrations: make its initial migration first.")
    _check_history(loader, app_label, applied=not dry_run)
    broken_down = _broken_down_models(app_label, apps)

    old_state = loader.project_state()
    new_state = ProjectState.from_apps(apps)
    detector = MigrationAutodetector(old_state, new_state, BreakdownQuestioner())
    changes = detector.changes(graph=loader.graph, trim_to_apps={app_label}, convert_apps={app_label})
    generated = changes.get(app_label, [])
    operations = [op for migration in generated for op in migration.operations]
    own = {(app_label, m.name) for m in generated}
    leaf = loader.graph.leaf_nodes(app_label)[0]
    dependencies = sorted({dep for m in generated for dep in m.dependencies if dep not in own} | {leaf})
    plan = BreakdownPlan(app_label, [str(m._meta.object_name) for m in broken_down], [], dependencies)

    created = {op.name_lower: op for op in operations if isinstance(op, migrations.CreateModel)}
    # Virtual fields the migrations must add, per model, in the model's order.
    wanted: dict[str, list[models.Field]] = {}
    for model in broken_down:
        name = str(model._meta.model_name)
        state = old_state.models.get((app_label, name))
        seen_new = None
        for f in model._meta.local_fields:
            if not _virtual(f):
                continue
            if state is None or f.name not in state.fields:
                seen_new = seen_new or f.name
                wanted.setdefault(name, []).append(f)
            elif seen_new and _target(f).parent_link:
                raise BreakdownError(
                    f"{model._meta.object_name}.{seen_new} comes before {f.name}, which an earlier "
                    "migration added: keep VirtualParentLink fields in the order in which they were "
                    f"added (move {seen_new} after {f.name}). Nothing was written."
                )
    if not wanted:
        names = ", ".join(str(m._meta.object_name) for m in broken_down)
        raise BreakdownError(
            f"The models {names} of '{app_label}' add no virtual field: their breakdown already has "
            "its migrations, or the models were not changed. Nothing was written."
        )

    # Fields that move: for a link to a partial created now, from an existing model.
    moved: dict[tuple[str, str], str] = {}  # (model, field) -> partial (lower)
    for model_name, fields in wanted.items():
        if model_name in created:
            continue
        for f in fields:
            partial, _, parent_link = _target(f)
            if not parent_link or partial not in created:
                continue
            part_fields = [n for n, pf in created[partial].fields if not pf.primary_key]
            state_fields = old_state.models[app_label, model_name].fields
            missing = [n for n in part_fields if n not in state_fields]
            if missing:
                raise BreakdownError(
                    f"The new partial {created[partial].name} has field(s) {', '.join(missing)}, which "
                    f"{model_name} does not have: a partial of an existing model holds fields moved "
                    "out of it. Nothing was written."
                )
            for n in part_fields:
                moved[model_name, n.lower()] = partial

    adds: dict[tuple[str, str], migrations.AddField] = {}
    removes: list[migrations.RemoveField] = []
    pk_state: list[Operation] = []
    others: list[Operation] = []
    for op in operations:
        if isinstance(op, migrations.CreateModel):
            plan.schema.append(_without_virtual(op, wanted.get(op.name_lower, [])))
        elif isinstance(op, migrations.AddField) and _virtual(op.field):
            adds[op.model_name_lower, op.name_lower] = op
        elif isinstance(op, migrations.AlterField) and _is_pk(old_state, app_label, op):
            if not _virtual(op.field):
                pk_state.append(_pk_state_only(old_state, app_label, op))
            # else: the page's "it really isn't": a relation on top of id. Dropped.
        elif isinstance(op, migrations.RemoveField) and (op.model_name_lower, op.name_lower) in moved:
            removes.append(op)
        else:
            others.append(op)
    if others:
        raise BreakdownError(
            f"The models of '{app_label}' hold changes besides the breakdown: {_describe(others)}. "
            "Make those in a migration of their own first (or undo them). Nothing was written."
        )
    existing_moves = _moves_into_existing(old_state, app_label, wanted, created, operations)
    if existing_moves:
        raise BreakdownError(existing_moves)
    plan.schema[:0] = pk_state
    for model_name, fields in wanted.items():
        for f in fields:
            if model_name not in created and (model_name, f.name) not in adds:
                raise BreakdownError(
                    f"makemigrations did not add {f.name} to {model_name}. Nothing was written."
                )
            plan.schema.append(_add_virtual(model_name, f.name, f))
    for model_name, fields in wanted.items():
        for f in fields:
            partial = _target(f).model_name
            if not any(moved.get((model_name, n)) == partial for (_, n) in moved):
                continue
            part_name = created[partial].name
            model_label = old_state.models[app_label, model_name].name
            plan.partials.append(part_name)
            plan.moved.setdefault(model_label, {})[part_name] = [
                op.name
                for op in removes
                if (op.model_name_lower, op.name_lower) in moved
                and moved[op.model_name_lower, op.name_lower] == partial
            ]
    if plan.moved:
        plan.copy.append(_copy_operation())
    if removes:
        plan.cleanup.append(_cleanup_operation(plan, removes))
    _verify(plan, apps, app_label, loader)
    number = graph_checks.next_number(loader, app_label) - 1
    count = 3 if plan.copy else 1
    plan.names = tuple(f"{number + i + 1:04d}_{suffix}" for i, suffix in enumerate(SUFFIXES[:count]))
    return plan


def _without_virtual(op: migrations.CreateModel, virtual: list[models.Field]) -> migrations.CreateModel:
    """A ``CreateModel`` without the virtual fields (added after it) and without partial bases.

    A partial as a base of the model state would make Django add a real
    parent link column; the library's own migrations create the model plain.
    """
    names = {f.name for f in virtual}
    partials = {_target(f).label_lower for f in virtual if _target(f).parent_link}
    bases = tuple(b for b in op.bases or () if not (isinstance(b, str) and b.lower() in partials)) or (
        models.Model,
    )
    return migrations.CreateModel(
        name=op.name,
        fields=[(n, f) for n, f in op.fields if n not in names and not _virtual(f)],
        options=op.options,
        bases=bases,
        managers=op.managers,
    )


def _moves_into_existing(
    state: ProjectState,
    app_label: str,
    wanted: dict[str, list[models.Field]],
    created: dict[str, migrations.CreateModel],
    operations: list[Operation],
) -> str:
    """Why fields cannot move into partials that already exist (empty when they do not)."""
    removed = {
        (op.model_name_lower, op.name_lower) for op in operations if isinstance(op, migrations.RemoveField)
    }
    problems = []
    for model_name, fields in wanted.items():
        for f in fields:
            partial, _, parent_link = _target(f)
            if not parent_link or partial in created:
                continue
            part_state = state.models.get((app_label, partial))
            clash = sorted(n for n in (part_state.fields if part_state else {}) if (model_name, n) in removed)
            if clash:
                problems.append(f"{model_name}.{', '.join(clash)} into {partial}")
    if not problems:
        return ""
    return (
        f"The models move fields into partial models that already exist ({'; '.join(problems)}): "
        "their tables may hold rows already, so the copy cannot be written for them. Links to "
        "existing partials are fine when no field moves; move fields into new partials. "
        "Nothing was written."
    )


def _is_pk(state: ProjectState, app_label: str, op: migrations.AlterField) -> bool:
    model = state.models.get((app_label, op.model_name_lower))
    old = model.fields.get(op.name) if model else None
    return bool(old is not None and old.primary_key)


def _pk_state_only(state: ProjectState, app_label: str, op: migrations.AlterField) -> Operation:
    """The pk change as a state-only ``AlterField``, when the column stays the same."""
    old = state.models[app_label, op.model_name_lower].fields[op.name]
    new = op.field
    same = (
        old.get_internal_type() == new.get_internal_type()
        and old.db_column == new.db_column
        and new.primary_key
    )
    if not same:
        raise BreakdownError(
            f"The models change the column of {op.model_name}.{op.name}, the primary key "
            f"({old.__class__.__name__} to {new.__class__.__name__}): the breakdown must not touch "
            f"it (that rewrites the table). Write it as {op.name} = "
            f"models.{old.__class__.__name__}(primary_key=True). Nothing was written."
        )
    return migrations.SeparateDatabaseAndState(state_operations=[op])


def _verify(plan: BreakdownPlan, apps: Any, app_label: str, loader: MigrationLoader) -> None:
    """Refuse unless the planned migrations leave nothing for ``makemigrations`` to detect."""
    # Fresh states: the autodetector consumes parts of the ones it is given.
    state, new_state = loader.project_state(), ProjectState.from_apps(apps)
    for op in [*plan.schema, *plan.copy, *plan.cleanup]:
        op.state_forwards(app_label, state)
    left = MigrationAutodetector(state, new_state, NonInteractiveMigrationQuestioner()).changes(
        graph=loader.graph, trim_to_apps={app_label}, convert_apps={app_label}
    )
    leftover = [op for m in left.get(app_label, []) for op in m.operations]
    if leftover:
        raise BreakdownError(
            f"After the breakdown, makemigrations would still see: {_describe(leftover)}. "
            "Nothing was written."
        )


def migration_paths(plan: BreakdownPlan) -> list[Path]:
    """Where the plan's migration files go."""
    return [Path(MigrationWriter(m).path) for m in plan.migrations()]


def write_breakdown_migrations(
    app_label: str,
    *,
    using: str = DEFAULT_DB_ALIAS,
    dry_run: bool = False,
    plan: BreakdownPlan | None = None,
) -> tuple[BreakdownPlan, list[Path]]:
    """Plan the breakdown of ``app_label`` and write its migration files, all or none.

    Returns the plan and the paths written (none with ``dry_run``). Raises
    :class:`BreakdownError` when :func:`plan_breakdown` refuses, and
    ``helpers.writers.file_writer.WriteError`` when a file exists or cannot be written;
    either way no file is left behind. ``plan`` (from :func:`plan_breakdown`)
    saves planning twice.
    """
    plan = plan or plan_breakdown(app_label, using=using, dry_run=dry_run)
    paths = migration_paths(plan)
    taken = [str(p) for p in paths if p.exists()]
    if taken:
        raise BreakdownError(f"{', '.join(taken)} already exist(s). Nothing was written.")
    if dry_run:
        return plan, []
    write_all(dict(zip(paths, plan.texts(), strict=True)))
    return plan, paths


def summary(plan: BreakdownPlan, paths: Sequence[Path] | None = None) -> list[str]:
    """Lines describing the planned (or written) migrations, like ``makemigrations`` prints."""
    lines = [f"Migrations for '{plan.app_label}':"]
    for index, migration in enumerate(plan.migrations()):
        if paths:
            shown = os.path.relpath(paths[index])
        else:
            shown = f"{plan.app_label}/migrations/{migration.name}.py (not written: dry run)"
        lines.append(f"  {shown}")
        for op in migration.operations:
            if op in plan.copy:
                lines += [
                    f"    + Copy the values of {part} from {model} (INSERT ... SELECT)"
                    for model, partials in plan.moved.items()
                    for part in partials
                ]
            elif isinstance(op, migrations.SeparateDatabaseAndState) and not isinstance(
                op, _AddVirtualFieldCall
            ):
                for inner in op.state_operations:
                    if isinstance(inner, migrations.RemoveField):
                        lines.append(f"    - {inner.describe()} (its values are in the partial)")
                    else:
                        lines.append(f"    ~ {inner.describe()} (model state only, the column stays)")
            else:
                lines.append(f"    + {op.describe()}")
    return lines


def cleanup_functions_source() -> str:
    """The source of the functions the cleanup migration carries (for the chapter)."""
    return textwrap.dedent(CLEANUP_FUNCTIONS).strip() + "\n"


def cleanup_migration_text(
    app_label: str, name: str, dependency: str, moved: dict[str, dict[str, list[str]]]
) -> str:
    """The cleanup migration ``breakdown_migrations`` writes, for fields already moved.

    ``moved`` maps each broken-down model to its partials and the fields moved
    into each, e.g. ``{"Central": {"Group1": ["e", "f"]}}``. The text imports only
    Django; its two functions are written into it.
    """
    removes = [
        migrations.RemoveField(model_name=model.lower(), name=f)
        for model, partials in moved.items()
        for fields in partials.values()
        for f in fields
    ]
    plan = BreakdownPlan(app_label, list(moved), [], [(app_label, dependency)])
    plan.moved, plan.names = moved, (name,)
    plan.cleanup = [_cleanup_operation(plan, removes)]
    return plan.texts()[0]

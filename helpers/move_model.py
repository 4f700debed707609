"""Move a model to another app without losing a row.

Django has no operation for this. Run after the model's class has been moved
in the code, ``makemigrations`` sees a model deleted from one app and another
created in a second one, and writes a ``DeleteModel`` and a ``CreateModel``:
applied, the table and all its rows are dropped. This module writes, in place
of ``makemigrations``, the migrations that move the model instead:

1. in the old app, :class:`RenameTables`: the table (and the auto-created
   many-to-many tables) get the new app's names; the migration state does not
   change. Foreign keys pointing at the table follow the rename in the
   database (PostgreSQL and SQLite 3.26+), so nothing is rebuilt;
2. in the new app, a state-only ``CreateModel`` (the table already exists);
3. in every app whose models point at the moved one, state-only
   ``AlterField`` operations (the columns do not change: they still hold the same ids
   of the same table);
4. in the old app, a state-only ``DeleteModel`` and :class:`MoveContentType`,
   which gives the model's ``ContentType`` row to the new app, so generic
   relations and permissions keep pointing at it.

Every step is reversible. Use :func:`move_model` (or the ``move_model``
management command). The plan is checked before anything is written: after
the planned migrations, Django's autodetector must find no change left, so
``makemigrations --check`` is clean.

Only Django is imported: copy this module into a project, and the generated
migrations import their two operations from it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps as global_apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.ddl_references import Statement
from django.db.migrations import AlterField, CreateModel, DeleteModel, Migration, SeparateDatabaseAndState
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.base import Operation
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState, StateApps
from django.db.migrations.writer import MigrationWriter
from django.db.utils import ProgrammingError

__all__ = ["MoveContentType", "MovePlan", "RenameTables", "move_model", "plan_move"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _checked_identifier(name: str, connection: Any) -> str:
    """Return ``name`` if it is a plain SQL identifier the database accepts, else raise."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ProgrammingError(f"{name!r} is not a plain table name; nothing was renamed.")
    limit = connection.ops.max_name_length()
    if limit and len(name) > limit:
        raise ProgrammingError(f"{name!r} is longer than {limit} characters, the database's limit.")
    return name


# --- operations ------------------------------------------------------------------------


class RenameTables(Operation):
    """Rename database tables, leaving the migration state alone.

    ``tables`` is a sequence of ``(old_name, new_name)`` pairs. Forwards each
    ``old_name`` becomes ``new_name``; backwards the other way round. With
    ``rename_db_objects`` on PostgreSQL, the sequences, indexes and
    constraints whose names contain an old table name (``oldapp_car_pkey``,
    ``..._fk_oldapp_car_id``) are renamed too; elsewhere the option does
    nothing (SQLite cannot rename an index, and names carry no meaning).
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, tables: Sequence[Sequence[str]], rename_db_objects: bool = False) -> None:
        self.tables = tuple((str(old), str(new)) for old, new in tables)
        self.rename_db_objects = bool(rename_db_objects)

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        """Return the arguments that recreate this operation in a migration file."""
        kwargs: dict[str, Any] = {"tables": list(self.tables)}
        if self.rename_db_objects:
            kwargs["rename_db_objects"] = True
        return (self.__class__.__qualname__, [], kwargs)

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        """Change nothing: the state already names the tables after its models."""

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        """Rename every old table to its new name."""
        self._rename(app_label, schema_editor, self.tables)

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        """Rename every new table back to its old name."""
        self._rename(app_label, schema_editor, tuple((new, old) for old, new in self.tables))

    def describe(self) -> str:
        """One line for ``migrate`` and ``makemigrations`` output."""
        pairs = ", ".join(f"{old} -> {new}" for old, new in self.tables)
        return f"Rename table{'s' if len(self.tables) > 1 else ''} {pairs} (database only)"

    @property
    def migration_name_fragment(self) -> str:
        """A name for a migration holding only this operation."""
        return "rename_" + "_".join(new for _, new in self.tables[:1])

    def _rename(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, pairs: Iterable[tuple[str, str]]
    ) -> None:
        connection = schema_editor.connection
        if not router.allow_migrate(connection.alias, app_label):
            return
        pairs = [(_checked_identifier(o, connection), _checked_identifier(n, connection)) for o, n in pairs]
        qn = schema_editor.quote_name
        if not schema_editor.collect_sql:
            with connection.cursor() as cursor:
                existing = set(connection.introspection.table_names(cursor))
            missing = [o for o, _ in pairs if o not in existing]
            taken = [n for _, n in pairs if n in existing]
            if missing or taken:
                problems = [f"no table {o}" for o in missing] + [f"a table {n} already exists" for n in taken]
                raise ProgrammingError(f"Cannot rename tables: {'; '.join(problems)}. Nothing was renamed.")
        for old, new in pairs:
            sql = schema_editor.sql_rename_table % {"old_table": qn(old), "new_table": qn(new)}
            schema_editor.execute(sql)
            # Statements Django deferred to the end of the migration must use the new name.
            for deferred in schema_editor.deferred_sql:
                if isinstance(deferred, Statement):
                    deferred.rename_table_references(old, new)
        if self.rename_db_objects and connection.vendor == "postgresql" and not schema_editor.collect_sql:
            _rename_postgresql_objects(schema_editor, dict(pairs))


def _renamed(name: str, mapping: dict[str, str]) -> str:
    """Replace each old table name appearing as a whole ``_``-separated part of ``name``."""
    olds = sorted(mapping, key=len, reverse=True)
    pattern = re.compile(r"(?:(?<=_)|^)(" + "|".join(map(re.escape, olds)) + r")(?=_|$)")
    return pattern.sub(lambda m: mapping[m.group(1)], name)


def _rename_postgresql_objects(schema_editor: BaseDatabaseSchemaEditor, mapping: dict[str, str]) -> None:
    """Rename the constraints, indexes and sequences still named after the old tables."""
    connection = schema_editor.connection
    qn = schema_editor.quote_name
    tables = list(mapping.values())
    limit = connection.ops.max_name_length()

    def rename_all(query: str, statement: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(query, [tables, tables])
            rows = cursor.fetchall()
        for table, name in rows:
            new = _renamed(name, mapping)
            if new != name and len(new) <= limit and _IDENTIFIER.fullmatch(new):
                schema_editor.execute(statement % {"table": qn(table), "old": qn(name), "new": qn(new)})

    # Constraints first: renaming a primary key or unique constraint renames its index too.
    rename_all(
        """
        SELECT DISTINCT t.relname, c.conname FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        LEFT JOIN pg_class r ON r.oid = c.confrelid
        WHERE t.relnamespace = current_schema()::regnamespace
          AND (t.relname = ANY(%s) OR r.relname = ANY(%s))
        """,
        "ALTER TABLE %(table)s RENAME CONSTRAINT %(old)s TO %(new)s",
    )
    rename_all(
        """
        SELECT t.relname, i.relname FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relnamespace = current_schema()::regnamespace
          AND (t.relname = ANY(%s) OR t.relname = ANY(%s))
        """,
        "ALTER INDEX %(old)s RENAME TO %(new)s",
    )
    rename_all(
        """
        SELECT t.relname, s.relname FROM pg_class s
        JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
        JOIN pg_class t ON t.oid = d.refobjid
        WHERE s.relkind = 'S' AND t.relnamespace = current_schema()::regnamespace
          AND (t.relname = ANY(%s) OR t.relname = ANY(%s))
        """,
        "ALTER SEQUENCE %(old)s RENAME TO %(new)s",
    )


class MoveContentType(Operation):
    """Give a model's ``ContentType`` row to another app (and back when reversed).

    Generic foreign keys and permissions point at the row's id, so moving the
    row (rather than letting ``post_migrate`` make a new one) keeps them
    working. When both apps have a row for the model (``post_migrate`` made
    one after a partial rollback or a faked migration), the older row, the one
    the data points at, is kept under the destination app and the newer one is
    deleted with what cascades from it (the permissions made with it; generic
    relations created against that newer row would be left dangling). Nothing happens
    when the row to move does not exist yet (a fresh database:
    ``post_migrate`` creates it after ``migrate``) or when contenttypes is not
    installed.
    """

    reversible = True
    reduces_to_sql = False

    def __init__(self, model_name: str, from_app: str, to_app: str) -> None:
        self.model_name = model_name
        self.from_app = from_app
        self.to_app = to_app

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        """Return the arguments that recreate this operation in a migration file."""
        kwargs = {"model_name": self.model_name, "from_app": self.from_app, "to_app": self.to_app}
        return (self.__class__.__qualname__, [], kwargs)

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        """Change nothing: content types are rows, not schema."""

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        """Move the row from ``from_app`` to ``to_app``."""
        self._move(from_state.apps, schema_editor, self.from_app, self.to_app)

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        """Move the row back to ``from_app``."""
        self._move(from_state.apps, schema_editor, self.to_app, self.from_app)

    def describe(self) -> str:
        """One line for ``migrate`` and ``makemigrations`` output."""
        return f"Move the content type of {self.model_name} from {self.from_app} to {self.to_app}"

    @property
    def migration_name_fragment(self) -> str:
        """A name for a migration holding only this operation."""
        return f"move_{self.model_name.lower()}_content_type"

    def _move(
        self, apps: StateApps, schema_editor: BaseDatabaseSchemaEditor, source: str, target: str
    ) -> None:
        try:
            content_type = apps.get_model("contenttypes", "ContentType")
        except LookupError:
            return
        alias = schema_editor.connection.alias
        if not router.allow_migrate_model(alias, content_type):
            return
        model = self.model_name.lower()
        rows = content_type.objects.using(alias)
        moving = rows.filter(app_label=source, model=model).first()
        if moving is None:
            return
        duplicate = rows.filter(app_label=target, model=model).first()
        if duplicate is not None and duplicate.pk < moving.pk:
            # The destination's row is the older one, the one the data points at: keep it.
            rows.filter(pk=moving.pk).delete()
        else:
            if duplicate is not None:
                rows.filter(pk=duplicate.pk).delete()
            rows.filter(pk=moving.pk).update(app_label=target)
        if global_apps.is_installed("django.contrib.contenttypes"):
            from django.contrib.contenttypes.models import ContentType

            ContentType.objects.clear_cache()


# --- planning ---------------------------------------------------------------------------


@dataclass
class PlannedMigration:
    """One migration file the move writes."""

    migration: Migration
    path: Path

    @property
    def node(self) -> tuple[str, str]:
        """The migration's key in the graph: ``(app_label, name)``."""
        return (self.migration.app_label, self.migration.name)

    def as_string(self) -> str:
        """The file's text."""
        return MigrationWriter(self.migration).as_string()


@dataclass
class MovePlan:
    """What :func:`plan_move` found and the migrations it will write."""

    source: str
    target: str
    model_name: str
    tables: list[tuple[str, str]]
    naive: dict[str, list[str]]
    migrations: list[PlannedMigration] = field(default_factory=list)

    def write(self) -> list[Path]:
        """Write the migration files; return their paths."""
        for planned in self.migrations:
            if planned.path.exists():
                raise CommandError(f"{planned.path} already exists; nothing was written.")
        written = []
        for planned in self.migrations:
            planned.path.parent.mkdir(parents=True, exist_ok=True)
            init = planned.path.parent / "__init__.py"
            if not init.exists():
                init.write_text("", encoding="utf-8")
            planned.path.write_text(planned.as_string(), encoding="utf-8")
            written.append(planned.path)
        return written

    def report(self) -> str:
        """Lines saying what the move does, in the style of ``makemigrations``."""
        lines = [f"Moving {self.source}.{self.model_name} to {self.target}."]
        if self.naive:
            lines.append("makemigrations would have written (the table and its rows dropped):")
            for app, descriptions in self.naive.items():
                lines.append(f"  {app}: " + "; ".join(descriptions))
        for planned in self.migrations:
            lines.append(f"Migrations for '{planned.migration.app_label}':")
            lines.append(f"  {_shown_path(planned.path)}")
            for operation in planned.migration.operations:
                for described in _describe(operation):
                    lines.append(f"    - {described}")
        return "\n".join(lines)


def _shown_path(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return relative if not relative.startswith("..") else str(path)


def _describe(operation: Operation) -> list[str]:
    if isinstance(operation, SeparateDatabaseAndState):
        inner = [d for op in operation.state_operations for d in _describe(op)]
        return [f"{d} (state only)" for d in inner] + [
            d for op in operation.database_operations for d in _describe(op)
        ]
    return [operation.describe()]


def _label(reference: Any, owner_app: str) -> str:
    """The lower-case ``app_label.model`` a relation field's reference names."""
    if isinstance(reference, str):
        return reference.lower() if "." in reference else f"{owner_app}.{reference.lower()}"
    return reference._meta.label_lower


def _leaf(loader: MigrationLoader, app_label: str) -> tuple[str, str] | None:
    leaves = loader.graph.leaf_nodes(app_label)
    return leaves[0] if leaves else None


def _next_number(loader: MigrationLoader, app_label: str, taken: int = 0) -> int:
    leaf = _leaf(loader, app_label)
    number = (MigrationAutodetector.parse_number(leaf[1]) or 0) if leaf else 0
    return max(number, taken) + 1


def _changes(
    from_state: ProjectState, to_state: ProjectState, loader: MigrationLoader
) -> dict[str, list[str]]:
    questioner = NonInteractiveMigrationQuestioner(specified_apps=None, dry_run=True)
    # The autodetector edits the states it compares (it pops options): give it copies.
    detector = MigrationAutodetector(from_state.clone(), to_state.clone(), questioner)
    changes = detector.changes(graph=loader.graph)
    return {
        app: [op.describe() for migration in migrations for op in migration.operations]
        for app, migrations in sorted(changes.items())
    }


def plan_move(model: str, target_app: str, *, rename_db_objects: bool = False,
              using: str = DEFAULT_DB_ALIAS) -> MovePlan:
    """Check that ``model`` (``"app_label.ModelName"``) can move to ``target_app``; plan the migrations.

    Call it after the model's class has been moved in the code. Raises
    :class:`~django.core.management.CommandError` with what to do, and writes
    nothing, when the move cannot be planned safely.
    """
    source, _, name = model.partition(".")
    if not source or not name or "." in name:
        raise CommandError(f"Give the model as app_label.ModelName (e.g. oldapp.Car), not {model!r}.")
    installed = sorted(c.label for c in global_apps.get_app_configs())
    for label in (source, target_app):
        if label not in installed:
            raise CommandError(f"No installed app {label!r}. Installed apps: {', '.join(installed)}.")
    if source == target_app:
        raise CommandError(f"{model} is already in {target_app}: name another app.")

    connection = connections[using]
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    conflicts = loader.detect_conflicts()
    if conflicts:
        listed = "; ".join(f"{app}: {', '.join(names)}" for app, names in conflicts.items())
        raise CommandError(f"Conflicting migrations ({listed}): merge them first (makemigrations --merge).")
    if source not in loader.migrated_apps:
        raise CommandError(f"{source} has no migrations, so there is no table to move.")
    state = loader.project_state()
    key = (source, name.lower())
    if key not in state.models:
        known = sorted(ms.name for (app, _), ms in state.models.items() if app == source)
        raise CommandError(
            f"{source} has no model {name} in its migrations (its models: {', '.join(known) or 'none'})."
        )
    old_state = state.models[key]
    name = old_state.name
    swappable = old_state.options.get("swappable")
    if swappable:
        raise CommandError(
            f"{source}.{name} is swappable (settings.{swappable}): other apps' migrations depend on it "
            "through that setting, so it cannot be moved by migrations."
        )
    if old_state.options.get("proxy"):
        raise CommandError(
            f"{source}.{name} is a proxy model: it has no table, so makemigrations' DeleteModel and "
            "CreateModel lose nothing; use makemigrations."
        )
    if (target_app, name.lower()) in state.models:
        raise CommandError(
            f"{target_app} already has a model {name} (in its migrations); nothing was written."
        )
    try:
        new_model = global_apps.get_model(target_app, name)
    except LookupError:
        raise CommandError(
            f"{target_app} defines no model {name}: move the class into {target_app}'s models first "
            "(move_model runs after the move in the code, in place of makemigrations)."
        ) from None
    try:
        global_apps.get_model(source, name)
    except LookupError:
        pass
    else:
        raise CommandError(f"{source} still defines {name}: remove the class from {source} (cut, not copy).")
    children = sorted(
        f"{app}.{ms.name}" for (app, _), ms in state.models.items()
        if any(isinstance(b, str) and _label(b, app) == f"{source}.{name.lower()}" for b in ms.bases)
    )
    if children:
        raise CommandError(f"{source}.{name} is a parent of {', '.join(children)}: move those first.")

    recorder = MigrationRecorder(connection)
    applied = recorder.applied_migrations() if recorder.has_table() else {}
    unapplied = sorted(n for a, n in loader.graph.nodes if a == source and (a, n) not in applied)
    if unapplied:
        raise CommandError(
            f"{source} has unapplied migrations ({', '.join(unapplied)}): run migrate first, so that "
            "the move starts from the database's real tables."
        )

    # The tables: the model's and its auto-created many-to-many tables.
    old_model = state.apps.get_model(source, name)
    tables: list[tuple[str, str]] = []
    if old_model._meta.managed:
        tables.append((old_model._meta.db_table, new_model._meta.db_table))
        for old_field in old_model._meta.local_many_to_many:
            try:
                new_field = new_model._meta.get_field(old_field.name)
            except FieldDoesNotExist:
                continue  # the field was removed too: the check at the end reports it
            old_through = old_field.remote_field.through._meta
            new_through = getattr(getattr(new_field, "remote_field", None), "through", None)
            if old_through.auto_created and new_through is not None and new_through._meta.auto_created:
                tables.append((old_through.db_table, new_through._meta.db_table))
    tables = [(o, n) for o, n in tables if o != n]
    existing = set(connection.introspection.table_names())
    taken = [n for _, n in tables if n in existing]
    if taken:
        raise CommandError(f"The database already has a table {', '.join(taken)}; nothing was written.")
    for old, new in tables:
        try:
            _checked_identifier(old, connection)
            _checked_identifier(new, connection)
        except ProgrammingError as exc:
            raise CommandError(str(exc)) from None

    code_state = ProjectState.from_apps(global_apps)
    naive = _changes(state, code_state, loader)

    moved = f"{source}.{name.lower()}"
    alter_fields: dict[str, list[AlterField]] = {}
    for (app, model_name), model_state in sorted(state.models.items()):
        if (app, model_name) == key:
            continue
        for field_name, old_field in model_state.fields.items():
            remote = getattr(old_field, "remote_field", None)
            if remote is None:
                continue
            points = _label(remote.model, app) == moved
            through = getattr(remote, "through", None)
            points = points or (through is not None and _label(through, app) == moved)
            if not points:
                continue
            now = code_state.models.get((app, model_name))
            if now is None or field_name not in now.fields:
                raise CommandError(
                    f"{app}.{model_state.name}.{field_name} points at {source}.{name} but is no longer in "
                    "the code: make that change after the move."
                )
            alter_fields.setdefault(app, []).append(
                AlterField(model_name=model_name, name=field_name, field=now.fields[field_name].clone())
            )

    created = code_state.models[(target_app, name.lower())]
    options = {k: v for k, v in created.options.items() if v not in ([], (), set(), {})}
    create = CreateModel(
        name=created.name, fields=list(created.fields.items()), options=options,
        bases=created.bases, managers=created.managers,
    )

    plan = MovePlan(source, target_app, name, tables, naive)
    lower = name.lower()
    number_a = _next_number(loader, source)

    def planned(app: str, number: int, suffix: str, operations: list[Operation],
                dependencies: list[tuple[str, str]]) -> PlannedMigration:
        migration = Migration(f"{number:04d}_{suffix}", app)
        migration.operations = operations
        migration.dependencies = list(dict.fromkeys(d for d in dependencies if d))
        migration.initial = app == target_app and _leaf(loader, app) is None
        writer = MigrationWriter(migration)
        return PlannedMigration(migration, Path(writer.path))

    step_a = planned(
        source, number_a, f"{lower}_to_{target_app}_rename_tables",
        [RenameTables(tables, rename_db_objects=rename_db_objects)] if tables else [],
        [_leaf(loader, source)],
    )
    if not tables:
        step_a.migration.operations = []

    b_dependencies = [step_a.node, _leaf(loader, target_app)]
    for field_obj in created.fields.values():
        remote = getattr(field_obj, "remote_field", None)
        if remote is None:
            continue
        for reference in (remote.model, getattr(remote, "through", None)):
            if reference is None:
                continue
            label = _label(reference, target_app)
            ref_app = label.split(".")[0]
            if getattr(field_obj, "swappable_setting", None) and label == settings.AUTH_USER_MODEL.lower():
                b_dependencies.append(("__setting__", field_obj.swappable_setting))
            elif ref_app not in (source, target_app) and ref_app in loader.migrated_apps:
                b_dependencies.append(_leaf(loader, ref_app))
    step_b = planned(
        target_app, _next_number(loader, target_app), f"{lower}_from_{source}",
        [SeparateDatabaseAndState(state_operations=[create, *alter_fields.pop(target_app, [])])],
        b_dependencies,
    )

    middle = []
    for app, operations in sorted(alter_fields.items()):
        if app == source:
            continue
        middle.append(planned(
            app, _next_number(loader, app), f"{lower}_moved_to_{target_app}",
            [SeparateDatabaseAndState(state_operations=operations)], [step_b.node, _leaf(loader, app)],
        ))

    d_operations: list[Operation] = [
        SeparateDatabaseAndState(state_operations=[*alter_fields.get(source, []), DeleteModel(name)])
    ]
    d_dependencies = [step_a.node, step_b.node, *(m.node for m in middle)]
    if "contenttypes" in loader.migrated_apps:
        d_operations.append(MoveContentType(lower, source, target_app))
        d_dependencies.append(_leaf(loader, "contenttypes"))
    step_d = planned(source, number_a + 1, f"{lower}_to_{target_app}_finish", d_operations, d_dependencies)
    plan.migrations = [step_a, step_b, *middle, step_d]

    # The oracle: after these migrations, Django must see nothing left to do.
    after = loader.project_state()
    for planned_migration in plan.migrations:
        for operation in planned_migration.migration.operations:
            operation.state_forwards(planned_migration.migration.app_label, after)
    left = _changes(after, code_state, loader)
    if left:
        listed = "; ".join(f"{app}: {', '.join(ops)}" for app, ops in left.items())
        raise CommandError(
            f"Besides the move, the code has changes no migration records ({listed}). Undo them, "
            "run move_model, then makemigrations for them. Nothing was written."
        )
    for planned_migration in plan.migrations:
        if planned_migration.path.exists():
            raise CommandError(f"{_shown_path(planned_migration.path)} already exists; nothing was written.")
    return plan


def move_model(model: str, target_app: str, *, rename_db_objects: bool = False,
               using: str = DEFAULT_DB_ALIAS) -> MovePlan:
    """Write the migrations that move ``model`` (``"app_label.ModelName"``) to ``target_app``.

    Run it after moving the class in the code, in place of ``makemigrations``.
    Returns the plan (its ``migrations`` list the files written); raises
    :class:`~django.core.management.CommandError`, writing nothing, when the
    move cannot be done safely: see :func:`plan_move`.
    """
    plan = plan_move(model, target_app, rename_db_objects=rename_db_objects, using=using)
    plan.write()
    return plan


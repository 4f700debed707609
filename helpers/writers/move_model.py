"""Move a model to another app without losing a row.

Django has no operation for this. Run after the model's class has been moved
in the code, ``makemigrations`` sees a model deleted from one app and another
created in a second one, and writes a ``DeleteModel`` and a ``CreateModel``:
applied, the table and all its rows are dropped. This module writes, in place
of ``makemigrations``, the migrations that move the model instead, the way the
hand-written recipe does, with Django's own operations only:

1. in the old app, a database-only ``AlterModelTable`` (inside
   ``SeparateDatabaseAndState``): the table and its auto-created many-to-many
   tables get the new app's names; the migration state does not change.
   Foreign keys pointing at the table follow the rename in the database
   (PostgreSQL and SQLite 3.26+), so nothing is rebuilt. With
   ``rename_db_objects`` on PostgreSQL, a ``RunPython`` also renames the
   constraints, indexes and sequences named after the old tables (on
   MySQL/MariaDB the foreign keys, dropped and added again, checks and indexes;
   names
   longer than the database's limit are shortened the way Django does,
   ``truncate_name`` with a hash);
2. in the new app, a state-only ``CreateModel`` (the table already exists);
3. in every app whose models point at the moved one, state-only
   ``AlterField`` operations (the columns do not change: they still hold the
   same ids of the same table);
4. in the old app, a state-only ``DeleteModel`` and a ``RunPython`` that
   gives the model's ``ContentType`` row to the new app, so generic relations
   and permissions keep pointing at it.

Every step is reversible. The functions the ``RunPython`` operations run are
written into the migration files themselves, as hand-written migrations do:
the files import nothing but Django, so the project's history still loads
when this module is gone (or when the project has a package of its own named
``helpers``). Use :func:`move_model` (or the ``move_model`` management
command). The plan is checked before anything is written: after the planned
migrations, Django's autodetector must find no change left, so
``makemigrations --check`` is clean. The files are written all-or-nothing.

Only Django is imported (and :mod:`helpers.writers.file_writer`, standard library only).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps as global_apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import truncate_name
from django.db.migrations import (
    AlterField,
    AlterModelTable,
    CreateModel,
    DeleteModel,
    Migration,
    RunPython,
    SeparateDatabaseAndState,
)
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.base import Operation
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.serializer import BaseSerializer
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import MigrationWriter

from helpers.core import graph as graph_checks
from helpers.writers.file_writer import write_all

__all__ = [
    "DbObjectRename",
    "MoveModelError",
    "MovePlan",
    "db_object_renames",
    "move_model",
    "mysql_renames",
    "plan_move",
    "postgresql_renames",
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


class MoveModelError(ValueError):
    """The move cannot be planned or written safely; nothing was written."""


def _checked_identifier(name: str, connection: Any) -> str:
    """Return ``name`` if it is a plain SQL identifier the database accepts, else raise."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise MoveModelError(f"{name!r} is not a plain table name; nothing was written.")
    limit = connection.ops.max_name_length()
    if limit and len(name) > limit:
        raise MoveModelError(f"{name!r} is longer than {limit} characters, the database's limit.")
    return name


# --- the code written into the migration files ----------------------------------------
#
# Each block is the source of module-level code of one written migration. The
# tests run it (migrate, in a process where this module cannot be imported).

_CONTENT_TYPE_CODE = '''
MODEL = {model!r}


def move_content_type(apps, schema_editor, source, target):
    """Give MODEL's ContentType row from app ``source`` to app ``target``.

    Generic relations and permissions point at the row's id, so the row moves
    (post_migrate would make a new one, with a new id). When both apps have a
    row (post_migrate made one after a partial rollback or a faked migration),
    the older row, the one the data points at, is kept under ``target``; the
    newer one is deleted with what cascades from it (the permissions made with
    it). Nothing happens on a fresh database (post_migrate creates the row
    after migrate) or without contenttypes.
    """
    from django.db import router

    try:
        ContentType = apps.get_model("contenttypes", "ContentType")
    except LookupError:
        return
    alias = schema_editor.connection.alias
    if not router.allow_migrate_model(alias, ContentType):
        return
    rows = ContentType.objects.using(alias)
    moving = rows.filter(app_label=source, model=MODEL).first()
    if moving is None:
        return
    duplicate = rows.filter(app_label=target, model=MODEL).first()
    if duplicate is not None and duplicate.pk < moving.pk:
        # The target's row is the older one, the one the data points at: keep it.
        rows.filter(pk=moving.pk).delete()
    else:
        if duplicate is not None:
            rows.filter(pk=duplicate.pk).delete()
        rows.filter(pk=moving.pk).update(app_label=target)
    from django.apps import apps as global_apps

    if global_apps.is_installed("django.contrib.contenttypes"):
        global_apps.get_model("contenttypes", "ContentType").objects.clear_cache()


def content_type_forwards(apps, schema_editor):
    move_content_type(apps, schema_editor, {source!r}, {target!r})


def content_type_backwards(apps, schema_editor):
    move_content_type(apps, schema_editor, {target!r}, {source!r})
'''

_DB_OBJECTS_CODE = '''
# {vendor_name} objects named after the old tables: (kind, table, old name, new name),
# the table as named after the rename. Other databases: nothing to rename.
DB_VENDOR = {vendor!r}
DB_OBJECTS = [
{rows}]


def _mysql_index_exists(schema_editor, table, name):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND INDEX_NAME = %s",
            [table, name],
        )
        return cursor.fetchone() is not None


def _mysql_constraint_sql(schema_editor, kind, table, name):
    """MySQL cannot rename a foreign key or check constraint: its definition, to add it anew."""
    qn = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        if kind == "check":
            cursor.execute(
                "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
                "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = %s AND CONSTRAINT_NAME = %s",
                [table, name],
            )
            return f"CHECK ({{cursor.fetchone()[0]}})"
        cursor.execute(
            "SELECT k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, "
            "r.DELETE_RULE FROM information_schema.KEY_COLUMN_USAGE k "
            "JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA "
            "AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
            "WHERE k.CONSTRAINT_SCHEMA = DATABASE() AND k.TABLE_NAME = %s AND k.CONSTRAINT_NAME = %s "
            "ORDER BY k.ORDINAL_POSITION",
            [table, name],
        )
        rows = cursor.fetchall()
    columns = ", ".join(qn(r[0]) for r in rows)
    referenced = ", ".join(qn(r[2]) for r in rows)
    return (f"FOREIGN KEY ({{columns}}) REFERENCES {{qn(rows[0][1])}} ({{referenced}}) "
            f"ON UPDATE {{rows[0][3]}} ON DELETE {{rows[0][4]}}")


def rename_db_objects(apps, schema_editor, backwards=False):
    if schema_editor.connection.vendor != DB_VENDOR:
        return
    qn = schema_editor.quote_name
    for kind, table, old, new in reversed(DB_OBJECTS) if backwards else DB_OBJECTS:
        if backwards:
            old, new = new, old
        if DB_VENDOR == "mysql" and kind == "index":
            if _mysql_index_exists(schema_editor, table, old):  # MariaDB renames a foreign key's own
                # index when it adds the key again; MySQL keeps it under the old name
                schema_editor.execute(f"ALTER TABLE {{qn(table)}} RENAME INDEX {{qn(old)}} TO {{qn(new)}}")
        elif DB_VENDOR == "mysql":  # a foreign key or check: dropped and added again, in one statement
            definition = _mysql_constraint_sql(schema_editor, kind, table, old)
            drop = "FOREIGN KEY" if kind == "foreign key" else "CONSTRAINT"
            schema_editor.execute(
                f"ALTER TABLE {{qn(table)}} DROP {{drop}} {{qn(old)}}, "
                f"ADD CONSTRAINT {{qn(new)}} {{definition}}"
            )
        elif kind == "constraint":
            schema_editor.execute(f"ALTER TABLE {{qn(table)}} RENAME CONSTRAINT {{qn(old)}} TO {{qn(new)}}")
        else:
            schema_editor.execute(f"ALTER {{kind.upper()}} {{qn(old)}} RENAME TO {{qn(new)}}")


def db_objects_forwards(apps, schema_editor):
    rename_db_objects(apps, schema_editor)


def db_objects_backwards(apps, schema_editor):
    rename_db_objects(apps, schema_editor, backwards=True)
'''


class _Code:
    """A name written as-is into a migration file: a function defined in that file."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any) -> None:  # RunPython wants a callable
        raise TypeError(f"{self.name} only exists in the written migration file")


class _CodeSerializer(BaseSerializer):
    def serialize(self) -> tuple[str, set[str]]:
        return self.value.name, set()


_serializer_lock = threading.Lock()


@contextmanager
def _code_serializer() -> Iterator[None]:
    with _serializer_lock:
        MigrationWriter.register_serializer(_Code, _CodeSerializer)
        try:
            yield
        finally:
            MigrationWriter.unregister_serializer(_Code)


# --- planning ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DbObjectRename:
    """One PostgreSQL constraint, index or sequence renamed after the new table."""

    kind: str  # "constraint", "index" or "sequence"
    table: str  # the table it belongs to, as named after the move
    old: str
    new: str
    shortened: bool = False  # the plain new name was over the limit: truncate_name made it

    def __str__(self) -> str:
        note = " (shortened the way Django does: truncate_name with a hash)" if self.shortened else ""
        return f"{self.kind} {self.old} -> {self.new}{note}"


@dataclass
class PlannedMigration:
    """One migration file the move writes."""

    migration: Migration
    path: Path
    code: str = ""  # module-level code (functions) written before the Migration class

    @property
    def node(self) -> tuple[str, str]:
        """The migration's key in the graph: ``(app_label, name)``."""
        return (self.migration.app_label, self.migration.name)

    def as_string(self) -> str:
        """The file's text: Django's own migration writer, plus the file's functions."""
        with _code_serializer():
            text = MigrationWriter(self.migration).as_string()
        if self.code:
            marker = "\n\nclass Migration("
            head, _, tail = text.partition(marker)
            text = head + "\n\n" + self.code.strip("\n") + "\n" + marker + tail
        return text


@dataclass
class MovePlan:
    """What :func:`plan_move` found and the migrations it will write."""

    source: str
    target: str
    model_name: str
    tables: list[tuple[str, str]]
    naive: dict[str, list[str]]
    migrations: list[PlannedMigration] = field(default_factory=list)
    db_objects: list[DbObjectRename] = field(default_factory=list)
    rename_db_objects: bool = False
    vendor: str = ""

    def files(self) -> dict[Path, str]:
        """Every file of the change, ``path -> text``: the migrations, and missing ``__init__.py``."""
        files: dict[Path, str] = {}
        for planned in self.migrations:
            init = planned.path.parent / "__init__.py"
            if not init.exists():
                files.setdefault(init, "")
            files[planned.path] = planned.as_string()
        return files

    def write(self) -> list[Path]:
        """Write the migration files, all or none; return their paths.

        Raises :class:`helpers.writers.file_writer.WriteError` (nothing written) when a
        file cannot be written or already exists.
        """
        write_all(self.files())
        return [planned.path for planned in self.migrations]

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
                for described in self._describe(operation):
                    lines.append(f"    - {described}")
        if self.rename_db_objects:
            if self.db_objects:
                vendor, count = _VENDOR_NAMES[self.vendor], len(self.db_objects)
                lines.append(f"{vendor} objects renamed after the new tables ({count}):")
                lines.extend(f"  {renamed}" for renamed in self.db_objects)
            elif self.vendor not in _VENDOR_NAMES:
                lines.append(
                    f"--rename-db-objects: the database is {self.vendor}, whose object names carry no "
                    "meaning; nothing to rename (run move_model against the PostgreSQL or MySQL database "
                    "for that)."
                )
            else:
                lines.append("--rename-db-objects: no object is named after the old tables.")
        return "\n".join(lines)

    def _describe(self, operation: Operation) -> list[str]:
        if isinstance(operation, SeparateDatabaseAndState):
            inner = [d for op in operation.state_operations for d in self._describe(op)]
            return [f"{d} (state only)" for d in inner] + [
                d for op in operation.database_operations for d in self._describe(op)
            ]
        if isinstance(operation, AlterModelTable):
            pairs = ", ".join(f"{old} -> {new}" for old, new in self.tables)
            return [f"Rename table{'s' if len(self.tables) > 1 else ''} {pairs} (database only)"]
        if isinstance(operation, RunPython) and isinstance(operation.code, _Code):
            if operation.code.name == "content_type_forwards":
                return [
                    f"Move the content type of {self.model_name.lower()} from {self.source} to {self.target}"
                ]
            vendor = _VENDOR_NAMES[self.vendor]
            return [f"Rename {len(self.db_objects)} {vendor} objects named after the old tables"]
        return [operation.describe()]


def _shown_path(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return relative if not relative.startswith("..") else str(path)


def _label(reference: Any, owner_app: str) -> str:
    """The lower-case ``app_label.model`` a relation field's reference names."""
    if isinstance(reference, str):
        return reference.lower() if "." in reference else f"{owner_app}.{reference.lower()}"
    return reference._meta.label_lower


_leaf = graph_checks.leaf
_next_number = graph_checks.next_number


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


def _renamed(name: str, mapping: dict[str, str]) -> str:
    """Replace each old table name appearing as a whole ``_``-separated part of ``name``."""
    olds = sorted(mapping, key=len, reverse=True)
    pattern = re.compile(r"(?:(?<=_)|^)(" + "|".join(map(re.escape, olds)) + r")(?=_|$)")
    return pattern.sub(lambda m: mapping[m.group(1)], name)


_PG_OBJECT_QUERIES = [
    # Constraints first: renaming a primary key or unique constraint renames its index too.
    ("constraint", """
        SELECT DISTINCT t.relname, c.conname FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        LEFT JOIN pg_class r ON r.oid = c.confrelid
        WHERE t.relnamespace = current_schema()::regnamespace
          AND (t.relname = ANY(%s) OR r.relname = ANY(%s))
        ORDER BY 1, 2
    """),
    ("index", """
        SELECT t.relname, i.relname FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relnamespace = current_schema()::regnamespace
          AND t.relname = ANY(%s)
          AND NOT EXISTS (
              SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid
              AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u', 'x'))
        ORDER BY 1, 2
    """),
    ("sequence", """
        SELECT DISTINCT t.relname, s.relname FROM pg_class s
        JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
        JOIN pg_class t ON t.oid = d.refobjid
        WHERE s.relkind = 'S' AND t.relnamespace = current_schema()::regnamespace
          AND t.relname = ANY(%s)
        ORDER BY 1, 2
    """),
]


def postgresql_renames(connection: Any, mapping: dict[str, str]) -> list[DbObjectRename]:
    """The constraints, indexes and sequences of a PostgreSQL database named after ``mapping``'s old tables.

    ``mapping`` is ``old table -> new table``. Each object's new name replaces
    the old table names found as whole ``_``-separated parts; a new name over
    the database's limit is shortened the way Django does
    (:func:`django.db.backends.utils.truncate_name`, a hash of the full name).
    """
    if connection.vendor != "postgresql" or not mapping:
        return []
    olds = list(mapping)
    limit = connection.ops.max_name_length()
    found: list[DbObjectRename] = []
    with connection.cursor() as cursor:
        for kind, query in _PG_OBJECT_QUERIES:
            cursor.execute(query, [olds] * query.count("%s"))
            for table, name in cursor.fetchall():
                if _renamed(name, mapping) == name:
                    continue
                new, shortened = _shortened(name, mapping, limit)
                found.append(DbObjectRename(kind, mapping.get(table, table), name, new, shortened))
    news = [r.new for r in found]
    clashes = sorted({n for n in news if news.count(n) > 1})
    if clashes:
        raise MoveModelError(f"Two objects would both be renamed {', '.join(clashes)}; nothing was written.")
    return found


_VENDOR_NAMES = {"postgresql": "PostgreSQL", "mysql": "MySQL"}


def _shortened(name: str, mapping: dict[str, str], limit: int | None) -> tuple[str, bool]:
    """``name`` renamed after ``mapping``; over ``limit``, shortened as Django does (``truncate_name``)."""
    new = _renamed(name, mapping)
    if limit and len(new) > limit:
        return truncate_name(new, limit), True
    return new, False


def mysql_renames(connection: Any, mapping: dict[str, str]) -> list[DbObjectRename]:
    """The foreign keys, check constraints and indexes of a MySQL/MariaDB database named after old tables.

    ``mapping`` is ``old table -> new table``. Listed: the foreign keys of the
    old tables and those pointing at them, their check constraints, and the
    indexes of the old tables, plus the index InnoDB made for each listed foreign
    key (it carries the key's name). Each new name replaces the old table names
    found as whole ``_``-separated parts; over the database's limit (64
    characters) it is shortened the way Django does
    (:func:`django.db.backends.utils.truncate_name`, a hash of the full name).
    Foreign keys come first (MySQL drops and adds them again), then checks, then
    indexes (renamed in place).
    """
    if connection.vendor != "mysql" or not mapping:
        return []
    olds = list(mapping)
    marks = ", ".join(["%s"] * len(olds))
    limit = connection.ops.max_name_length()
    found: list[DbObjectRename] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS "  # noqa: S608 (only %s placeholders)
            f"WHERE CONSTRAINT_SCHEMA = DATABASE() AND (TABLE_NAME IN ({marks}) "
            f"OR REFERENCED_TABLE_NAME IN ({marks})) ORDER BY 1, 2",
            olds + olds,
        )
        keys = [(table, name) for table, name in cursor.fetchall() if _renamed(name, mapping) != name]
        cursor.execute(
            "SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS "  # noqa: S608 (only %s placeholders)
            f"WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME IN ({marks}) ORDER BY 1, 2",
            olds,
        )
        checks = [(table, name) for table, name in cursor.fetchall() if _renamed(name, mapping) != name]
        tables = sorted(set(olds) | {table for table, _ in keys})
        cursor.execute(
            "SELECT DISTINCT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS "  # noqa: S608 (only %s placeholders)
            f"WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME <> 'PRIMARY' "
            f"AND TABLE_NAME IN ({', '.join(['%s'] * len(tables))}) ORDER BY 1, 2",
            tables,
        )
        indexes = [
            (table, name)
            for table, name in cursor.fetchall()
            if _renamed(name, mapping) != name and (table in mapping or (table, name) in keys)
        ]
    for kind, objects in (("foreign key", keys), ("check", checks), ("index", indexes)):
        for table, name in objects:
            new, shortened = _shortened(name, mapping, limit)
            found.append(DbObjectRename(kind, mapping.get(table, table), name, new, shortened))
    # Foreign key and check names are unique in the database, index names in their table.
    spaces = [("index", r.table, r.new) if r.kind == "index" else ("constraint", "", r.new) for r in found]
    clashes = sorted({space[2] for space in spaces if spaces.count(space) > 1})
    if clashes:
        raise MoveModelError(f"Two objects would both be renamed {', '.join(clashes)}; nothing was written.")
    return found


def db_object_renames(connection: Any, mapping: dict[str, str]) -> list[DbObjectRename]:
    """The objects named after ``mapping``'s old tables that ``--rename-db-objects`` renames.

    PostgreSQL (:func:`postgresql_renames`) and MySQL/MariaDB
    (:func:`mysql_renames`); none elsewhere (SQLite's index names carry no
    meaning to it and its constraints have none).
    """
    if connection.vendor == "mysql":
        return mysql_renames(connection, mapping)
    return postgresql_renames(connection, mapping)


def plan_move(model: str, target_app: str, *, rename_db_objects: bool = False,
              using: str = DEFAULT_DB_ALIAS) -> MovePlan:
    """Check that ``model`` (``"app_label.ModelName"``) can move to ``target_app``; plan the migrations.

    Call it after the model's class has been moved in the code. Raises
    :class:`MoveModelError` with what to do, and writes nothing, when the move
    cannot be planned safely.
    """
    source, _, name = model.partition(".")
    if not source or not name or "." in name:
        raise MoveModelError(f"Give the model as app_label.ModelName (e.g. oldapp.Car), not {model!r}.")
    if using not in connections.settings:
        known = ", ".join(sorted(connections.settings))
        raise MoveModelError(f"No database {using!r} in settings.DATABASES (known aliases: {known}).")
    installed = sorted(c.label for c in global_apps.get_app_configs())
    for label in (source, target_app):
        if label not in installed:
            raise MoveModelError(f"No installed app {label!r}. Installed apps: {', '.join(installed)}.")
    if source == target_app:
        raise MoveModelError(f"{model} is already in {target_app}: name another app.")

    connection = connections[using]
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    conflicts = loader.detect_conflicts()
    if conflicts:
        listed = "; ".join(f"{app}: {', '.join(names)}" for app, names in conflicts.items())
        raise MoveModelError(f"Conflicting migrations ({listed}): merge them first (makemigrations --merge).")
    if source not in loader.migrated_apps:
        raise MoveModelError(f"{source} has no migrations, so there is no table to move.")
    state = loader.project_state()
    key = (source, name.lower())
    if key not in state.models:
        models = sorted(ms.name for (app, _), ms in state.models.items() if app == source)
        raise MoveModelError(
            f"{source} has no model {name} in its migrations (its models: {', '.join(models) or 'none'})."
        )
    old_state = state.models[key]
    name = old_state.name
    swappable = old_state.options.get("swappable")
    if swappable:
        raise MoveModelError(
            f"{source}.{name} is swappable (settings.{swappable}): other apps' migrations depend on it "
            "through that setting, so it cannot be moved by migrations."
        )
    if old_state.options.get("proxy"):
        raise MoveModelError(
            f"{source}.{name} is a proxy model: it has no table, so makemigrations' DeleteModel and "
            "CreateModel lose nothing; use makemigrations."
        )
    if (target_app, name.lower()) in state.models:
        raise MoveModelError(
            f"{target_app} already has a model {name} (in its migrations); nothing was written."
        )
    try:
        new_model = global_apps.get_model(target_app, name)
    except LookupError:
        raise MoveModelError(
            f"{target_app} defines no model {name}: move the class into {target_app}'s models first "
            "(move_model runs after the move in the code, in place of makemigrations)."
        ) from None
    try:
        global_apps.get_model(source, name)
    except LookupError:
        pass
    else:
        raise MoveModelError(
            f"{source} still defines {name}: remove the class from {source} (cut, not copy)."
        )
    children = sorted(
        f"{app}.{ms.name}" for (app, _), ms in state.models.items()
        if any(isinstance(b, str) and _label(b, app) == f"{source}.{name.lower()}" for b in ms.bases)
    )
    if children:
        raise MoveModelError(f"{source}.{name} is a parent of {', '.join(children)}: move those first.")

    recorder = MigrationRecorder(connection)
    applied = recorder.applied_migrations() if recorder.has_table() else {}
    unapplied = graph_checks.unapplied(loader, source, applied)
    if unapplied:
        raise MoveModelError(
            f"{source} has unapplied migrations ({', '.join(unapplied)}): run migrate first, so that "
            "the move starts from the database's real tables."
        )

    # The tables: the model's, and the auto-created many-to-many tables AlterModelTable renames with it.
    old_model = state.apps.get_model(source, name)
    old_table, new_table = old_model._meta.db_table, new_model._meta.db_table
    tables: list[tuple[str, str]] = []
    alter_table: AlterModelTable | None = None
    if old_model._meta.managed and old_table != new_table:
        alter_table = AlterModelTable(name=name.lower(), table=new_table)
        renamed_state = state.clone()
        alter_table.state_forwards(source, renamed_state)
        renamed_model = renamed_state.apps.get_model(source, name)
        tables.append((old_table, new_table))
        for old_field in old_model._meta.local_many_to_many:
            old_through = old_field.remote_field.through._meta
            if not old_through.auto_created:
                continue
            after = renamed_model._meta.get_field(old_field.name).remote_field.through._meta.db_table
            try:
                new_field = new_model._meta.get_field(old_field.name)
                wanted = new_field.remote_field.through._meta.db_table
            except (FieldDoesNotExist, AttributeError):
                continue  # the field was removed too: the check at the end reports it
            if after != wanted:
                raise MoveModelError(
                    f"The many-to-many table of {name}.{old_field.name} becomes {after} with the model's "
                    f"table, but {target_app}.{name} names it {wanted}: move it under the name {after} "
                    "(db_table), then change the name with makemigrations. Nothing was written."
                )
            if after != old_through.db_table:
                tables.append((old_through.db_table, after))
    existing = set(connection.introspection.table_names())
    taken = [n for _, n in tables if n in existing]
    if taken:
        raise MoveModelError(f"The database already has a table {', '.join(taken)}; nothing was written.")
    for old, new in tables:
        _checked_identifier(old, connection)
        _checked_identifier(new, connection)
    db_objects = db_object_renames(connection, dict(tables)) if rename_db_objects else []

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
                raise MoveModelError(
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

    plan = MovePlan(source, target_app, name, tables, naive, db_objects=db_objects,
                    rename_db_objects=rename_db_objects, vendor=connection.vendor)
    lower = name.lower()
    number_a = _next_number(loader, source)

    def planned(app: str, number: int, suffix: str, operations: list[Operation],
                dependencies: list[tuple[str, str] | None], code: str = "") -> PlannedMigration:
        migration = Migration(f"{number:04d}_{suffix}", app)
        # Set on the instance, as Django's own autodetector does.
        migration.operations = operations  # type: ignore[misc]
        migration.dependencies = list(dict.fromkeys(d for d in dependencies if d))  # type: ignore[misc]
        migration.initial = app == target_app and _leaf(loader, app) is None  # type: ignore[misc]
        writer = MigrationWriter(migration)
        return PlannedMigration(migration, Path(writer.path), code)

    a_operations: list[Operation] = []
    a_code = ""
    if alter_table is not None:
        a_operations.append(SeparateDatabaseAndState(database_operations=[alter_table]))
    if db_objects:
        rows = "".join(f"    {(r.kind, r.table, r.old, r.new)!r},\n" for r in db_objects)
        a_code = _DB_OBJECTS_CODE.format(
            rows=rows, vendor=connection.vendor, vendor_name=_VENDOR_NAMES[connection.vendor]
        )
        # On MySQL, outside a transaction: Django refuses DDL inside one there (no transactional DDL).
        atomic = False if connection.vendor == "mysql" else None
        a_operations.append(
            RunPython(_Code("db_objects_forwards"), _Code("db_objects_backwards"), atomic=atomic)
        )
    # The rename runs after every migration that points at the old table: on a fresh database a
    # foreign key created after it would name a table that no longer exists (PostgreSQL refuses).
    pointing = [_leaf(loader, app) for app in sorted(alter_fields) if app != source]
    step_a = planned(
        source, number_a, f"{lower}_to_{target_app}_rename_tables", a_operations,
        [_leaf(loader, source), *pointing], a_code,
    )

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
    d_dependencies: list[tuple[str, str] | None] = [step_a.node, step_b.node, *(m.node for m in middle)]
    d_code = ""
    if "contenttypes" in loader.migrated_apps:
        d_code = _CONTENT_TYPE_CODE.format(model=lower, source=source, target=target_app)
        d_operations.append(RunPython(_Code("content_type_forwards"), _Code("content_type_backwards")))
        d_dependencies.append(_leaf(loader, "contenttypes"))
    step_d = planned(
        source, number_a + 1, f"{lower}_to_{target_app}_finish", d_operations, d_dependencies, d_code
    )
    plan.migrations = [step_a, step_b, *middle, step_d]

    # The oracle: after these migrations, Django must see nothing left to do.
    after = loader.project_state()
    for planned_migration in plan.migrations:
        for operation in planned_migration.migration.operations:
            operation.state_forwards(planned_migration.migration.app_label, after)
    left = _changes(after, code_state, loader)
    if left:
        listed = "; ".join(f"{app}: {', '.join(ops)}" for app, ops in left.items())
        raise MoveModelError(
            f"Besides the move, the code has changes no migration records ({listed}). Undo them, "
            "run move_model, then makemigrations for them. Nothing was written."
        )
    for planned_migration in plan.migrations:
        if planned_migration.path.exists():
            shown = _shown_path(planned_migration.path)
            raise MoveModelError(f"{shown} already exists; nothing was written.")
    return plan


def move_model(model: str, target_app: str, *, rename_db_objects: bool = False,
               using: str = DEFAULT_DB_ALIAS) -> MovePlan:
    """Write the migrations that move ``model`` (``"app_label.ModelName"``) to ``target_app``.

    Run it after moving the class in the code, in place of ``makemigrations``.
    Returns the plan (its ``migrations`` list the files written). Raises
    :class:`MoveModelError`, writing nothing, when the move cannot be done
    safely (see :func:`plan_move`), and
    :class:`helpers.writers.file_writer.WriteError`, writing nothing, when a file
    cannot be written.
    """
    plan = plan_move(model, target_app, rename_db_objects=rename_db_objects, using=using)
    plan.write()
    return plan


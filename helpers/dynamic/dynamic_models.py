"""Runtime dynamic models: definitions stored as data, a factory, and their schema.

Some applications let their users define data structures while they run (a
survey maker: every survey gets a table of responses). This module holds the
parts of that technique that do not depend on how definitions are stored:

* :class:`ModelSpec` / :class:`FieldSpec`: a definition as plain, immutable
  data, and :func:`spec_hash`, a deterministic hash telling whether a cached
  class still matches its definition;
* :func:`validate_spec`: refuse unsafe or invalid names (SQL keywords, quotes,
  spaces, too long for the backend, duplicates, unknown field types) *before*
  any DDL runs, with one clear message per problem;
* :func:`build_model` and :class:`DynamicModelCache`: the factory, which
  builds a class from a definition and replaces an older class of the same
  model cleanly in Django's app registry (no "already registered" warning,
  caches and reverse relations of related models cleared);
* :func:`schema_change` and :func:`apply_schema`: create, alter, rename and
  drop tables and columns with Django's schema editor, in one transaction
  with whatever else the caller writes (the definitions themselves).

How definitions and tables stay consistent where DDL cannot be rolled back
(MySQL, MariaDB: every ``ALTER`` commits at once, and commits whatever the
transaction had written): :func:`schema_change` keeps the same contract, all
or nothing, by compensation instead of rollback.

* **Serialized by a named lock.** ``GET_LOCK`` (:func:`schema_lock_name`,
  one per database), held by a session, not a transaction (the first
  ``ALTER`` would end a transaction-held row lock); after ``lock_timeout``
  seconds :class:`SchemaLockTimeout`, nothing changed.
* **Two connections.** The definitions are written in a transaction on the
  caller's connection; the DDL runs on a second connection of its own, so
  no implicit commit ends that transaction. The DDL connection runs in
  strict mode (``STRICT_ALL_TABLES`` added to its ``sql_mode``, whatever the
  project sets): a type change the rows refuse is an error, never 'text'
  silently turned into 0.
* **Step by step, undone on failure.** Each step (with its deferred indexes
  and foreign keys) is recorded once done; a step that fails half-way (a
  column renamed, its new type then refused) is put back; if anything fails
  later (a step, a definition write, the commit) the steps done are undone
  in reverse order (compensating DDL), :func:`check_table` confirms the
  table is the one the definition describes, and the definitions roll back.
  A dropped column or table is re-created *empty* by its undo: its data is
  gone (a change's drops run after its renames and type changes: only
  its additions, its table rename and the commit come after them).
  If an undo fails, :class:`SchemaMismatch` says so and what was done;
  :func:`check_table` then refuses every later change of that table until it
  is repaired by hand (the definitions still say what the table was).
* **Never inside ``transaction.atomic()``** there: a rollback of an outer
  transaction could not undo the DDL (:class:`SchemaChangeNotAllowed`).

Only Django is imported: copy this file into a project. The admin side
(re-registration, URLconf reload, freshness across processes) is in
``helpers.dynamic.dynamic_admin``.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, NotSupportedError, connections, models, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

__all__ = [
    "FIELD_TYPES",
    "MYSQL_LOCK_TIMEOUT",
    "SQL_KEYWORDS",
    "DynamicModelCache",
    "FieldSpec",
    "ModelSpec",
    "SchemaChangeNotAllowed",
    "SchemaLockTimeout",
    "SchemaMismatch",
    "SchemaStep",
    "active_schema_editor",
    "apply_schema",
    "build_model",
    "check_table",
    "describe_steps",
    "expected_columns",
    "isolated_model",
    "max_identifier_length",
    "plan_schema",
    "remove_model",
    "schema_change",
    "schema_lock_name",
    "spec_hash",
    "validate_spec",
]

# --- definitions ------------------------------------------------------------------------


def _text(required: bool) -> models.Field:
    # db_default keeps a default in the database itself, so that a process still using
    # the previous class (which does not know the column yet) can insert rows.
    return models.CharField(max_length=200, blank=not required, default="", db_default="")


LONG_TEXT_LIMIT = 4000


def _long_text(required: bool) -> models.Field:
    # max_length on a TextField is enforced by forms only (no schema change): a limit for input.
    return models.TextField(max_length=LONG_TEXT_LIMIT, blank=not required, default="", db_default="")


def _integer(required: bool) -> models.Field:
    return models.IntegerField(null=True, blank=not required)


def _decimal(required: bool) -> models.Field:
    return models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=not required)


def _boolean(required: bool) -> models.Field:
    return models.BooleanField(default=False, db_default=False)


def _date(required: bool) -> models.Field:
    return models.DateField(null=True, blank=not required)


def _email(required: bool) -> models.Field:
    return models.EmailField(max_length=254, blank=not required, default="", db_default="")


def _user(required: bool) -> models.Field:
    # A relation to another model: its reverse side lives on User, which is why an
    # old class must leave the registry cleanly (see remove_model).
    return models.ForeignKey(
        "auth.User", null=True, blank=not required, on_delete=models.SET_NULL, related_name="+"
    )


#: The field types a definition may use, and the Django field each becomes.
FIELD_TYPES: dict[str, Callable[[bool], models.Field]] = {
    "text": _text,
    "long_text": _long_text,
    "integer": _integer,
    "decimal": _decimal,
    "boolean": _boolean,
    "date": _date,
    "email": _email,
    "user": _user,
}

#: Words refused as table, model or column names: reserved in SQL:2016, PostgreSQL or
#: SQLite (Django would quote them, but a name that needs quoting everywhere is a trap
#: for every raw query and report a user writes later).
_KEYWORDS = """
    abort action add after all alter always analyze and any array as asc asymmetric
    attach authorization autoincrement before begin between binary both by cascade case
    cast check collate collation column commit concurrently conflict constraint create
    cross current current_catalog current_date current_role current_schema current_time
    current_timestamp current_user database default deferrable deferred delete desc
    detach distinct do drop each else end escape except exclude exclusive exists explain
    fail false fetch filter first following for foreign from full generated glob grant
    group groups having if ignore ilike immediate in index indexed initially inner
    insert instead intersect into is isnull join key last lateral leading left like
    limit localtime localtimestamp match materialized natural no not nothing notnull
    null nulls of offset on only or order others outer over overlaps partition placing
    plan pragma preceding primary query raise range recursive references regexp reindex
    release rename replace restrict returning right rollback row rows savepoint select
    session_user set similar some symmetric system_user table temp temporary then ties
    to trailing transaction trigger true unbounded union unique update user using vacuum
    values variadic verbose view virtual when where window with without
"""
SQL_KEYWORDS = frozenset(_KEYWORDS.split())

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
#: Attribute names every model already has (each attribute of ``django.db.models.Model``:
#: ``save``, ``from_db``, ``save_base``, ``full_clean``, ...), its managers, or that Django
#: reserves. A field of that name would replace the method or manager on the class.
RESERVED_FIELD_NAMES = frozenset(
    {"id", "pk", "objects", "_meta", "_state", "_default_manager", "_base_manager"}
    | {name for name in dir(models.Model) if not name.startswith("__")}
)
#: Attribute name patterns Django adds per field (``get_next_by_<date>``, ``get_<f>_display``).
_GENERATED_ATTRIBUTE = re.compile(r"get_(next|previous)_by_\w+|get_\w+_display")
#: Column names the backends reserve: PostgreSQL's system columns, SQLite's row id aliases.
BACKEND_RESERVED_COLUMNS = frozenset(
    {"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid", "oid", "rowid", "_rowid_"}
)
#: Tables that exist in every Django database without a registered model.
_UNREGISTERED_DJANGO_TABLES = frozenset({"django_migrations"})
PORTABLE_NAME_LENGTH = 63


class SchemaMismatch(DatabaseError):
    """The database's table is not what the applied definition says: nothing was changed."""


class SchemaLockTimeout(DatabaseError):
    """Another process's schema change held the lock too long (MySQL): nothing was changed."""


class SchemaChangeNotAllowed(NotSupportedError):
    """A schema change was asked for where it could not be undone (MySQL, inside a transaction)."""


@dataclass(frozen=True)
class FieldSpec:
    """One column of a dynamic model.

    ``key`` identifies the field across versions of the definition (e.g. the
    primary key of the row defining it): same key with another ``name`` is a
    rename, not a drop and an add.
    """

    key: str
    name: str
    type: str
    required: bool = False
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The field as JSON-ready data."""
        return {"key": self.key, "name": self.name, "type": self.type,
                "required": self.required, "label": self.label}  # fmt: skip


@dataclass(frozen=True)
class ModelSpec:
    """A dynamic model: its app, class name, table and fields (in order)."""

    app_label: str
    name: str
    db_table: str
    fields: tuple[FieldSpec, ...] = field(default=())
    verbose_name: str = ""

    @property
    def model_name(self) -> str:
        """The lower-case model name Django uses in registries, URLs and permissions."""
        return self.name.lower()

    def field_by_key(self) -> dict[str, FieldSpec]:
        """The fields keyed by their stable key."""
        return {f.key: f for f in self.fields}

    def to_dict(self) -> dict[str, Any]:
        """The definition as JSON-ready data (what :meth:`from_dict` reads back)."""
        return {
            "app_label": self.app_label,
            "name": self.name,
            "db_table": self.db_table,
            "verbose_name": self.verbose_name,
            "fields": [f.to_dict() for f in self.fields],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSpec:
        """Read a definition written by :meth:`to_dict`."""
        return cls(
            app_label=data["app_label"],
            name=data["name"],
            db_table=data["db_table"],
            verbose_name=data.get("verbose_name", ""),
            fields=tuple(FieldSpec(**{**f, "key": str(f["key"])}) for f in data["fields"]),
        )


def spec_hash(spec: ModelSpec) -> str:
    """A deterministic hash of everything a class is built from (not the field keys).

    The same definition gives the same hash in every process and every run,
    so a process can tell whether its cached class is still valid.
    """
    data = spec.to_dict()
    for item in data["fields"]:
        del item["key"]
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def max_identifier_length(using: str = DEFAULT_DB_ALIAS) -> int:
    """The longest table or column name allowed: the backend's limit, else 63 (portable)."""
    limit = connections[using].ops.max_name_length()
    return min(limit, PORTABLE_NAME_LENGTH) if limit else PORTABLE_NAME_LENGTH


def _name_problems(what: str, name: Any, limit: int) -> list[str]:
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        return [
            f"{what} {name!r} is not a valid name: use lower-case letters, digits and "
            "underscores, starting with a letter (no spaces, quotes or other characters)."
        ]
    problems = []
    if name.lower() in SQL_KEYWORDS:
        problems.append(f"{what} {name!r} is an SQL keyword: choose another name.")
    if "__" in name or name.endswith("_"):
        problems.append(f"{what} {name!r} may not contain '__' or end with '_' (Django lookups).")
    if len(name) > limit:
        problems.append(
            f"{what} {name!r} is too long: {len(name)} characters, at most {limit} on this database."
        )
    return problems


def validate_spec(spec: ModelSpec, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Raise ``ValidationError`` listing every problem of ``spec``; return None when valid.

    Nothing is written: call it before any DDL so that a bad definition
    changes nothing.
    """
    limit = max_identifier_length(using)
    problems: list[str] = []
    problems += _name_problems("Model name", spec.name.lower() if isinstance(spec.name, str) else spec.name,
                               limit)
    problems += _name_problems("Table name", spec.db_table, limit)
    seen: dict[str, str] = {}
    keys: set[str] = set()
    for f in spec.fields:
        if f.key in keys:
            problems.append(f"Field key {f.key!r} is used twice.")
        keys.add(f.key)
        name_problems = _name_problems("Field name", f.name, limit)
        problems += name_problems
        if not name_problems and (f.name in RESERVED_FIELD_NAMES or _GENERATED_ATTRIBUTE.fullmatch(f.name)):
            problems.append(f"Field name {f.name!r} is reserved by Django: choose another name.")
        elif not name_problems and f.name in BACKEND_RESERVED_COLUMNS:
            problems.append(f"Field name {f.name!r} is a column name databases reserve: choose another name.")
        if not name_problems and f.name.endswith("_id") and any(
            g.type == "user" and g.name == f.name[:-3] for g in spec.fields
        ):
            problems.append(f"Field name {f.name!r} is the column of the relation {f.name[:-3]!r}.")
        if isinstance(f.name, str):
            if f.name.lower() in seen:
                problems.append(f"Field name {f.name!r} is used twice in {spec.name}.")
            seen[f.name.lower()] = f.key
        if f.type not in FIELD_TYPES:
            problems.append(
                f"Field {f.name!r} has unknown type {f.type!r}: use one of {', '.join(sorted(FIELD_TYPES))}."
            )
    if isinstance(spec.db_table, str) and spec.db_table in _static_tables(spec):
        problems.append(f"Table name {spec.db_table!r} belongs to another model: choose another name.")
    if isinstance(spec.name, str) and _static_model(spec.app_label, spec.model_name) is not None:
        problems.append(
            f"Model name {spec.name!r} is a model of {spec.app_label!r} already: choose another name."
        )
    if problems:
        raise ValidationError(problems, code="invalid_definition")


def _is_dynamic(model: type[models.Model]) -> bool:
    return hasattr(model, "_dynamic_spec_hash")


def _static_model(app_label: str, model_name: str, registry: Apps = global_apps) -> type[models.Model] | None:
    """The registered model of that name that is not a dynamic one (None if there is none)."""
    model = registry.all_models.get(app_label, {}).get(model_name.lower())
    return model if model is not None and not _is_dynamic(model) else None


def _static_tables(spec: ModelSpec) -> set[str]:
    """Tables of the registered models other than ``spec``'s own class (and Django's own)."""
    tables = set(_UNREGISTERED_DJANGO_TABLES)
    for model in global_apps.get_models(include_auto_created=True):
        if _is_dynamic(model) and (model._meta.app_label, model._meta.model_name) == (
            spec.app_label, spec.model_name
        ):
            continue
        tables.add(model._meta.db_table)
    return tables


# --- the factory --------------------------------------------------------------------------


def remove_model(
    app_label: str, model_name: str, *, registry: Apps = global_apps
) -> type[models.Model] | None:
    """Take a model class out of the app registry cleanly; return it (None if absent).

    Private API: ``Apps.all_models`` (the dict that ``AppConfig.models`` also
    is) and ``Apps.clear_cache``, which expires every model's ``_meta``
    caches, so that related models (``User`` for a relation to it) forget the
    reverse relation of the removed class. ``tests/test_dynamic_models.py``
    has a canary test that fails if a Django release changes this.
    """
    old = registry.all_models[app_label].pop(model_name.lower(), None)
    if old is not None:
        registry.clear_cache()
    return old


def build_model(
    spec: ModelSpec, *, registry: Apps = global_apps, validate: bool = True
) -> type[models.Model]:
    """Build the model class of ``spec`` in ``registry``, replacing an older class of it.

    The class is unmanaged (``Meta.managed = False``): migrations never
    touch its table, :func:`apply_schema` does. With the global registry the
    class is what the ORM and the admin use; :func:`apply_schema` builds
    throwaway classes in private registries.
    """
    if validate:
        validate_spec(spec)
    if _static_model(spec.app_label, spec.model_name, registry) is not None:
        raise ValidationError(
            f"Model name {spec.name!r} is a model of {spec.app_label!r} already: choose another name.",
            code="invalid_definition",
        )
    remove_model(spec.app_label, spec.model_name, registry=registry)
    meta_attrs: dict[str, Any] = {
        "app_label": spec.app_label,
        "db_table": spec.db_table,
        "managed": False,
        "verbose_name": spec.verbose_name or spec.name.replace("_", " "),
        "verbose_name_plural": spec.verbose_name or spec.name.replace("_", " "),
    }
    if registry is not global_apps:
        meta_attrs["apps"] = registry
    attrs: dict[str, Any] = {
        "__module__": f"{spec.app_label}.dynamic_models",
        "Meta": type("Meta", (), meta_attrs),
        "id": models.BigAutoField(primary_key=True),
        "_dynamic_spec_hash": spec_hash(spec),
    }
    for f in spec.fields:
        column = FIELD_TYPES[f.type](f.required)
        column.verbose_name = f.label or f.name.replace("_", " ")
        attrs[f.name] = column
    return type(spec.name, (models.Model,), attrs)


class DynamicModelCache:
    """The dynamic model classes of this process, rebuilt when their definition's hash changes."""

    def __init__(self, registry: Apps = global_apps) -> None:
        self.registry = registry
        self._classes: dict[tuple[str, str], type[models.Model]] = {}

    def get(self, spec: ModelSpec) -> type[models.Model]:
        """The class for ``spec``: the cached one if still valid, else a new one."""
        key = (spec.app_label, spec.model_name)
        cached = self._classes.get(key)
        registered = self.registry.all_models[spec.app_label].get(spec.model_name)
        if cached is not None and cached is registered and self.is_current(spec):
            return cached
        model = build_model(spec, registry=self.registry)
        self._classes[key] = model
        return model

    def is_current(self, spec: ModelSpec) -> bool:
        """Whether the cached class of ``spec`` matches it (False if none is cached)."""
        cached = self._classes.get((spec.app_label, spec.model_name))
        return cached is not None and getattr(cached, "_dynamic_spec_hash", None) == spec_hash(spec)

    def discard(self, app_label: str, model_name: str) -> type[models.Model] | None:
        """Forget a model (its definition was deleted); return the old class."""
        self._classes.pop((app_label, model_name.lower()), None)
        return remove_model(app_label, model_name, registry=self.registry)

    def models(self) -> list[type[models.Model]]:
        """The cached classes, by model name."""
        return [self._classes[k] for k in sorted(self._classes)]

    def clear(self) -> None:
        """Forget every cached class and take it out of the registry."""
        for app_label, model_name in list(self._classes):
            self.discard(app_label, model_name)


# --- schema changes -------------------------------------------------------------------------

_active_editor: contextvars.ContextVar[BaseDatabaseSchemaEditor | None] = contextvars.ContextVar(
    "dynamic_schema_editor", default=None
)


@contextlib.contextmanager
def schema_change(
    using: str = DEFAULT_DB_ALIAS, *, lock_timeout: float | None = None
) -> Iterator[BaseDatabaseSchemaEditor]:
    """One unit for DDL and the writes that go with it (the definitions): all or nothing.

    Opens Django's schema editor with ``atomic=True`` (or reuses the one
    already open for ``using``): if anything inside fails, the DDL and the
    definition rows roll back together. On SQLite this must not be entered
    inside ``transaction.atomic()`` (Django's schema editor refuses, because
    SQLite cannot switch foreign-key checks off inside a transaction).

    On a backend whose DDL cannot be rolled back (MySQL, MariaDB) the same
    guarantee is kept another way (see :func:`_compensated_schema_change`):
    a named lock instead of a row lock, the writes in a transaction of their
    own on ``using``, the DDL on a second connection one step at a time, and
    the steps done undone (compensating DDL) if anything fails. There too it
    must be the outermost transaction. ``lock_timeout`` (seconds, default
    :data:`MYSQL_LOCK_TIMEOUT`) is how long to wait for another process's
    change there.
    """
    current = _active_editor.get()
    if current is not None and current.connection.alias == using:
        yield current
        return
    connection = connections[using]
    if not connection.features.can_rollback_ddl:
        with _compensated_schema_change(using, lock_timeout) as side_editor:
            yield side_editor
        return
    sqlite = connection.vendor == "sqlite"
    editor = connection.schema_editor(atomic=True)
    editor.__enter__()
    # Django's own __exit__ is not used: on SQLite it checks foreign keys *before* closing
    # its transaction, so a violation (a text column turned into a relation, with rows)
    # raised with the transaction still open and the checks still off; a failing deferred
    # statement does the same on every backend. Here both run inside, then the transaction
    # is closed whatever happened, and SQLite's checks are switched back on.
    token = _active_editor.set(editor)
    try:
        try:
            yield editor
            for sql in editor.deferred_sql:
                editor.execute(sql)
            editor.deferred_sql = []
            if sqlite:
                connection.check_constraints()
        finally:
            _active_editor.reset(token)
    except BaseException as exc:
        try:
            BaseDatabaseSchemaEditor.__exit__(editor, type(exc), exc, exc.__traceback__)  # rolls back
        finally:
            if sqlite:
                connection.enable_constraint_checking()
        raise
    try:
        BaseDatabaseSchemaEditor.__exit__(editor, None, None, None)  # commits
    finally:
        if sqlite:
            connection.enable_constraint_checking()


# --- MySQL / MariaDB: no transactional DDL ------------------------------------------------

#: Seconds a schema change waits for another process's one on MySQL (``GET_LOCK``), and
#: for a metadata lock on a table (``lock_wait_timeout`` of the DDL connection).
MYSQL_LOCK_TIMEOUT = 30.0

_journal: contextvars.ContextVar[list[SchemaStep] | None] = contextvars.ContextVar(
    "dynamic_schema_journal", default=None
)

_INVERSE = {"create_table": "drop_table", "drop_table": "create_table", "add_column": "drop_column",
            "drop_column": "add_column", "alter_column": "alter_column", "rename_table": "rename_table"}


def schema_lock_name(using: str = DEFAULT_DB_ALIAS) -> str:
    """The MySQL named lock (``GET_LOCK``) schema changes of database ``using`` take (<= 64 chars)."""
    database = str(connections[using].settings_dict.get("NAME") or using)
    return f"dynamic_schema:{hashlib.sha256(database.encode()).hexdigest()[:32]}"


@contextlib.contextmanager
def _compensated_schema_change(using: str, lock_timeout: float | None) -> Iterator[BaseDatabaseSchemaEditor]:
    """:func:`schema_change` where DDL commits at once (MySQL): lock, journal, undo.

    1. The connection ``using`` must not be in a transaction (its rollback
       could not undo DDL done inside it): :class:`SchemaChangeNotAllowed`.
    2. A second connection (the *DDL connection*) takes the named lock
       :func:`schema_lock_name` (``GET_LOCK``, :class:`SchemaLockTimeout` after
       ``lock_timeout`` seconds): one change at a time per database, held by a
       session, not by a transaction that the first ``ALTER`` would commit.
       It runs with ``STRICT_ALL_TABLES`` added to its ``sql_mode`` whatever
       the project sets (a type change the data refuses is an error, never a
       silent coercion to 0 or ''), and a ``lock_wait_timeout`` of its own.
    3. ``using`` opens a transaction for the definitions (and a stamp's row
       lock): none of the DDL runs on it, so no implicit commit ends it.
    4. :func:`apply_schema` runs each step on the DDL connection, with its
       deferred statements, and records it once done. A step that fails
       half-way (a column renamed, its type refused) is put back first.
    5. If anything fails (a step, a write, the commit), the steps done are
       undone in reverse order (the inverse step: drop what was added,
       rename back, alter back, re-create what was dropped: *empty*), the
       table is checked against the definition it started from, and the
       transaction rolls back: definitions and tables are as before. If
       the undo itself fails, :class:`SchemaMismatch` says what the table
       now is; the definitions are unchanged and :func:`check_table`
       refuses every later change of that table until it is repaired.
    """
    connection = connections[using]
    if connection.in_atomic_block:
        raise SchemaChangeNotAllowed(
            f"A schema change on {connection.display_name} cannot run inside transaction.atomic(): "
            "its DDL commits at once, so a rollback of the enclosing transaction could not undo it. "
            "Open schema_change() first (outermost) and do the other writes inside it."
        )
    timeout = MYSQL_LOCK_TIMEOUT if lock_timeout is None else lock_timeout
    ddl = connections.create_connection(using)
    lock = schema_lock_name(using)
    try:
        with ddl.cursor() as cursor:
            cursor.execute("SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), "
                           "'STRICT_ALL_TABLES')")
            cursor.execute("SET SESSION lock_wait_timeout = %s", [max(1, round(timeout))])
            cursor.execute("SELECT GET_LOCK(%s, %s)", [lock, timeout])
            got = cursor.fetchone()[0]
        if got != 1:
            raise SchemaLockTimeout(
                f"Another schema change on {connection.display_name} held the lock {lock!r} for more than "
                f"{timeout:g} s: nothing was changed. Try again, or pass a longer lock_timeout."
            )
        try:
            yield from _journaled(connection, ddl)
        finally:
            # Closing the session releases the lock too: a failure here must not hide the change's own.
            with contextlib.suppress(DatabaseError), ddl.cursor() as cursor:
                cursor.execute("SELECT RELEASE_LOCK(%s)", [lock])
    finally:
        ddl.close()


def _journaled(connection: Any, ddl: Any) -> Iterator[BaseDatabaseSchemaEditor]:
    """Steps 3-5 of :func:`_compensated_schema_change` (the lock is held)."""
    editor = ddl.schema_editor(atomic=False)
    editor.__enter__()
    journal: list[SchemaStep] = []
    editor_token, journal_token = _active_editor.set(editor), _journal.set(journal)
    atomic = transaction.atomic(using=connection.alias)
    atomic.__enter__()
    try:
        try:
            yield editor
        finally:
            _active_editor.reset(editor_token)
            _journal.reset(journal_token)
    except BaseException as exc:
        try:
            _undo(editor, journal, exc)
        finally:
            atomic.__exit__(type(exc), exc, exc.__traceback__)  # rolls the definitions back
        raise
    try:
        atomic.__exit__(None, None, None)  # commits the definitions
    except BaseException as exc:
        _undo(editor, journal, exc)
        raise
    editor.deferred_sql = []
    BaseDatabaseSchemaEditor.__exit__(editor, None, None, None)


def _inverse(step: SchemaStep) -> SchemaStep:
    return SchemaStep(_INVERSE[step.action], f"undo: {step.description}", step.after, step.before,
                      step.new_field, step.old_field)


def _undo(editor: BaseDatabaseSchemaEditor, journal: list[SchemaStep], cause: BaseException) -> None:
    """Undo the steps of ``journal`` (last first), then check the table is as it started."""
    if not journal:
        return
    editor.deferred_sql = []
    try:
        for step in reversed(journal):
            _run_step(editor, _inverse(step))
            _flush_deferred(editor)
        check_table(journal[0].before, using=editor.connection.alias, connection=editor.connection)
        created = journal[0].after if journal[0].before is None else None
        if created is not None and created.db_table in _table_names("", editor.connection):
            raise SchemaMismatch(f"Table {created.db_table!r} is still there.")
    except Exception as exc:
        raise SchemaMismatch(
            f"A schema change failed ({cause}) and undoing its steps failed too ({exc}): the definitions "
            f"are unchanged, the table is not. Steps that were done: {describe_steps(journal)}. "
            "Repair the table by hand to match the definition (check_table says what differs)."
        ) from exc
    finally:
        journal.clear()


def _flush_deferred(editor: BaseDatabaseSchemaEditor) -> None:
    """Run the statements the editor deferred (indexes, foreign keys): a step is then complete."""
    while editor.deferred_sql:
        editor.execute(editor.deferred_sql.pop(0))


def _run_journaled(editor: BaseDatabaseSchemaEditor, step: SchemaStep, journal: list[SchemaStep]) -> None:
    """Run one step completely (MySQL), put a half-done one back, record it once done."""
    try:
        _run_step(editor, step)
        _flush_deferred(editor)
    except BaseException:
        editor.deferred_sql = []
        _put_back_half_done(editor, step)
        raise
    journal.append(step)


def _put_back_half_done(editor: BaseDatabaseSchemaEditor, step: SchemaStep) -> None:
    """A step is several statements on MySQL: undo the ones that ran before the one that failed.

    By introspection: a table that was being created and exists is dropped, a column being
    added that exists is dropped, a column being renamed and changed whose rename went
    through (text to a relation: ``comment`` became ``comment_id``, then the data refused the
    new type) is renamed back. What cannot be told apart is left to :func:`_undo`'s check.
    """
    connection = editor.connection
    qn = connection.ops.quote_name
    before, after = step.before, step.after
    with contextlib.suppress(Exception):
        if step.action == "create_table" and after is not None:
            if after.db_table in _table_names(connection.alias, connection):
                editor.execute(f"DROP TABLE {qn(after.db_table)}")
        elif step.action in ("add_column", "alter_column") and before is not None and after is not None:
            with connection.cursor() as cursor:
                description = connection.introspection.get_table_description(cursor, before.db_table)
            actual = {c.name for c in description}
            old_column = _column_of(before, step.old_field) if step.old_field else None
            new_column = _column_of(after, step.new_field)
            if step.action == "add_column" and new_column in actual:
                editor.execute(f"ALTER TABLE {qn(before.db_table)} DROP COLUMN {qn(new_column)}")
            elif (step.action == "alter_column" and old_column and old_column != new_column
                  and new_column in actual and old_column not in actual):
                editor.execute(f"ALTER TABLE {qn(before.db_table)} RENAME COLUMN {qn(new_column)} "
                               f"TO {qn(old_column)}")


def _column_of(spec: ModelSpec, field_name: str | None) -> str:
    found = isolated_model(spec)._meta.get_field(field_name or "")
    return str(getattr(found, "column", field_name))


def active_schema_editor(using: str = DEFAULT_DB_ALIAS) -> BaseDatabaseSchemaEditor | None:
    """The schema editor of the enclosing :func:`schema_change`, if any."""
    editor = _active_editor.get()
    return editor if editor is not None and editor.connection.alias == using else None


@dataclass(frozen=True)
class SchemaStep:
    """One DDL step from one definition to the next."""

    action: str  # create_table, drop_table, rename_table, add_column, alter_column, drop_column
    description: str
    before: ModelSpec | None
    after: ModelSpec | None
    old_field: str | None = None
    new_field: str | None = None

    def __str__(self) -> str:
        return self.description


def plan_schema(old: ModelSpec | None, new: ModelSpec | None) -> list[SchemaStep]:
    """The DDL steps from ``old`` to ``new`` (None: no table), each with its own states."""
    if old is None:
        return [] if new is None else [SchemaStep("create_table", f"create table {new.db_table}", None, new)]
    if new is None:
        return [SchemaStep("drop_table", f"drop table {old.db_table}", old, None)]
    steps: list[SchemaStep] = []
    current = old
    wanted = new.field_by_key()
    # Renames and type changes first, then drops, then additions, then the table's name.
    for f in old.fields:
        target = wanted.get(f.key)
        if target is None or target == f:
            continue
        fields = tuple(target if g.key == f.key else g for g in current.fields)
        after = replace(current, fields=fields)
        what = []
        if target.name != f.name:
            what.append(f"rename column {f.name} to {target.name}")
        if (target.type, target.required) != (f.type, f.required):
            what.append(f"alter column {target.name} ({f.type} -> {target.type})"
                        if target.type != f.type else f"alter column {target.name} (required)")
        if target.label != f.label:
            what.append(f"relabel column {target.name}")
        steps.append(SchemaStep("alter_column", f"{current.db_table}: {', '.join(what)}", current, after,
                                f.name, target.name))
        current = after
    for f in old.fields:
        if f.key not in wanted:
            after = replace(current, fields=tuple(g for g in current.fields if g.key != f.key))
            steps.append(SchemaStep("drop_column", f"{current.db_table}: drop column {f.name}",
                                    current, after, f.name, None))
            current = after
    present = current.field_by_key()
    for f in new.fields:
        if f.key not in present:
            after = replace(current, fields=(*current.fields, f))
            steps.append(SchemaStep("add_column", f"{current.db_table}: add column {f.name} ({f.type})",
                                    current, after, None, f.name))
            current = after
    if (new.db_table, new.name, new.verbose_name) != (current.db_table, current.name, current.verbose_name):
        after = replace(current, db_table=new.db_table, name=new.name, verbose_name=new.verbose_name)
        if new.db_table != current.db_table:
            steps.append(SchemaStep("rename_table", f"rename table {current.db_table} to {new.db_table}",
                                    current, after))
        current = after
    return steps


def isolated_model(spec: ModelSpec) -> type[models.Model]:
    """A throwaway class of ``spec`` in a private registry (what migrations do with states).

    Nothing global changes: use it for DDL, content types and permissions inside a
    transaction that may roll back.
    """
    registry = Apps(installed_apps=())
    # Relations point at real models: copy the targets' classes into the private registry.
    for f in spec.fields:
        if f.type == "user":
            user = global_apps.get_model("auth", "User")
            registry.all_models["auth"]["user"] = user
    return build_model(spec, registry=registry, validate=False)


def apply_schema(
    old: ModelSpec | None,
    new: ModelSpec | None,
    *,
    using: str = DEFAULT_DB_ALIAS,
) -> list[SchemaStep]:
    """Change the database from definition ``old`` to ``new``; return the steps done.

    ``new`` is validated first (nothing runs if it is refused), and ``old`` is
    not trusted: :func:`check_table` compares it with the table's real columns
    and raises :class:`SchemaMismatch` if they differ. The steps run in the
    enclosing :func:`schema_change` or in a new one: all or nothing.
    """
    if new is not None:
        validate_spec(new, using=using)
    steps = plan_schema(old, new)
    if not steps:
        return steps
    with schema_change(using) as editor:
        # On MySQL the editor's connection is the DDL connection: introspect there (a query
        # of the transaction's connection would hold the table's metadata lock until commit).
        check_table(old, using=using, connection=editor.connection)
        if new is not None and (old is None or new.db_table != old.db_table):
            _refuse_existing_table(new.db_table, using, editor.connection)
        journal = _journal.get()
        for step in steps:
            if journal is None:
                _run_step(editor, step)
            else:
                _run_journaled(editor, step, journal)
    return steps


def _run_step(editor: BaseDatabaseSchemaEditor, step: SchemaStep) -> None:
    """Run one DDL step with the schema editor (the step's action says which states it has)."""

    def model(spec: ModelSpec | None) -> type[models.Model]:
        if spec is None:
            raise ValueError(f"schema step {step.action!r} has no model state")
        return isolated_model(spec)

    def column(spec: ModelSpec | None, name: str | None) -> models.Field[Any, Any]:
        found = model(spec)._meta.get_field(name or "")
        if not isinstance(found, models.Field):
            raise ValueError(f"schema step {step.action!r}: {name!r} is not a column")
        return found

    if step.action == "create_table":
        editor.create_model(model(step.after))
    elif step.action == "drop_table":
        editor.delete_model(model(step.before))
    elif step.action == "rename_table":
        if step.before is None or step.after is None:
            raise ValueError("a rename_table step needs both model states")
        editor.alter_db_table(model(step.after), step.before.db_table, step.after.db_table)
    elif step.action == "add_column":
        editor.add_field(model(step.before), column(step.after, step.new_field))
    elif step.action == "drop_column":
        editor.remove_field(model(step.before), column(step.before, step.old_field))
    elif step.action == "alter_column":
        before = model(step.before)
        old, new = column(step.before, step.old_field), column(step.after, step.new_field)
        if editor.connection.vendor == "mysql" and old.has_db_default() and (
            old.db_type(editor.connection) != new.db_type(editor.connection)
        ):
            # Django's MySQL editor repeats the old column's DEFAULT in the MODIFY that changes
            # the type ("MODIFY comment integer DEFAULT '' NOT NULL": refused, error 1067, even
            # on an empty table). Drop the default first, then change the type.
            plain = _without_db_default(old, before)
            editor.alter_field(before, old, plain)
            old = plain
        editor.alter_field(before, old, new)


def _without_db_default(field: models.Field[Any, Any], model: type[models.Model]) -> models.Field[Any, Any]:
    """A copy of ``field`` (of ``model``) without its database default."""
    name, _path, args, kwargs = field.deconstruct()
    kwargs.pop("db_default", None)
    plain = type(field)(*args, **kwargs)
    plain.set_attributes_from_name(name or field.name)
    plain.model = model
    return plain


def expected_columns(spec: ModelSpec) -> list[str]:
    """The column names the table of ``spec`` has (``id`` first, then each field's column)."""
    model = isolated_model(spec)
    return [f.column for f in model._meta.concrete_fields if f.column]


def _table_names(using: str, connection: Any = None) -> set[str]:
    connection = connection or connections[using]
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def _refuse_existing_table(db_table: str, using: str, connection: Any = None) -> None:
    if db_table in _table_names(using, connection):
        raise SchemaMismatch(f"Table {db_table!r} exists already: nothing was changed.")


def check_table(spec: ModelSpec | None, *, using: str = DEFAULT_DB_ALIAS, connection: Any = None) -> None:
    """Raise :class:`SchemaMismatch` unless the database holds exactly ``spec``'s table.

    ``None`` means no table (nothing to check). Otherwise the table must exist
    with exactly the columns :func:`expected_columns` names (by introspection,
    in any order: a SQLite rebuild may reorder them). ``connection``: introspect
    on that one (default: ``connections[using]``).
    """
    if spec is None:
        return
    connection = connection or connections[using]
    if spec.db_table not in _table_names(using, connection):
        raise SchemaMismatch(
            f"Table {spec.db_table!r} of the applied definition does not exist: nothing was changed."
        )
    with connection.cursor() as cursor:
        actual = [c.name for c in connection.introspection.get_table_description(cursor, spec.db_table)]
    wanted = expected_columns(spec)
    if sorted(actual) != sorted(wanted):
        raise SchemaMismatch(
            f"Table {spec.db_table!r} has columns {sorted(actual)}, the applied definition says "
            f"{sorted(wanted)}: nothing was changed (repair the table or the definition first)."
        )


def describe_steps(steps: Sequence[SchemaStep]) -> str:
    """One line per step (for logs and notebooks)."""
    return "\n".join(str(s) for s in steps) or "(no change)"

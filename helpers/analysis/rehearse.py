"""Rehearse a ``migrate`` on a throwaway copy of the real database, then drop the copy.

``check_reversible`` reads the migration files; whether a rollback (or a
forwards plan) really runs depends on the rows too. This module runs the very
plan ``migrate [app_label [migration_name]]`` would run, with Django's own
:class:`~django.db.migrations.executor.MigrationExecutor`, on a copy::

    from helpers.analysis.rehearse import rehearse_migrate

    result = rehearse_migrate("books", "0002")   # what `migrate books 0002` would do
    result.ok              # False: a step failed on the copy
    print(result)          # per migration and operation: ok or the real error, time, locks

The copy:

* **SQLite**: SQLite's online backup API (:meth:`sqlite3.Connection.backup`)
  into a file in a temporary folder.
* **PostgreSQL**: ``pg_dump | psql`` into a new database on the same server
  (works while other sessions are connected to the original, which
  ``CREATE DATABASE ... TEMPLATE`` refuses); without the client programs,
  ``CREATE DATABASE ... TEMPLATE`` (then nobody else may be connected). The
  role needs ``CREATEDB``.
* **MySQL/MariaDB**: a new database on the same server, each table made by
  its own ``SHOW CREATE TABLE`` and filled by ``INSERT ... SELECT`` (MySQL has
  no template databases; ``CREATE TABLE ... LIKE`` would lose the foreign
  keys). A failing migration leaves the copy half-changed, as it would leave
  the real database (no transactional DDL): that is what the rehearsal shows.

A temporary connection alias (a copy of the real alias's settings with the
copy's name) points at the copy; the plan runs there. On PostgreSQL each
atomic migration runs inside one more transaction, so that right before it
commits, ``pg_locks`` (joined to ``pg_class``, for the backend's own pid)
tells which tables the migration locked and in which mode. Locks on tables
the migration dropped are not listed (their names are gone).

The copy is always dropped (on failure and on Ctrl-C too); the real database
is only read: the plan and the copy. A killed process (``kill -9``) can leave
a copy named ``<db>_rehearse_<hex>`` behind.

Bad input (unknown app, migration, alias) raises Django's ``CommandError``
from :mod:`helpers.analysis.migration_plan`, before any copy is made; a copy that
cannot be made raises :class:`RehearsalError`.

Only Django (and :mod:`helpers.analysis.migration_plan`) is imported.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.migration import Migration

from helpers.analysis.migration_plan import database_connection, prepared_executor, resolve_target

__all__ = ["MigrationResult", "OperationResult", "Rehearsal", "RehearsalError", "rehearse_migrate"]

LOCKS_SQL = """
SELECT c.relname, l.mode
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
ORDER BY c.relname, l.mode
"""


class RehearsalError(RuntimeError):
    """The throwaway copy of the database could not be made (the real database is untouched)."""


@dataclass
class OperationResult:
    """One operation of a rehearsed migration: ok, or the real error it raised."""

    position: int
    description: str
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the operation ran without an error."""
        return self.error is None

    def __str__(self) -> str:
        verdict = "ok" if self.ok else f"FAILED: {self.error}"
        return f"{self.position}. {self.description}: {verdict} [{self.seconds:.3f} s (timed)]"


@dataclass
class MigrationResult:
    """One migration of the plan as it ran on the copy."""

    app_label: str
    name: str
    backwards: bool
    seconds: float = 0.0
    error: str | None = None
    operations: list[OperationResult] = field(default_factory=list)
    #: ``(table, lock mode)`` held right before the migration's commit (PostgreSQL only).
    locks: list[tuple[str, str]] | None = None

    @property
    def ok(self) -> bool:
        """True when the migration (every operation, deferred SQL and the record) ran."""
        return self.error is None

    def __str__(self) -> str:
        verb = "Unapply" if self.backwards else "Apply"
        verdict = "ok" if self.ok else "FAILED"
        head = f"{verb} {self.app_label}.{self.name}: {verdict} [{self.seconds:.3f} s (timed)]"
        lines = [head, *(f"    {op}" for op in self.operations)]
        if not self.ok and all(op.ok for op in self.operations):
            lines.append(f"    FAILED after its operations: {self.error}")
        if self.locks is not None:
            text = ", ".join(f"{table} {mode}" for table, mode in self.locks) or "none"
            lines.append(f"    locks before commit: {text}")
        return "\n".join(lines)


@dataclass
class Rehearsal:
    """The outcome of a rehearsed ``migrate``: what ran on the copy, and what did not."""

    target: str
    database: str
    method: str
    migrations: list[MigrationResult] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the whole plan ran on the copy."""
        return all(m.ok for m in self.migrations) and not self.not_run

    def __str__(self) -> str:
        where = f"a copy of database {self.database!r} ({self.method})"
        lines = [f"Rehearsal of migrate {self.target} on {where}:"]
        if not self.migrations:
            lines.append("  nothing to do.")
        for result in self.migrations:
            lines.extend("  " + line for line in str(result).splitlines())
        lines.extend(f"  not run: {name}" for name in self.not_run)
        lines.append(
            "The whole plan ran on the copy." if self.ok else "The plan failed on the copy."
        )
        lines.append(f"The copy was dropped; database {self.database!r} was not changed.")
        return "\n".join(lines)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


# -- the copy


def _sqlite_copy(settings_dict: dict[str, Any]) -> Iterator[tuple[str, str]]:
    source = str(settings_dict["NAME"])
    folder = tempfile.mkdtemp(prefix="rehearse-")
    target = os.path.join(folder, "copy.sqlite3")
    try:
        if source != ":memory:" and not source.startswith("file:") and os.path.exists(source):
            src = sqlite3.connect(f"file:{Path(source).as_posix()}?mode=ro", uri=True)
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        elif source == ":memory:" or source.startswith("file:"):
            raise RehearsalError(f"Cannot copy the SQLite database {source!r}: name a database file.")
        yield target, "SQLite backup API"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pg_env(settings_dict: dict[str, Any], dbname: str) -> dict[str, str]:
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    env["PGDATABASE"] = dbname
    return env


def _pg_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: p.parent.parent.name)
    return str(candidates[-1]) if candidates else None


def _pg_copy(alias: str, settings_dict: dict[str, Any]) -> Iterator[tuple[str, str]]:
    connection = connections[alias]
    quote = connection.ops.quote_name
    source = str(settings_dict["NAME"])
    copy_name = f"{source[:40]}_rehearse_{uuid.uuid4().hex[:8]}"
    pg_dump, psql = _pg_program("pg_dump"), _pg_program("psql")
    created = False
    try:
        with connection._nodb_cursor() as cursor:
            if pg_dump and psql:
                cursor.execute(f"CREATE DATABASE {quote(copy_name)}")
                created = True
                method = "pg_dump | psql"
            else:
                connection.close()  # our own session on the original would make TEMPLATE refuse
                cursor.execute(f"CREATE DATABASE {quote(copy_name)} TEMPLATE {quote(source)}")
                created = True
                method = "CREATE DATABASE ... TEMPLATE"
        if pg_dump and psql:
            dump = subprocess.Popen(
                [pg_dump, "--no-owner", "--no-privileges"],
                env=_pg_env(settings_dict, source),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            load = subprocess.run(
                [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1"],
                env=_pg_env(settings_dict, copy_name),
                stdin=dump.stdout,
                capture_output=True,
                check=False,
            )
            assert dump.stdout is not None
            dump.stdout.close()
            dump_err = dump.stderr.read().decode() if dump.stderr else ""
            if dump.wait() != 0 or load.returncode != 0:
                raise RehearsalError(
                    f"Copying database {source!r} with pg_dump | psql failed: "
                    f"{(dump_err or load.stderr.decode()).strip()}"
                )
        yield copy_name, method
    except RehearsalError:
        raise
    except Exception as exc:
        if not created:
            raise RehearsalError(f"Cannot make a copy of database {source!r}: {_error_text(exc)}") from exc
        raise
    finally:
        if created:
            with connection._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {quote(copy_name)} WITH (FORCE)")


def _mysql_copy(alias: str, settings_dict: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Copy a MySQL/MariaDB database on its own server, table by table.

    MySQL has neither ``CREATE DATABASE ... TEMPLATE`` nor transactional DDL: the copy is a
    new database where each table's own ``SHOW CREATE TABLE`` (keys, foreign keys) is run,
    then filled with ``INSERT ... SELECT`` (foreign-key checks off in this session only).
    It is dropped afterwards, also after a failure.
    """
    connection = connections[alias]
    quote = connection.ops.quote_name
    source = str(settings_dict["NAME"])
    copy_name = f"{source[:40]}_rehearse_{uuid.uuid4().hex[:8]}"
    created = False
    try:
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {quote(copy_name)}")
            created = True
            cursor.execute("SET SESSION foreign_key_checks = 0")
            try:
                cursor.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                    "AND table_type = 'BASE TABLE' ORDER BY table_name",
                    [source],
                )
                for (table,) in cursor.fetchall():
                    cursor.execute(f"SHOW CREATE TABLE {quote(source)}.{quote(table)}")
                    create = cursor.fetchone()[1]
                    cursor.execute(f"USE {quote(copy_name)}")
                    cursor.execute(create)
                    cursor.execute(
                        f"INSERT INTO {quote(copy_name)}.{quote(table)} "  # noqa: S608 (quoted names)
                        f"SELECT * FROM {quote(source)}.{quote(table)}"
                    )
            finally:
                cursor.execute("SET SESSION foreign_key_checks = 1")
        yield copy_name, "CREATE DATABASE + SHOW CREATE TABLE + INSERT ... SELECT"
    except RehearsalError:
        raise
    except Exception as exc:
        if not created:
            raise RehearsalError(f"Cannot make a copy of database {source!r}: {_error_text(exc)}") from exc
        raise
    finally:
        if created:
            with connection._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {quote(copy_name)}")


@contextlib.contextmanager
def _copy_alias(using: str) -> Iterator[tuple[str, str]]:
    """A temporary connection alias on a copy of ``using``'s database; dropped on exit."""
    connection = database_connection(using)
    settings_dict = dict(connections.settings[using])
    vendor = connection.vendor
    if vendor == "sqlite":
        copier = contextlib.contextmanager(_sqlite_copy)(settings_dict)
    elif vendor == "postgresql":
        copier = contextlib.contextmanager(_pg_copy)(using, settings_dict)
    elif vendor == "mysql":
        copier = contextlib.contextmanager(_mysql_copy)(using, settings_dict)
    else:
        raise RehearsalError(f"Rehearsals support SQLite, PostgreSQL and MySQL, not {vendor}.")
    alias = f"rehearse_{uuid.uuid4().hex[:8]}"
    with copier as (name, method):
        test_settings = dict(settings_dict.get("TEST") or {})
        connections.settings[alias] = {**settings_dict, "NAME": name, "TEST": test_settings}
        try:
            yield alias, method
        finally:
            with contextlib.suppress(Exception):
                connections[alias].close()
            connections.settings.pop(alias, None)
            with contextlib.suppress(AttributeError):
                delattr(connections._connections, alias)  # type: ignore[attr-defined]  # Django's own


# -- the run


def _targets(executor: MigrationExecutor, app_label: str | None, migration_name: str | None) -> list:
    loader = executor.loader
    if app_label and migration_name:
        return [resolve_target(loader, app_label, migration_name)]
    if app_label:
        return [key for key in loader.graph.leaf_nodes() if key[0] == app_label]
    return list(loader.graph.leaf_nodes())


def _timed_operation(op: Any, result: OperationResult, method: str) -> Callable[..., Any]:
    original = getattr(op, method)

    def run(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        except BaseException as exc:
            result.error = _error_text(exc)
            raise
        finally:
            result.seconds = time.perf_counter() - start

    return run


def _instrument(executor: MigrationExecutor, results: list[MigrationResult]) -> None:
    """Wrap the executor's apply/unapply: record each migration, its operations and locks."""
    connection = executor.connection
    postgres = connection.vendor == "postgresql"

    def wrap(original: Callable[..., Any], backwards: bool) -> Callable[..., Any]:
        def run(state: Any, migration: Migration, *args: Any, **kwargs: Any) -> Any:
            result = MigrationResult(migration.app_label, migration.name, backwards)
            results.append(result)
            operations = list(migration.operations)
            numbered = list(enumerate(operations, 1))
            order = list(reversed(numbered)) if backwards else numbered
            method = "database_backwards" if backwards else "database_forwards"
            for position, op in order:
                op_result = OperationResult(position, op.describe())
                result.operations.append(op_result)
                op.__dict__[method] = _timed_operation(op, op_result, method)
            start = time.perf_counter()
            try:
                if postgres and migration.atomic:
                    with transaction.atomic(using=connection.alias):
                        state = original(state, migration, *args, **kwargs)
                        with connection.cursor() as cursor:
                            cursor.execute(LOCKS_SQL)
                            result.locks = [(name, mode) for name, mode in cursor.fetchall()]
                else:
                    state = original(state, migration, *args, **kwargs)
            except BaseException as exc:
                result.error = _error_text(exc)
                raise
            finally:
                result.seconds = time.perf_counter() - start
                for op in operations:
                    op.__dict__.pop(method, None)
            return state

        return run

    executor.apply_migration = wrap(executor.apply_migration, False)  # type: ignore[method-assign]
    executor.unapply_migration = wrap(executor.unapply_migration, True)  # type: ignore[method-assign]


def rehearse_migrate(
    app_label: str | None = None,
    migration_name: str | None = None,
    *,
    using: str = DEFAULT_DB_ALIAS,
) -> Rehearsal:
    """Run what ``migrate [app_label [migration_name]]`` would run, on a copy of ``using``'s database.

    Returns a :class:`Rehearsal`: per migration and operation, ok or the real
    error (exception class and message) and the time; on PostgreSQL the
    tables each atomic migration locked and in which mode. The copy is
    dropped before this returns (or raises). Raises ``CommandError`` on bad
    input (before any copy is made) and :class:`RehearsalError` when the copy
    cannot be made.
    """
    real = prepared_executor(app_label, migration_name, using)
    planned = real.migration_plan(_targets(real, app_label, migration_name))
    target = " ".join(x for x in (app_label, migration_name) if x) or "(every app)"
    with _copy_alias(using) as (alias, method):
        rehearsal = Rehearsal(target, using, method)
        executor = prepared_executor(app_label, migration_name, alias)
        targets = _targets(executor, app_label, migration_name)
        plan = executor.migration_plan(targets)
        if [(m.app_label, m.name, b) for m, b in plan] != [(m.app_label, m.name, b) for m, b in planned]:
            raise RehearsalError("The copy's plan differs from the database's: was it migrated meanwhile?")
        _instrument(executor, rehearsal.migrations)
        try:
            if plan:
                executor.migrate(targets, plan=plan)
        except Exception:
            done = {(m.app_label, m.name) for m in rehearsal.migrations}
            rehearsal.not_run = [
                f"{'Unapply' if b else 'Apply'} {m.app_label}.{m.name}"
                for m, b in plan
                if (m.app_label, m.name) not in done
            ]
            if not rehearsal.migrations or rehearsal.migrations[-1].ok:
                raise
        finally:
            connections[alias].close()
    return rehearsal

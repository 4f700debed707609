"""Back the database up before a risky migration, and put it back.

"A backup is mandatory": a model move, like any hand-edited migration, may
take more than one attempt. These two functions (and the ``backup_database``
and ``restore_database`` management commands) make a named copy of the whole
database, schema and data, and restore it exactly:

* **SQLite**: a copy of the database file next to it
  (``db.sqlite3.NAME.bak``), made and restored with SQLite's online backup
  API (:meth:`sqlite3.Connection.backup`), so it is consistent even while
  other connections read.
* **PostgreSQL**: a copy of the database on the same server
  (``CREATE DATABASE <db>_bak_NAME TEMPLATE <db>``): pure SQL, no client
  programs needed, everything included (tables, sequences and their
  positions, indexes, constraints, functions). Restoring swaps the copy in
  under the original name. Making or restoring the copy needs that nobody
  else is connected to the database, and the role needs ``CREATEDB``.

What it is not: a copy on the same machine or server protects against a
migration gone wrong, not against losing that machine. For that, use your
database's real backup tools (``pg_dump``, file-system snapshots). Other
database backends are refused with a message.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

__all__ = ["backup_database", "delete_backup", "restore_database"]

_NAME = re.compile(r"[a-z0-9_]{1,30}")


def _checked(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise CommandError(
            f"Backup name {name!r} is not allowed: use 1 to 30 lower-case letters, digits or underscores."
        )
    return name


def _sqlite_paths(connection: BaseDatabaseWrapper, name: str) -> tuple[Path, Path]:
    database = str(connection.settings_dict["NAME"])
    if database == ":memory:" or database.startswith("file:"):
        raise CommandError("An in-memory SQLite database cannot be backed up to a file.")
    path = Path(database)
    return path, path.with_name(f"{path.name}.{name}.bak")


def _copy_sqlite(source: Path, target: Path) -> None:
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _pg_names(connection: BaseDatabaseWrapper, name: str) -> tuple[str, str]:
    database = connection.settings_dict["NAME"]
    backup = f"{database}_bak_{name}"
    if len(backup) > connection.ops.max_name_length():
        raise CommandError(f"Backup database name {backup} is too long: choose a shorter backup name.")
    return database, backup


def _pg_execute(connection: BaseDatabaseWrapper, *statements: str) -> None:
    """Run statements from the server's maintenance database (never inside the target database)."""
    connection.close()
    with connection._nodb_cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _pg_exists(connection: BaseDatabaseWrapper, database: str) -> bool:
    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        return cursor.fetchone() is not None


def _refuse(vendor: str) -> CommandError:
    return CommandError(
        f"Backups of {vendor} databases are not supported here: use the database's own backup tools."
    )


def _shown(path: Path) -> str:
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)


def backup_database(name: str, *, using: str = DEFAULT_DB_ALIAS, replace: bool = False) -> str:
    """Copy the whole database under the backup name ``name``; return where the copy is.

    An existing backup of that name is kept (and :class:`CommandError`
    raised) unless ``replace`` is true.
    """
    name = _checked(name)
    connection = connections[using]
    if connection.vendor == "sqlite":
        source, target = _sqlite_paths(connection, name)
        if not source.is_file():
            raise CommandError(f"No database file {_shown(source)} to back up (run migrate first).")
        if target.exists() and not replace:
            raise CommandError(f"A backup named {name!r} already exists ({_shown(target)}); nothing done.")
        connection.close()
        _copy_sqlite(source, target)
        return _shown(target)
    if connection.vendor == "postgresql":
        database, backup = _pg_names(connection, name)
        qn = connection.ops.quote_name
        if _pg_exists(connection, backup):
            if not replace:
                raise CommandError(f"A backup named {name!r} already exists ({backup}); nothing done.")
            _pg_execute(connection, f"DROP DATABASE {qn(backup)}")
        try:
            _pg_execute(connection, f"CREATE DATABASE {qn(backup)} TEMPLATE {qn(database)}")
        except Exception as exc:
            raise CommandError(f"Could not copy database {database}: {exc}".strip()) from exc
        return f"database {backup}"
    raise _refuse(connection.vendor)


def restore_database(name: str, *, using: str = DEFAULT_DB_ALIAS) -> str:
    """Put the database back as it was when backup ``name`` was made; return where it came from.

    The backup itself is kept, so it can be restored again.
    """
    name = _checked(name)
    connection = connections[using]
    if connection.vendor == "sqlite":
        database, backup = _sqlite_paths(connection, name)
        if not backup.is_file():
            raise CommandError(f"No backup named {name!r} (no file {_shown(backup)}); nothing was done.")
        connection.close()
        _copy_sqlite(backup, database)
        return _shown(backup)
    if connection.vendor == "postgresql":
        database, backup = _pg_names(connection, name)
        if not _pg_exists(connection, backup):
            raise CommandError(f"No backup named {name!r} (no database {backup}); nothing was done.")
        qn = connection.ops.quote_name
        aside = f"{database}_restoring"[: connection.ops.max_name_length()]
        try:
            _pg_execute(connection, f"ALTER DATABASE {qn(database)} RENAME TO {qn(aside)}")
        except Exception as exc:
            raise CommandError(
                f"Could not restore {database} (is another session connected to it?): {exc}".strip()
            ) from exc
        try:
            _pg_execute(connection, f"CREATE DATABASE {qn(database)} TEMPLATE {qn(backup)}")
        except Exception as exc:
            _pg_execute(connection, f"ALTER DATABASE {qn(aside)} RENAME TO {qn(database)}")
            raise CommandError(f"Could not restore {database}; it was left as it was: {exc}".strip()) from exc
        _pg_execute(connection, f"DROP DATABASE {qn(aside)}")
        return f"database {backup}"
    raise _refuse(connection.vendor)


def delete_backup(name: str, *, using: str = DEFAULT_DB_ALIAS) -> str:
    """Delete backup ``name``; return what was deleted."""
    name = _checked(name)
    connection = connections[using]
    if connection.vendor == "sqlite":
        _, backup = _sqlite_paths(connection, name)
        if not backup.is_file():
            raise CommandError(f"No backup named {name!r}; nothing was deleted.")
        backup.unlink()
        return _shown(backup)
    if connection.vendor == "postgresql":
        _, backup = _pg_names(connection, name)
        if not _pg_exists(connection, backup):
            raise CommandError(f"No backup named {name!r}; nothing was deleted.")
        _pg_execute(connection, f"DROP DATABASE {connection.ops.quote_name(backup)}")
        return f"database {backup}"
    raise _refuse(connection.vendor)

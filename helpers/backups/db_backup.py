"""Back the database up before a risky migration, and put it back.

"A backup is mandatory": a model move, like any hand-edited migration, may
take more than one attempt. These functions (and the ``backup_database`` and
``restore_database`` management commands) make a named copy of the whole
database, schema and data, and restore it exactly:

* **SQLite**: a file in a folder of its own, ``<BASE_DIR>/backups/`` by
  default (``settings.DB_BACKUP_DIR`` to choose another), named
  ``<database file>.<NAME>.bak``, made and restored with SQLite's online
  backup API (:meth:`sqlite3.Connection.backup`), so it is consistent even
  while other connections read. The folder is created with a ``.gitignore``
  holding ``*``: a backup holds every row (password hashes included) and must
  never be committed. A backup is written to a temporary file and moved into
  place only when complete.
* **PostgreSQL**: a copy of the database on the same server
  (``CREATE DATABASE <db>_bak_NAME TEMPLATE <db>``): pure SQL, no client
  programs needed, everything included (tables, sequences and their
  positions, indexes, constraints, functions). Restoring moves the database
  aside as ``<db>_restoring``, copies the backup in under the original name,
  then drops the aside copy. Making or restoring the copy needs that nobody
  else is connected to the database, and the role needs ``CREATEDB``.

A restore checks the backup before it touches the database: a SQLite backup
must be a complete SQLite database (``PRAGMA integrity_check``) holding
Django's ``django_migrations`` table; a PostgreSQL backup database must be
valid, accept connections, hold ``django_migrations`` and have no session.
An empty, truncated or foreign file is refused with
:class:`InvalidBackupError` and the database is left as it was.

Other connections: a restore (and a backup) waits at most ``timeout``
seconds for the other connections to let go of the database (SQLite: a
transaction holding a lock; PostgreSQL: sessions connected to it, or a lock
on it), then gives up with :class:`DatabaseBusyError`, changing nothing.
Ctrl-C stops the wait at once, also changing nothing.

An interrupted restore (a killed process): on PostgreSQL it can leave the
database moved aside as ``<db>_restoring``; the next restore finds it, puts
it back or removes it (the data it held was being replaced anyway), and
says so. SQLite needs nothing: its journal rolls an interrupted write back.

What it is not: a copy on the same machine or server protects against a
migration gone wrong, not against losing that machine. For that, use your
database's real backup tools (``pg_dump``, file-system snapshots). Other
database backends are refused with a message.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend
from django.utils.connection import ConnectionDoesNotExist

from helpers.writers.file_writer import WriteError, write_all

__all__ = [
    "BackupError",
    "DatabaseBusyError",
    "InvalidBackupError",
    "UnknownDatabaseError",
    "backup_database",
    "backup_folder",
    "delete_backup",
    "restore_database",
]

#: Seconds a backup or restore waits for other connections by default.
DEFAULT_TIMEOUT = 10.0

_NAME = re.compile(r"[a-z0-9_]{1,30}")

Notify = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore was refused or failed; the database was left as it was."""


class InvalidBackupError(BackupError, ValueError):
    """The backup is not a complete copy of a Django database (empty, truncated, foreign)."""


class DatabaseBusyError(BackupError, TimeoutError):
    """Other connections held the database longer than the timeout; nothing was changed."""


class UnknownDatabaseError(BackupError, ConnectionDoesNotExist):
    """No database of that alias in ``settings.DATABASES``."""


def _connection(using: str) -> BaseDatabaseWrapper:
    if using not in connections:
        known = ", ".join(repr(alias) for alias in connections)
        raise UnknownDatabaseError(
            f"No database {using!r} in settings.DATABASES: the databases are {known}; nothing was done."
        )
    return connections[using]


def _checked(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BackupError(
            f"Backup name {name!r} is not allowed: use 1 to 30 lower-case letters, digits or underscores."
        )
    return name


def _quiet(message: str) -> None:
    """The default ``notify``: say nothing."""


def _refuse(vendor: str) -> BackupError:
    return BackupError(
        f"Backups of {vendor} databases are not supported here: use the database's own backup tools."
    )


def _shown(path: Path) -> str:
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)


# --- SQLite ------------------------------------------------------------------------------------


def backup_folder(using: str = DEFAULT_DB_ALIAS) -> Path:
    """The folder SQLite backups of ``using`` go to (it need not exist yet).

    ``settings.DB_BACKUP_DIR`` when set; otherwise ``<BASE_DIR>/backups``
    (or, in a project without ``BASE_DIR``, ``backups`` next to the
    database file).
    """
    explicit = getattr(settings, "DB_BACKUP_DIR", None)
    if explicit:
        return Path(explicit)
    base = getattr(settings, "BASE_DIR", None)
    if base:
        return Path(base) / "backups"
    database, _ = _sqlite_paths(_connection(using), "x", folder=Path())
    return database.parent / "backups"


def _prepare_folder(folder: Path) -> None:
    """Create the backup folder with a ``.gitignore`` holding ``*`` (all-or-nothing)."""
    ignore = folder / ".gitignore"
    explicit = bool(getattr(settings, "DB_BACKUP_DIR", None))
    if folder.is_dir() and (explicit or ignore.exists()):
        return  # a folder the project chose: left as it is
    try:
        write_all({ignore: "# Database backups: every row of the database. Never commit them.\n*\n"})
    except WriteError as exc:
        raise BackupError(f"Cannot prepare the backup folder {_shown(folder)}: {exc}") from exc


def _sqlite_paths(connection: BaseDatabaseWrapper, name: str, *, folder: Path | None = None) -> tuple[
    Path, Path
]:
    database = str(connection.settings_dict["NAME"])
    if database == ":memory:" or database.startswith("file:") or not database:
        raise BackupError("An in-memory SQLite database cannot be backed up to a file.")
    path = Path(database)
    folder = backup_folder(connection.alias) if folder is None else folder
    return path, folder / f"{path.name}.{name}.bak"


def _waiter(what: str, timeout: float, notify: Notify) -> Callable[[int, int, int], None]:
    """A backup ``progress`` callback: give up after ``timeout`` s of SQLITE_BUSY/LOCKED.

    CPython calls it after every step, also when the step could not get its
    lock; being Python code, it also lets Ctrl-C (KeyboardInterrupt) through,
    which the backup API's own retry loop does not.
    """
    deadline: list[float] = []

    def progress(status: int, remaining: int, total: int) -> None:
        if status not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return
        now = time.monotonic()
        if not deadline:
            deadline.append(now + timeout)
            notify(
                f"Waiting up to {timeout:g} s for other connections to release {what} "
                "(Ctrl-C to stop)..."
            )
        if now >= deadline[0]:
            raise DatabaseBusyError(
                f"{what[:1].upper()}{what[1:]} is in use: another connection holds a transaction on it "
                f"(a shell, runserver, a notebook kernel?); gave up after {timeout:g} s. Close it and "
                "try again; nothing was changed."
            )

    return progress


def _copy_sqlite(source: Path, target: Path, *, what: str, timeout: float, notify: Notify) -> None:
    """Copy ``source`` onto ``target`` with the backup API: all of it, or nothing."""
    src = sqlite3.connect(source, timeout=0)
    try:
        dst = sqlite3.connect(target, timeout=0)
        try:
            src.backup(dst, progress=_waiter(what, timeout, notify), sleep=0.1)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(
            f"Could not copy {_shown(source)} to {_shown(target)}: {exc}; nothing was changed."
        ) from exc
    finally:
        src.close()


def check_sqlite_backup(path: Path) -> None:
    """Raise :class:`InvalidBackupError` unless ``path`` is a complete SQLite database of Django.

    Complete: SQLite's ``PRAGMA integrity_check`` answers ``ok``; of Django:
    it has the ``django_migrations`` table. The file is only read.
    """
    shown = _shown(path)
    size = path.stat().st_size
    if size == 0:
        raise InvalidBackupError(
            f"The backup {shown} is empty (0 bytes): it cannot be restored; nothing was changed."
        )
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            rows = [r[0] for r in db.execute("PRAGMA integrity_check").fetchall()]
            if rows != ["ok"]:
                problems = [line for row in rows for line in str(row).splitlines() if "***" not in line]
                first = (problems or ["?"])[0][:200]
                raise InvalidBackupError(
                    f"The backup {shown} is damaged (SQLite's integrity check: {first}): "
                    "it cannot be restored; nothing was changed."
                )
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'django_migrations'"
            ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise InvalidBackupError(
            f"The backup {shown} ({size} bytes) is not a complete SQLite database ({exc}): "
            "it cannot be restored; nothing was changed."
        ) from exc
    if found is None:
        raise InvalidBackupError(
            f"The backup {shown} holds no Django database (no django_migrations table): "
            "it cannot be restored; nothing was changed."
        )


# --- PostgreSQL --------------------------------------------------------------------------------


def _pg_names(connection: BaseDatabaseWrapper, name: str) -> tuple[str, str]:
    database = connection.settings_dict["NAME"]
    backup = f"{database}_bak_{name}"
    limit = connection.ops.max_name_length()
    if limit is not None and len(backup) > limit:
        raise BackupError(f"Backup database name {backup} is too long: choose a shorter backup name.")
    return database, backup


def _aside(connection: BaseDatabaseWrapper, database: str) -> str:
    return f"{database}_restoring"[: connection.ops.max_name_length()]


@contextlib.contextmanager
def _pg_admin(connection: BaseDatabaseWrapper, timeout: float) -> Iterator[Any]:
    """A cursor on the server's maintenance database (never inside the target database)."""
    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{max(1, int(timeout * 1000))}ms"])
        yield cursor


def _pg_exists(cursor: Any, database: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
    return cursor.fetchone() is not None


def _pg_sessions(cursor: Any, databases: list[str]) -> list[tuple[str, str, str]]:
    cursor.execute(
        "SELECT datname, coalesce(nullif(application_name, ''), '?'), coalesce(state, '?') "
        "FROM pg_stat_activity WHERE datname = ANY(%s) AND pid <> pg_backend_pid() ORDER BY 1, 2, 3",
        [databases],
    )
    return [tuple(row) for row in cursor.fetchall()]


def _pg_wait_alone(cursor: Any, databases: list[str], timeout: float, notify: Notify) -> None:
    """Wait up to ``timeout`` s until no other session is connected to ``databases``."""
    deadline = time.monotonic() + timeout
    told = False
    while True:
        sessions = _pg_sessions(cursor, databases)
        if not sessions:
            return
        if time.monotonic() >= deadline:
            listed = "; ".join(f"on {d}: {app} ({state})" for d, app, state in sessions[:5])
            raise DatabaseBusyError(
                f"{len(sessions)} other session{'s' if len(sessions) > 1 else ''} connected ({listed}); "
                f"gave up after {timeout:g} s. Close them (a shell, runserver, a notebook kernel?) and "
                "try again; nothing was changed."
            )
        if not told:
            told = True
            notify(f"Waiting up to {timeout:g} s for other sessions to disconnect (Ctrl-C to stop)...")
        time.sleep(0.1)


def _pg_busy(exc: Exception) -> bool:
    cause = exc.__cause__ or exc
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return code in ("55P03", "55006", "57014")  # lock_not_available, object_in_use, query_canceled


def _pg_check_backup(connection: BaseDatabaseWrapper, cursor: Any, backup: str) -> None:
    """Raise :class:`InvalidBackupError` unless database ``backup`` is a valid copy of a Django database."""
    cursor.execute("SELECT datallowconn, datconnlimit FROM pg_database WHERE datname = %s", [backup])
    allow, limit = cursor.fetchone()
    if not allow or limit == -2:  # -2: left invalid by an interrupted DROP DATABASE
        raise InvalidBackupError(
            f"The backup database {backup} is not usable (it does not accept connections"
            f"{'; an interrupted DROP DATABASE left it invalid' if limit == -2 else ''}): it cannot be "
            "restored; nothing was changed."
        )
    settings_dict = {**connection.settings_dict, "NAME": backup}
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "__db_backup_check__")
    try:
        with wrapper.cursor() as check:
            check.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
            (found,) = check.fetchone()
    except Exception as exc:
        raise InvalidBackupError(
            f"The backup database {backup} cannot be read ({exc}): it cannot be restored; "
            "nothing was changed."
        ) from exc
    finally:
        wrapper.close()
    if not found:
        raise InvalidBackupError(
            f"The backup database {backup} holds no Django database (no django_migrations table): it "
            "cannot be restored; nothing was changed."
        )


def _pg_recover(
    connection: BaseDatabaseWrapper, cursor: Any, database: str, timeout: float, notify: Notify
) -> None:
    """Undo what a restore killed halfway left behind: ``<db>_restoring``."""
    aside = _aside(connection, database)
    if not _pg_exists(cursor, aside):
        return
    qn = connection.ops.quote_name
    _pg_wait_alone(cursor, [aside], timeout, notify)
    if _pg_exists(cursor, database):
        # The killed restore had copied the backup in: the aside copy is the data it replaced.
        cursor.execute(f"DROP DATABASE {qn(aside)}")
        notify(f"Removed {aside}, left behind by an interrupted restore (the data that restore replaced).")
    else:
        # Killed before the copy: the aside database is the database; put it back first.
        cursor.execute(f"ALTER DATABASE {qn(aside)} RENAME TO {qn(database)}")
        notify(f"Put {aside} back as {database}: an interrupted restore had moved it aside.")


# --- the three operations ----------------------------------------------------------------------


def backup_database(
    name: str,
    *,
    using: str = DEFAULT_DB_ALIAS,
    replace: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    notify: Notify = _quiet,
) -> str:
    """Copy the whole database under the backup name ``name``; return where the copy is.

    An existing backup of that name is kept (and :class:`BackupError`
    raised) unless ``replace`` is true. ``notify`` receives what the copy
    waits for.
    """
    name = _checked(name)
    connection = _connection(using)
    if connection.vendor == "sqlite":
        source, target = _sqlite_paths(connection, name)
        if not source.is_file():
            raise BackupError(f"No database file {_shown(source)} to back up (run migrate first).")
        if target.exists() and not replace:
            raise BackupError(f"A backup named {name!r} already exists ({_shown(target)}); nothing done.")
        _prepare_folder(target.parent)
        connection.close()
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        temp = Path(temp_name)
        try:
            _copy_sqlite(source, temp, what=f"the database {_shown(source)}", timeout=timeout, notify=notify)
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        return _shown(target)
    if connection.vendor == "postgresql":
        database, backup = _pg_names(connection, name)
        qn = connection.ops.quote_name
        with _pg_admin(connection, timeout) as cursor:
            if not _pg_exists(cursor, database) and _pg_exists(cursor, _aside(connection, database)):
                raise BackupError(
                    f"Database {database} is missing: a restore was interrupted and left it as "
                    f"{_aside(connection, database)}. Run restore_database again first; nothing was done."
                )
            if _pg_exists(cursor, backup) and not replace:
                raise BackupError(f"A backup named {name!r} already exists ({backup}); nothing done.")
            _pg_wait_alone(cursor, [database], timeout, notify)
            if _pg_exists(cursor, backup):
                cursor.execute(f"DROP DATABASE {qn(backup)}")
            try:
                cursor.execute(f"CREATE DATABASE {qn(backup)} TEMPLATE {qn(database)}")
            except Exception as exc:
                if _pg_busy(exc):
                    raise DatabaseBusyError(
                        f"Could not copy {database}: another session held it ({exc}".strip()
                        + f"); gave up after {timeout:g} s, nothing was changed."
                    ) from exc
                raise BackupError(f"Could not copy database {database}: {exc}".strip()) from exc
        return f"database {backup}"
    raise _refuse(connection.vendor)


def restore_database(
    name: str,
    *,
    using: str = DEFAULT_DB_ALIAS,
    timeout: float = DEFAULT_TIMEOUT,
    notify: Notify = _quiet,
) -> str:
    """Put the database back as it was when backup ``name`` was made; return where it came from.

    The backup is checked first (:class:`InvalidBackupError`); other
    connections are waited for at most ``timeout`` seconds
    (:class:`DatabaseBusyError`). In both cases, and on Ctrl-C, the database
    is left as it was. The backup itself is kept, so it can be restored
    again. ``notify`` receives what the restore waits for and what it
    cleaned up.
    """
    name = _checked(name)
    connection = _connection(using)
    if connection.vendor == "sqlite":
        database_path, backup_path = _sqlite_paths(connection, name)
        if not backup_path.is_file():
            raise BackupError(f"No backup named {name!r} (no file {_shown(backup_path)}); nothing was done.")
        check_sqlite_backup(backup_path)
        connection.close()
        what = f"the database {_shown(database_path)}"
        _copy_sqlite(backup_path, database_path, what=what, timeout=timeout, notify=notify)
        return _shown(backup_path)
    if connection.vendor == "postgresql":
        database, backup = _pg_names(connection, name)
        qn = connection.ops.quote_name
        aside = _aside(connection, database)
        with _pg_admin(connection, timeout) as cursor:
            if not _pg_exists(cursor, backup):
                raise BackupError(f"No backup named {name!r} (no database {backup}); nothing was done.")
            _pg_check_backup(connection, cursor, backup)
            _pg_recover(connection, cursor, database, timeout, notify)
            _pg_wait_alone(cursor, [database, backup], timeout, notify)
            try:
                cursor.execute(f"ALTER DATABASE {qn(database)} RENAME TO {qn(aside)}")
            except Exception as exc:
                error = DatabaseBusyError if _pg_busy(exc) else BackupError
                raise error(
                    f"Could not restore {database} (another session connected to it?): {exc}".strip()
                    + "; nothing was changed."
                ) from exc
            try:
                cursor.execute(f"CREATE DATABASE {qn(database)} TEMPLATE {qn(backup)}")
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    cursor.execute(f"ALTER DATABASE {qn(aside)} RENAME TO {qn(database)}")
                if not isinstance(exc, Exception):
                    raise
                error = DatabaseBusyError if _pg_busy(exc) else BackupError
                raise error(f"Could not restore {database}; it was left as it was: {exc}".strip()) from exc
            cursor.execute(f"DROP DATABASE {qn(aside)}")
        return f"database {backup}"
    raise _refuse(connection.vendor)


def delete_backup(name: str, *, using: str = DEFAULT_DB_ALIAS) -> str:
    """Delete backup ``name``; return what was deleted."""
    name = _checked(name)
    connection = _connection(using)
    if connection.vendor == "sqlite":
        _, backup_path = _sqlite_paths(connection, name)
        if not backup_path.is_file():
            raise BackupError(f"No backup named {name!r}; nothing was deleted.")
        backup_path.unlink()
        return _shown(backup_path)
    if connection.vendor == "postgresql":
        _, backup = _pg_names(connection, name)
        with _pg_admin(connection, DEFAULT_TIMEOUT) as cursor:
            if not _pg_exists(cursor, backup):
                raise BackupError(f"No backup named {name!r}; nothing was deleted.")
            cursor.execute(f"DROP DATABASE {connection.ops.quote_name(backup)}")
        return f"database {backup}"
    raise _refuse(connection.vendor)

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

* **MySQL/MariaDB**: a dump file, ``<backups folder>/<database>.NAME.sql``,
  made by ``mariadb-dump`` (or ``mysqldump``) with ``--single-transaction``
  (a consistent snapshot of InnoDB tables without locking them),
  ``--routines --triggers --events``, with its SHA-256 next to it
  (``NAME.sql.sha256``, the ``sha256sum`` format). The client programs must
  be installed (they come with ``mariadb-client``); they are given the
  connection's settings as ``dbshell`` does (the password in ``MYSQL_PWD``).
  MySQL has neither transactional DDL nor ``RENAME DATABASE``: a restore
  loads the dump into a new database ``<db>_restoring``, then swaps it in
  with *one* ``RENAME TABLE`` statement, which MariaDB runs atomically (every
  table of the database to ``<db>_replaced``, every table of the copy into
  the database), then drops the two. The database is therefore never half
  restored. ``RENAME TABLE`` cannot move views or triggers to another
  database, and routines and events belong to the database, not to its
  tables: a database (or a backup) holding any is refused before anything
  changes, with how to restore it by hand.

A restore checks the backup before it touches the database: a SQLite backup
must be a complete SQLite database (``PRAGMA integrity_check``) holding
Django's ``django_migrations`` table; a PostgreSQL backup database must be
valid, accept connections, hold ``django_migrations`` and have no session;
a MySQL dump must match its checksum, end with the dump program's
``-- Dump completed`` line, create ``django_migrations``, and load without
error into ``<db>_restoring``. An empty, truncated, edited or foreign backup
is refused with :class:`InvalidBackupError` and the database is left as it was.

Other connections: a restore (and a backup) waits at most ``timeout``
seconds for the other connections to let go of the database (SQLite: a
transaction holding a lock; PostgreSQL: sessions connected to it, or a lock
on it; MySQL: a transaction that has used one of its tables, so holds a
metadata lock that ``RENAME TABLE`` waits for), then gives up with
:class:`DatabaseBusyError`, changing nothing. Ctrl-C stops the wait at once
(on MySQL within a second: ``lock_wait_timeout`` counts whole seconds), also
changing nothing. A MySQL dump does not wait: ``--single-transaction`` reads
a snapshot.

An interrupted restore (a killed process): on PostgreSQL it can leave the
database moved aside as ``<db>_restoring``; the next restore finds it, puts
it back or removes it (the data it held was being replaced anyway), and
says so. On MySQL it can leave ``<db>_restoring`` (the copy being loaded)
or ``<db>_replaced`` (the tables a completed swap replaced); the database
itself is whole either way, and the next restore removes them and says so.
SQLite needs nothing: its journal rolls an interrupted write back.

What it is not: a copy on the same machine or server protects against a
migration gone wrong, not against losing that machine. For that, use your
database's real backup tools (``pg_dump``, file-system snapshots; a MySQL
dump file can be copied elsewhere with its checksum). Other database
backends are refused with a message.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
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
    """The folder SQLite backups and MySQL dumps of ``using`` go to (it need not exist yet).

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
    connection = _connection(using)
    if connection.vendor != "sqlite":
        raise BackupError(
            "Set settings.DB_BACKUP_DIR (or BASE_DIR) to the folder the database dumps go to; nothing was done."
        )
    database, _ = _sqlite_paths(connection, "x", folder=Path())
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


# --- MySQL / MariaDB ---------------------------------------------------------------------------

#: What a complete dump of ``mysqldump``/``mariadb-dump`` ends with (its last comment line).
_DUMP_TRAILER = "-- Dump completed"
_MYSQL_BUSY = (1205,)  # ER_LOCK_WAIT_TIMEOUT: also a metadata lock (RENAME TABLE) not granted in time
_MYSQL_OTHER_OBJECTS = ("views", "triggers", "routines", "events")


def _mysql_program(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise BackupError(
        f"Backups of MySQL/MariaDB databases need the client program {names[0]} (or {names[1]}), "
        "which is not installed: install the client programs (Debian/Ubuntu: apt-get install "
        "mariadb-client) and try again; nothing was done."
    )


def _mysql_database(connection: BaseDatabaseWrapper) -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT DATABASE()")
            (database,) = cursor.fetchone()
    except DatabaseError as exc:
        raise BackupError(f"Cannot reach the database {connection.alias!r} ({exc}); nothing was done.") from exc
    return str(database)


def _mysql_paths(connection: BaseDatabaseWrapper, name: str) -> tuple[str, Path, Path]:
    """The database's name, its dump file ``<db>.<NAME>.sql`` and the checksum next to it."""
    database = _mysql_database(connection)
    dump = backup_folder(connection.alias) / f"{database}.{name}.sql"
    return database, dump, dump.with_name(dump.name + ".sha256")


def _mysql_side_names(connection: BaseDatabaseWrapper, database: str) -> tuple[str, str]:
    """``<db>_restoring`` (the backup being loaded) and ``<db>_replaced`` (the tables it replaced)."""
    names = (f"{database}_restoring", f"{database}_replaced")
    limit = connection.ops.max_name_length() or 64
    if any(len(n) > limit for n in names):
        raise BackupError(
            f"The database name {database} is too long for a restore on MySQL (it needs {names[1]}, "
            f"at most {limit} characters); nothing was done."
        )
    return names


def _mysql_command(connection: BaseDatabaseWrapper, program: str, database: str) -> tuple[list[str], dict[str, str]]:
    """``program``'s arguments to reach ``database`` with the connection's settings (as ``dbshell``)."""
    from django.db.backends.mysql.client import DatabaseClient

    options = {k: v for k, v in connection.settings_dict["OPTIONS"].items() if k not in ("db", "database")}
    settings_dict = {**connection.settings_dict, "NAME": database, "OPTIONS": options}
    args, env = DatabaseClient.settings_to_cmd_args_env(settings_dict, [])
    return [program, *args[1:-1]], {**os.environ, **(env or {})}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _last_line(path: Path) -> str:
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 4096))
        lines = handle.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


def check_mysql_backup(dump: Path, checksum: Path) -> None:
    """Raise :class:`InvalidBackupError` unless ``dump`` is a complete dump of a Django database.

    Complete: not empty, its checksum file is there and matches (SHA-256, the
    ``sha256sum`` format), and it ends with the dump program's ``-- Dump
    completed`` line (a dump cut short has no last line); of Django: it
    creates the ``django_migrations`` table. The files are only read.
    """
    shown = _shown(dump)
    size = dump.stat().st_size
    if size == 0:
        raise InvalidBackupError(f"The backup {shown} is empty (0 bytes): it cannot be restored; nothing was changed.")
    if not checksum.is_file():
        raise InvalidBackupError(
            f"The backup {shown} has no checksum file ({_shown(checksum)}; the backup was interrupted "
            "or the file was copied alone): it cannot be trusted, so it is not restored; nothing was changed."
        )
    expected = checksum.read_text(encoding="utf-8", errors="replace").split()[:1]
    if expected != [_sha256(dump)]:
        raise InvalidBackupError(
            f"The backup {shown} ({size} bytes) does not match its checksum ({_shown(checksum)}): it was "
            "changed or damaged after it was made; it cannot be restored; nothing was changed."
        )
    if not _last_line(dump).startswith(_DUMP_TRAILER):
        raise InvalidBackupError(
            f"The backup {shown} ({size} bytes) is not a complete dump (it does not end with "
            f"'{_DUMP_TRAILER}'): it cannot be restored; nothing was changed."
        )
    with dump.open("rb") as handle:
        found = any(line.startswith(b"CREATE TABLE `django_migrations`") for line in handle)
    if not found:
        raise InvalidBackupError(
            f"The backup {shown} holds no Django database (no django_migrations table): "
            "it cannot be restored; nothing was changed."
        )


def _mysql_schema_exists(cursor: Any, database: str) -> bool:
    cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [database])
    return cursor.fetchone() is not None


def _mysql_tables(cursor: Any, database: str) -> list[str]:
    cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE' "
        "ORDER BY table_name",
        [database],
    )
    return [str(row[0]) for row in cursor.fetchall()]


def _mysql_other_objects(cursor: Any, database: str) -> list[str]:
    """The views, triggers, routines and events of ``database``, as ``kind name``."""
    queries = {
        "view": "SELECT table_name FROM information_schema.views WHERE table_schema = %s",
        "trigger": "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = %s",
        "routine": "SELECT routine_name FROM information_schema.routines WHERE routine_schema = %s",
        "event": "SELECT event_name FROM information_schema.events WHERE event_schema = %s",
    }
    found = []
    for kind, query in queries.items():
        cursor.execute(query, [database])
        found += [f"{kind} {row[0]}" for row in cursor.fetchall()]
    return sorted(found)


def _mysql_recover(connection: BaseDatabaseWrapper, cursor: Any, database: str, notify: Notify) -> None:
    """Remove what a restore killed halfway left: ``<db>_restoring`` and ``<db>_replaced``.

    The swap is one atomic ``RENAME TABLE``, so the database itself is always
    whole (as before the killed restore, or restored); only these are left.
    """
    qn = connection.ops.quote_name
    restoring, replaced = _mysql_side_names(connection, database)
    if _mysql_schema_exists(cursor, restoring):
        cursor.execute(f"DROP DATABASE {qn(restoring)}")
        notify(
            f"Removed {restoring}, left behind by an interrupted restore (the copy it was loading; "
            "the database itself was not changed by it)."
        )
    if _mysql_schema_exists(cursor, replaced):
        tables = _mysql_tables(cursor, replaced)
        cursor.execute(f"DROP DATABASE {qn(replaced)}")
        if tables:
            notify(
                f"Removed {replaced}, left behind by an interrupted restore (the tables that restore "
                "had replaced: it was complete)."
            )


def _mysql_is_busy(exc: BaseException) -> bool:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    return bool(args) and args[0] in _MYSQL_BUSY


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[list[int]]:
    """Hold Ctrl-C back for one statement whose outcome must be known (the swap).

    The caller looks at the yielded list afterwards: non-empty when Ctrl-C
    came in the meantime. Outside the main thread, nothing is deferred.
    """
    import signal
    import threading

    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    try:
        yield got
    finally:
        signal.signal(signal.SIGINT, previous)


def _mysql_swap(cursor: Any, statement: str, what: str, timeout: float, notify: Notify) -> bool:
    """Run the swap ``RENAME TABLE``, waiting up to ``timeout`` s for other connections' locks.

    Tries once without waiting, then in steps of one second (MySQL's
    ``lock_wait_timeout`` counts whole seconds, and Ctrl-C is seen between
    steps). Returns whether Ctrl-C came while the swap (which did happen)
    ran; raises :class:`KeyboardInterrupt` if it came before (nothing done).
    """
    deadline = time.monotonic() + timeout
    first = True
    while True:
        cursor.execute(f"SET SESSION lock_wait_timeout = {0 if first else 1}")
        with _sigint_deferred() as interrupted:
            try:
                cursor.execute(statement)
            except Exception as exc:
                if not _mysql_is_busy(exc):
                    raise
            else:
                return bool(interrupted)
        if interrupted:
            raise KeyboardInterrupt
        if time.monotonic() >= deadline:
            raise DatabaseBusyError(
                f"{what[:1].upper()}{what[1:]} is in use: another connection holds a transaction on it "
                f"(a shell, runserver, a notebook kernel?); gave up after {timeout:g} s. Close it and "
                "try again; nothing was changed."
            )
        if first:
            first = False
            notify(
                f"Waiting up to {timeout:g} s for other connections to release {what} (Ctrl-C to stop)..."
            )


def _mysql_backup(connection: BaseDatabaseWrapper, name: str, replace: bool) -> str:
    database, dump, checksum = _mysql_paths(connection, name)
    if dump.exists() and not replace:
        raise BackupError(f"A backup named {name!r} already exists ({_shown(dump)}); nothing done.")
    program = _mysql_program("mariadb-dump", "mysqldump")
    _prepare_folder(dump.parent)
    fd, temp_name = tempfile.mkstemp(prefix=f".{dump.name}.", suffix=".tmp", dir=dump.parent)
    os.close(fd)
    temp = Path(temp_name)
    args, env = _mysql_command(connection, program, database)
    args += [
        "--single-transaction", "--routines", "--triggers", "--events", "--hex-blob",
        "--skip-lock-tables", f"--result-file={temp}", database,
    ]  # fmt: skip
    try:
        run = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if run.returncode or not _last_line(temp).startswith(_DUMP_TRAILER):
            error = (run.stderr.strip() or f"exit status {run.returncode}").splitlines()[-1]
            raise BackupError(f"Could not dump the database {database} ({Path(program).name}: {error}); no backup was made.")
        digest = _sha256(temp)
        checksum.unlink(missing_ok=True)  # never a new dump next to an old checksum
        os.replace(temp, dump)
        write_all({checksum: f"{digest}  {dump.name}\n"}, overwrite=True)
    except WriteError as exc:
        raise BackupError(f"Could not write the checksum of the backup {_shown(dump)}: {exc}") from exc
    finally:
        temp.unlink(missing_ok=True)
    return _shown(dump)


def _mysql_restore(connection: BaseDatabaseWrapper, name: str, timeout: float, notify: Notify) -> str:
    database, dump, checksum = _mysql_paths(connection, name)
    if not dump.is_file():
        raise BackupError(f"No backup named {name!r} (no file {_shown(dump)}); nothing was done.")
    check_mysql_backup(dump, checksum)
    program = _mysql_program("mariadb", "mysql")
    restoring, replaced = _mysql_side_names(connection, database)
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        _mysql_recover(connection, cursor, database, notify)
        others = _mysql_other_objects(cursor, database)
        if others:
            raise BackupError(
                f"The database {database} holds {', '.join(others[:5])}: a restore on MySQL swaps the "
                "tables in with one atomic RENAME TABLE, which cannot move views or triggers to another "
                "database, nor routines or events. Restore it by hand (mariadb <database> < "
                f"{_shown(dump)}, into an empty database); nothing was changed."
            )
        cursor.execute(
            "SELECT default_character_set_name, default_collation_name FROM information_schema.schemata "
            "WHERE schema_name = %s",
            [database],
        )
        charset, collation = cursor.fetchone()
        if not all(re.fullmatch(r"[A-Za-z0-9_]+", str(v)) for v in (charset, collation)):
            raise BackupError(f"Unexpected character set {charset!r} / collation {collation!r} of {database}.")
        try:
            cursor.execute(
                f"CREATE DATABASE {qn(restoring)} CHARACTER SET {charset} COLLATE {collation}"
            )
            args, env = _mysql_command(connection, program, restoring)
            with dump.open("rb") as source:
                load = subprocess.run(
                    [*args, "--batch", restoring], stdin=source, env=env, capture_output=True, check=False
                )
            if load.returncode:
                error = (load.stderr.decode("utf-8", "replace").strip() or f"exit status {load.returncode}")
                raise InvalidBackupError(
                    f"The backup {_shown(dump)} could not be loaded ({Path(program).name}: "
                    f"{error.splitlines()[-1]}): it cannot be restored; nothing was changed."
                )
            loaded = _mysql_other_objects(cursor, restoring)
            if loaded:
                raise BackupError(
                    f"The backup {_shown(dump)} holds {', '.join(loaded[:5])}: a restore on MySQL swaps the "
                    "tables in with one atomic RENAME TABLE, which cannot move views or triggers to another "
                    "database, nor routines or events. Restore it by hand (mariadb <database> < the file, "
                    "into an empty database); nothing was changed."
                )
            new_tables = _mysql_tables(cursor, restoring)
            if "django_migrations" not in new_tables:
                raise InvalidBackupError(
                    f"The backup {_shown(dump)} holds no Django database (no django_migrations table): "
                    "it cannot be restored; nothing was changed."
                )
            cursor.execute(f"CREATE DATABASE {qn(replaced)}")
            pairs = [f"{qn(database)}.{qn(t)} TO {qn(replaced)}.{qn(t)}" for t in _mysql_tables(cursor, database)]
            pairs += [f"{qn(restoring)}.{qn(t)} TO {qn(database)}.{qn(t)}" for t in new_tables]
            late = _mysql_swap(
                cursor, "RENAME TABLE " + ", ".join(pairs), f"the database {database}", timeout, notify
            )
            if late:
                notify("Ctrl-C came too late: the restore was already done.")
        finally:
            with contextlib.suppress(Exception):
                cursor.execute("SET SESSION lock_wait_timeout = DEFAULT")
            for leftover in (restoring, replaced):
                with contextlib.suppress(Exception):
                    cursor.execute(f"DROP DATABASE IF EXISTS {qn(leftover)}")
    connection.close()
    return _shown(dump)


def _mysql_delete(connection: BaseDatabaseWrapper, name: str) -> str:
    _, dump, checksum = _mysql_paths(connection, name)
    if not dump.is_file():
        raise BackupError(f"No backup named {name!r}; nothing was deleted.")
    checksum.unlink(missing_ok=True)
    dump.unlink()
    return _shown(dump)


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
    if connection.vendor == "mysql":
        return _mysql_backup(connection, name, replace)
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
    if connection.vendor == "mysql":
        return _mysql_restore(connection, name, timeout, notify)
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
    if connection.vendor == "mysql":
        return _mysql_delete(connection, name)
    raise _refuse(connection.vendor)

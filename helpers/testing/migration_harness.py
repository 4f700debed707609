"""Test a data migration in milliseconds: the database at X, your rows, migrate to Y, assert.

A data migration is the riskiest code of a Django project and the least
tested, because testing it is slow: the usual tool drops every table and
replays the whole migration history for every test. This harness replays the
history **once** per starting point and keeps a *snapshot* of the database
there; every test restores that snapshot (a page copy on SQLite, a template
database on PostgreSQL, a repair of only the tables the last test changed on
MySQL/MariaDB) and runs only the migrations under test::

    harness = MigrationHarness()
    old = harness.start(("roster", "0002_person_name"))      # the database at X
    old.get_model("roster", "Person").objects.create(first_name="Ada", last_name="Lovelace")
    new = harness.forwards(("roster", "0003_combine_names"))  # migrate to Y
    assert new.get_model("roster", "Person").objects.get().name == "Ada Lovelace"
    harness.backwards(("roster", "0002_person_name"))        # and back again
    harness.close()

``start``, ``forwards`` and ``backwards`` return the **historical** models at
that point (``apps.get_model(...)``, as inside a ``RunPython`` function),
never your current ``models.py``.

Where the harness works
    On a *scratch database of its own*, configured like the connection it
    replaces (same engine, server, user and options), never on the test
    database: for the harness's lifetime ``connections[alias]`` (and so
    ``django.db.connection``, the ORM, signals receivers) is that scratch
    database, and ``close()`` puts the original connection back untouched.
    Nothing has to migrate the test database back to the latest state
    afterwards, and a migration that fails cannot leave it half-migrated.
    On SQLite the scratch database is in memory; on PostgreSQL it is the
    snapshot database ``<test database>_mh<token>_<key>`` inside a
    transaction rolled back after the test, or a copy of it,
    ``<test database>_mh<token>_work`` (``<token>`` is random per process, so
    each process, each pytest-xdist worker included, has its own). On MySQL
    (MariaDB 10.5 or later) it is always ``<test database>_mh<token>_work``:
    MySQL has no transactional DDL, so nothing can be rolled back, and before
    each test the harness compares each of its tables with the snapshot
    database's (``SHOW CREATE TABLE``, ``CHECKSUM TABLE``, the
    ``AUTO_INCREMENT`` counter) and repairs only those that differ (see
    :class:`_MysqlBackend`); a failed, half-applied migration is repaired the
    same way. The swap is for the current thread only.

Snapshots
    Kept per process, keyed on a hash of the contents of every migration file
    of the installed apps, the starting targets, the database and the
    signals setting. When a migration file changes, the key changes: the
    snapshot is rebuilt and the changed migration modules are imported again
    (their stale bytecode is removed), so the test sees the new code. The
    PostgreSQL and MySQL snapshot databases are dropped when the process
    exits. Each carries its owner's mark (``COMMENT ON DATABASE``; on MariaDB
    ``CREATE DATABASE ... COMMENT``: pid, host, boot id, process start time);
    the first harness of a process drops the leftovers
    of processes that are gone (a killed run), and never touches those of a
    process still running, on this machine or another.

Snapshots kept across runs
    Like pytest-django's ``--reuse-db``, each snapshot is also kept for the
    next run: on SQLite a file ``<group>-<key>.sqlite3`` in
    ``MIGRATION_HARNESS_DIR``, else in ``.migration_harness/`` next to the
    database file (with a ``.gitignore`` of ``*``), else, for a database in
    memory, in ``<tmp>/migration_harness-<uid>/``; on PostgreSQL a template
    database ``mh_kept_<group>_<key>`` marked ``migration_harness kept ...``
    (:data:`KEPT_MARK`), which the dead-owner sweep never matches; on MySQL a
    database of that name and mark, its tables copied. The key
    covers the migration files' contents, the Django version, the backend
    (SQLite, or the server and user), the plan, the targets, the
    folders of the targets' migrations and the signals setting; the *group*
    is the same without files and Django (another checkout of the project is
    another group, so its runs never remove this one's as stale). A new
    process whose key matches copies the kept snapshot (SQLite: into memory;
    PostgreSQL: ``CREATE DATABASE ... TEMPLATE`` into a database of its own;
    MySQL: table by table into a database of its own) and runs no migration;
    otherwise it migrates, then publishes atomically (SQLite: a file written
    aside then ``os.replace``; PostgreSQL: a copy renamed with ``ALTER
    DATABASE ... RENAME``: when two processes publish at once, one rename
    wins and the other drops its copy; MySQL: the database is created under
    its owner's mark, which a reader never uses, filled, then given the kept
    mark: the second process's ``CREATE DATABASE`` fails and it keeps the
    first one's; a dead publisher's half-filled one is replaced) and removes the
    kept snapshots of the same group with another key (stale: never used
    again). A kept snapshot is checked before use (SQLite: its
    ``django_migrations`` rows hold the plan; PostgreSQL: its mark names the
    key; MySQL: both) and rebuilt when not right. ``reuse=False``, or
    ``MIGRATION_HARNESS_REUSE = False`` in the settings, neither uses nor
    keeps them; :func:`clear_kept_snapshots` removes them. As with
    ``--reuse-db``, rows written by ``post_migrate`` receivers are those of
    the run that built the snapshot.

Signals
    With ``signals=True`` (the default) ``pre_migrate`` and ``post_migrate``
    are sent around every ``forwards``/``backwards`` exactly as ``manage.py
    migrate`` sends them (every app config, ``using`` the alias, ``apps`` the
    historical apps before/after, ``plan``), and around the one real
    migration that builds a snapshot; restoring a snapshot sends nothing (the
    rows the receivers wrote, content types and permissions, are in the
    snapshot). With ``signals=False`` none are sent, as
    django-test-migrations always does.

Bad input
    A malformed target (``None``, ``"roster."``, ``("roster",)``, an app
    without a migration name: :class:`MigrationTargetError`), an unknown app
    (:class:`UnknownAppError`, a :class:`LookupError`), an unknown or
    ambiguous migration (:class:`UnknownMigrationError`, a
    :class:`~django.db.migrations.exceptions.NodeNotFoundError`;
    :class:`~django.db.migrations.exceptions.AmbiguityError`), a migration
    replaced by a squashed one (:class:`ReplacedMigrationError`, saying which
    squashed migration to target instead), a target that
    is not ahead of the current state when going forwards or not behind it
    when going backwards (:class:`~django.db.migrations.exceptions.InvalidMigrationPlan`),
    an irreversible migration on the way back
    (:class:`~django.db.migrations.exceptions.IrreversibleError`): each is
    raised before any database is touched. A migration that fails while it
    runs leaves the scratch database as Django leaves it; the next
    ``start()`` restores the snapshot.

For pytest, ``helpers.testing.pytest_plugin`` has a ``migration_harness`` fixture;
for ``unittest``/``manage.py test``, subclass :class:`MigrationTestCase`.
Only Django is imported here: copy this file into your project.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import hashlib
import importlib
import importlib.util
import io
import os
import re
import secrets
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

import django
from django.apps import apps as global_apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.exceptions import (
    InvalidMigrationPlan,
    IrreversibleError,
)
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ModelState, ProjectState, StateApps
from django.db.utils import load_backend
from django.test import TestCase

from helpers.core.exceptions import (
    MigrationTargetError,
    ReplacedMigrationError,
    UnknownAppError,
    UnknownMigrationError,
)
from helpers.core.processes import pid_alive
from helpers.core.targets import resolve_target

__all__ = [
    "HarnessStateError",
    "MigrationHarness",
    "MigrationTargetError",
    "MigrationTestCase",
    "ReplacedMigrationError",
    "SnapshotError",
    "Target",
    "Targets",
    "UnknownAppError",
    "UnknownMigrationError",
    "clear_kept_snapshots",
    "reuse_enabled",
]

#: One migration target: ``(app_label, migration name or unique prefix)``;
#: ``None`` or ``"zero"`` as the name means "no migration of that app applied".
Target: TypeAlias = tuple[str, str | None]
#: One target, a list of targets, or ``"app_label.migration_name"``.
Targets: TypeAlias = Target | Sequence[Target] | str

_lock = threading.RLock()


class HarnessStateError(RuntimeError):
    """The harness was asked for something its current state does not allow (e.g. not started)."""


# --- migration files: fingerprint and reloading -----------------------------------------------

_file_digests: dict[str, str] = {}
_file_stats: dict[str, tuple[int, int, int]] = {}


_packages_cache: dict[str, list[tuple[str, list[Path]]]] = {}


def _migration_packages() -> list[tuple[str, list[Path]]]:
    """(module name, folders) of the migrations package of every installed app that has one."""
    from django.conf import settings

    cache_key = repr(([c.name for c in global_apps.get_app_configs()], settings.MIGRATION_MODULES))
    cached = _packages_cache.get(cache_key)
    if cached is not None and all(folder.is_dir() for _, folders in cached for folder in folders):
        return cached
    packages = []
    for app_config in global_apps.get_app_configs():
        module_name, _explicit = MigrationLoader.migrations_module(app_config.label)
        if not module_name:
            continue
        try:
            spec = importlib.util.find_spec(module_name)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.submodule_search_locations:
            continue
        packages.append((module_name, [Path(p) for p in spec.submodule_search_locations]))
    _packages_cache.clear()
    _packages_cache[cache_key] = packages
    return packages


def migration_fingerprint() -> str:
    """Return a hash of every migration file of the installed apps (names and contents).

    As a side effect, a migration module whose file changed since the last
    call (or that was imported before this module first looked at it) is
    removed from ``sys.modules``, with its bytecode cache when it changed, so
    that the next migration loader imports the file as it is now.
    """
    digest = hashlib.sha256()
    changed_listing = False
    for module_name, folders in _migration_packages():
        digest.update(module_name.encode() + b"\0")
        for folder in folders:
            entries = sorted(
                (e for e in os.scandir(folder) if e.name.endswith(".py") and e.is_file()),
                key=lambda e: e.name,
            )
            for entry in entries:
                path = Path(entry.path)
                key = entry.path
                stat = entry.stat()
                signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
                previous = _file_digests.get(key)
                if previous is not None and _file_stats.get(key) == signature:
                    digest.update(path.name.encode() + b"\0" + previous.encode())
                    continue  # unchanged since it was last read: no need to read it again
                _file_stats[key] = signature
                file_digest = hashlib.sha256(path.read_bytes()).hexdigest()
                digest.update(path.name.encode() + b"\0" + file_digest.encode())
                if previous == file_digest:
                    continue
                if previous is None:
                    changed_listing = True
                _file_digests[key] = file_digest
                if path.stem == "__init__":
                    continue
                sys.modules.pop(f"{module_name}.{path.stem}", None)
                if previous is not None:
                    with contextlib.suppress(OSError, NotImplementedError):
                        Path(importlib.util.cache_from_source(str(path))).unlink()
    if changed_listing:
        importlib.invalidate_caches()
    return digest.hexdigest()


def _changed_files(migrations: Iterable[Migration]) -> list[str]:
    """The files of ``migrations`` that changed since :func:`migration_fingerprint` read them."""
    changed = []
    for migration in migrations:
        module = sys.modules.get(type(migration).__module__)
        path = getattr(module, "__file__", None)
        if not path:
            continue
        try:
            stat = os.stat(path)
        except OSError:
            changed.append(Path(path).name)
            continue
        if _file_stats.get(path) != (stat.st_mtime_ns, stat.st_size, stat.st_ino):
            changed.append(Path(path).name)
    return changed


# --- targets ----------------------------------------------------------------------------------


_TARGET_HELP = (
    "a target is (app_label, migration_name), e.g. ('roster', '0002_person_name'), or "
    "'roster.0002_person_name'; ('roster', None) or 'roster.zero' for no migration of the app; "
    "several targets in a list"
)


def _as_target(item: object) -> tuple[str, str | None]:
    """One target, checked for its shape (not yet against the migration files)."""
    if isinstance(item, str):
        app_label, dot, name = item.partition(".")
        if not dot:
            raise MigrationTargetError(
                f"Migration target {item!r} names an app, not a migration: write "
                f"'{item}.<migration name>' (or '{item}.zero' for none of its migrations); {_TARGET_HELP}."
            )
        if not app_label or not name:
            missing = "the app label" if not app_label else "the migration name after the dot"
            raise MigrationTargetError(
                f"Migration target {item!r} is incomplete: {missing} is missing; {_TARGET_HELP}."
            )
        return app_label, name
    if isinstance(item, tuple | list):
        if len(item) != 2:
            raise MigrationTargetError(
                f"Migration target {tuple(item)!r} has {len(item)} part{'s' if len(item) != 1 else ''}, "
                f"not 2; {_TARGET_HELP}."
            )
        app_label, name = item
        if not isinstance(app_label, str) or not app_label:
            raise MigrationTargetError(f"Migration target {tuple(item)!r}: the app label must be a "
                                       f"non-empty string; {_TARGET_HELP}.")  # fmt: skip
        if name is not None and (not isinstance(name, str) or not name):
            raise MigrationTargetError(
                f"Migration target {tuple(item)!r}: the migration name must be a non-empty string "
                f"(or None for zero); {_TARGET_HELP}."
            )
        return app_label, name
    raise MigrationTargetError(f"Migration target {item!r} is not a target: {_TARGET_HELP}.")


def _as_target_list(targets: Targets) -> list[tuple[str, str | None]]:
    """The targets as a list of ``(app_label, name or None)``, or :class:`MigrationTargetError`."""
    if targets is None:
        raise MigrationTargetError(f"No migration target given (None): {_TARGET_HELP}.")
    if isinstance(targets, str):
        return [_as_target(targets)]
    if isinstance(targets, tuple) and len(targets) == 2 and not isinstance(targets[0], tuple | list):
        return [_as_target(targets)]  # one (app_label, name)
    if isinstance(targets, tuple) and len(targets) < 2 and all(isinstance(t, str) for t in targets):
        return [_as_target(targets)]  # ('roster',): a target missing its migration name
    if not isinstance(targets, tuple | list):
        raise MigrationTargetError(f"Migration targets {targets!r} are not targets: {_TARGET_HELP}.")
    result = [_as_target(item) for item in targets]
    if not result:
        raise MigrationTargetError(f"No migration target given (an empty list): {_TARGET_HELP}.")
    apps = [app_label for app_label, _ in result]
    twice = sorted({a for a in apps if apps.count(a) > 1})
    if twice:
        raise MigrationTargetError(
            f"More than one target for app {', '.join(map(repr, twice))}: give one migration per app."
        )
    return result


def _resolve(loader: MigrationLoader, targets: Targets) -> list[tuple[str, str | None]]:
    """Check ``targets`` against the migration files; return them with full migration names."""
    return [
        resolve_target(loader, app_label, name, fresh_database=True)
        for app_label, name in _as_target_list(targets)
    ]


def _describe(targets: Iterable[tuple[str, str | None]]) -> str:
    return ", ".join(f"{a}.{n}" if n else f"{a} (zero)" for a, n in targets)


# --- databases --------------------------------------------------------------------------------


def _database_identity(wrapper: BaseDatabaseWrapper) -> str:
    s = wrapper.settings_dict
    return "|".join(str(s.get(k, "")) for k in ("ENGINE", "HOST", "PORT", "NAME")) + f"|{wrapper.alias}"


def _new_wrapper(template: BaseDatabaseWrapper, name: str) -> BaseDatabaseWrapper:
    """A new, unconnected connection configured like ``template`` but on database ``name``."""
    settings_dict = copy.deepcopy(template.settings_dict)
    settings_dict["NAME"] = name
    backend = load_backend(settings_dict["ENGINE"])
    return backend.DatabaseWrapper(settings_dict, template.alias)


def _really_close(wrapper: BaseDatabaseWrapper) -> None:
    """Close a connection, even an in-memory SQLite one (whose ``close()`` is a no-op)."""
    with contextlib.suppress(Exception):
        BaseDatabaseWrapper.close(wrapper)


class _Backend:
    """How snapshots are kept and restored on one kind of database."""

    #: Whether a test runs inside a transaction of the snapshot database, rolled back after.
    rolls_back = False

    def __init__(self, original: BaseDatabaseWrapper) -> None:
        self.original = original

    def fresh(self) -> BaseDatabaseWrapper:  # pragma: no cover - interface
        """An empty scratch database, connected."""
        raise NotImplementedError

    def keep(self, wrapper: BaseDatabaseWrapper, key: str) -> Any:  # pragma: no cover - interface
        """Turn the migrated scratch ``wrapper`` into a snapshot; return its handle."""
        raise NotImplementedError

    def restore(self, snapshot: Any) -> BaseDatabaseWrapper:  # pragma: no cover - interface
        """A connection to a database holding ``snapshot`` (a copy, or the snapshot in a transaction)."""
        raise NotImplementedError

    def release(self, wrapper: BaseDatabaseWrapper) -> None:  # pragma: no cover - interface
        """The test is over: close (and remove) what :meth:`restore` gave."""
        raise NotImplementedError

    def drop_snapshot(self, snapshot: Any) -> None:  # pragma: no cover - interface
        """Free a snapshot."""
        raise NotImplementedError

    def load_kept(self, kept: _Kept, key: str) -> Any | None:  # pragma: no cover - interface
        """A process snapshot made from the kept snapshot ``kept``, or ``None`` when there is none."""
        raise NotImplementedError

    def publish(self, snapshot: Any, kept: _Kept) -> None:  # pragma: no cover - interface
        """Keep ``snapshot`` for later runs (atomically), and remove the stale ones of its group."""
        raise NotImplementedError

    def kept_location(self, kept: _Kept) -> str:  # pragma: no cover - interface
        """Where the kept snapshot ``kept`` is (a file, or a database's name)."""
        raise NotImplementedError

    def clear_kept(self) -> list[str]:  # pragma: no cover - interface
        """Remove every kept snapshot of this database's kind and place; return their names."""
        raise NotImplementedError


class _SqliteBackend(_Backend):
    """Scratch databases in memory; snapshots are in-memory copies made with SQLite's backup API."""

    def fresh(self) -> BaseDatabaseWrapper:
        wrapper = _new_wrapper(self.original, ":memory:")
        wrapper.ensure_connection()
        return wrapper

    def keep(self, wrapper: BaseDatabaseWrapper, key: str) -> sqlite3.Connection:
        copy_ = sqlite3.connect(":memory:", check_same_thread=False)
        wrapper.connection.backup(copy_)
        self.release(wrapper)
        return copy_

    def restore(self, snapshot: sqlite3.Connection) -> BaseDatabaseWrapper:
        wrapper = self.fresh()
        snapshot.backup(wrapper.connection)
        return wrapper

    def release(self, wrapper: BaseDatabaseWrapper) -> None:
        _really_close(wrapper)

    def drop_snapshot(self, snapshot: sqlite3.Connection) -> None:
        snapshot.close()

    def kept_dir(self) -> Path:
        """Where kept snapshots go: ``MIGRATION_HARNESS_DIR``, else next to the database file.

        A database in memory (pytest-django's default test database) has no
        folder: then a folder of the user's in the system's temporary folder.
        """
        from django.conf import settings

        configured = getattr(settings, "MIGRATION_HARNESS_DIR", None)
        if configured:
            return Path(configured)
        s = self.original.settings_dict
        for name in ((s.get("TEST") or {}).get("NAME"), s.get("NAME")):
            if name and not self.original.creation.is_in_memory_db(name):  # type: ignore[attr-defined]  # SQLite's
                return Path(name).resolve().parent / ".migration_harness"
        uid = os.getuid() if hasattr(os, "getuid") else "user"
        return Path(tempfile.gettempdir()) / f"migration_harness-{uid}"

    def _kept_path(self, kept: _Kept) -> Path:
        return self.kept_dir() / f"{kept.group[:12]}-{kept.key[:40]}.sqlite3"

    def kept_location(self, kept: _Kept) -> str:
        return str(self._kept_path(kept))

    def load_kept(self, kept: _Kept, key: str) -> sqlite3.Connection | None:
        path = self._kept_path(kept)
        if not path.is_file():
            return None
        copy_ = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            source = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
            try:
                source.backup(copy_)
            finally:
                source.close()
            rows = set(copy_.execute("SELECT app, name FROM django_migrations").fetchall())
        except sqlite3.Error:
            rows = set()
        if not kept.applied <= rows:  # not what its name says: never used, rebuilt
            copy_.close()
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return copy_

    def publish(self, snapshot: sqlite3.Connection, kept: _Kept) -> None:
        folder = self.kept_dir()
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():  # a snapshot holds rows: never a file to commit
            with contextlib.suppress(OSError):
                ignore.write_text("*\n")
        final = self._kept_path(kept)
        building = folder / f".building-{os.getpid()}-{secrets.token_hex(4)}.sqlite3"
        try:
            target = sqlite3.connect(building)
            try:
                snapshot.backup(target)
            finally:
                target.close()
            os.replace(building, final)  # atomic: a reader sees the old file or the whole new one
        finally:
            with contextlib.suppress(OSError):
                building.unlink()
        for other in folder.glob(f"{kept.group[:12]}-*.sqlite3"):
            if other != final:  # same database, targets and signals, other files or Django: stale
                with contextlib.suppress(OSError):
                    other.unlink()
        for leftover in folder.glob(".building-*.sqlite3"):  # of a killed run
            pid = leftover.name.split("-")[1]
            if pid.isdigit() and not pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    leftover.unlink()

    def clear_kept(self) -> list[str]:
        folder = self.kept_dir()
        removed = []
        for path in sorted(folder.glob("*.sqlite3")) + sorted(folder.glob(".building-*.sqlite3")):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(str(path))
        return removed


_token: dict[int, str] = {}


def _process_token() -> str:
    """A short random token of this process (a new one in a forked child)."""
    return _token.setdefault(os.getpid(), secrets.token_hex(3))


_pg_swept: set[str] = set()
#: Every harness database of this process (PostgreSQL, MySQL) -> its settings, to drop it at exit.
_pg_databases: dict[str, dict[str, Any]] = {}
_pg_pool: dict[tuple[int, str], BaseDatabaseWrapper] = {}  # (thread, database) -> open connection

#: The comment on every database the harness creates on PostgreSQL: this mark, then its owner.
OWNER_MARK = "migration_harness owner"
#: The comment on a kept snapshot database (one that outlives the run): this mark, then its key.
#: The dead-owner sweep never matches it; a newer snapshot of the same group replaces it.
KEPT_MARK = "migration_harness kept"
_OWNER_FIELDS = re.compile(r"pid=(\d+) host=(\S*) boot=(\S*) start=(\S*)")


def _boot_id() -> str:
    """The machine's boot id (Linux), so that a pid from before a reboot is never taken as alive."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "-"


def _process_start(pid: int) -> str:
    """When process ``pid`` started (Linux: clock ticks since boot), so that a reused pid is told apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "-"
    return stat[stat.rindex(")") + 2 :].split()[19]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._:-]", "-", text)[:64] or "-"


def _owner_mark() -> str:
    """The owner mark of this process: ``migration_harness owner pid=... host=... boot=... start=...``."""
    pid = os.getpid()
    return (
        f"{OWNER_MARK} pid={pid} host={_safe(socket.gethostname())} boot={_safe(_boot_id())} "
        f"start={_safe(_process_start(pid))}"
    )


def owner_alive(mark: str) -> bool:
    """Whether the process that wrote the owner ``mark`` may still be running.

    Only a process of this machine (same host name and boot) can be known to
    be gone: its pid no longer runs, or runs a process started at another
    time (a reused pid). A mark of another machine is always taken as alive.
    """
    match = _OWNER_FIELDS.search(mark)
    if match is None:
        return True
    pid, host, boot, start = int(match[1]), match[2], match[3], match[4]
    if host != _safe(socket.gethostname()):
        return True
    if boot != _safe(_boot_id()):
        return False  # this machine restarted since: every process of then is gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return start == "-" or _safe(_process_start(pid)) in (start, "-")


class _ServerBackend(_Backend):
    """What the server backends (PostgreSQL, MySQL) share: a build database made on the server.

    Subclasses set ``original``, ``prefix`` and ``swept`` and give ``_admin``, ``_drop``,
    ``_create`` and ``_marked``.
    """

    original: BaseDatabaseWrapper
    prefix: str
    swept: set[str]  # servers this process has swept (the module's set of the vendor)

    def _admin(self) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def _drop(self, cursor: Any, name: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _create(self, cursor: Any, name: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _marked(self, cursor: Any, prefix: str) -> dict[str, str]:  # pragma: no cover - interface
        """The server's databases whose comment starts with ``prefix``: name -> comment."""
        raise NotImplementedError

    def _sweep(self) -> None:
        """Drop the harness databases of processes that are gone (once per process and server)."""
        s = self.original.settings_dict
        server = f"{s.get('HOST')}|{s.get('PORT')}"
        if server in self.swept:
            return
        self.swept.add(server)
        with self._admin() as cursor:
            for name, mark in self._marked(cursor, f"{OWNER_MARK} ").items():
                if not owner_alive(mark):
                    self._drop(cursor, name)

    def _connect(self, name: str) -> BaseDatabaseWrapper:
        wrapper = _new_wrapper(self.original, name)
        wrapper.ensure_connection()
        return wrapper

    def fresh(self) -> BaseDatabaseWrapper:
        name = f"{self.prefix}build"
        with self._admin() as cursor:
            self._drop(cursor, name)
            self._create(cursor, name)
        return self._connect(name)


class _PostgresBackend(_ServerBackend):
    """Snapshots are databases next to the test database, ``<test db>_mh<token>_<key>``.

    With ``rolls_back`` (the default), a test connects to the snapshot database
    itself, inside a transaction that is rolled back at the end (PostgreSQL's
    DDL is transactional, so the migrations are undone too; sequences are not,
    as in Django's ``TestCase``). Otherwise (some migration after the start
    point is non-atomic, or ``isolation="copy"``) each test gets a copy,
    ``<test db>_mh<token>_work``, made with ``CREATE DATABASE ... TEMPLATE``.

    Every database it creates belongs to this process: ``<token>`` is random
    per process, and ``COMMENT ON DATABASE`` holds the owner mark
    (:data:`OWNER_MARK`, pid, host, boot id, process start). The sweep at the
    first use in a process drops only the harness databases whose owner is
    gone (a killed test run), never those of a run still going on.
    """

    swept = _pg_swept

    def __init__(self, original: BaseDatabaseWrapper, *, rolls_back: bool = True) -> None:
        super().__init__(original)
        self.rolls_back = rolls_back
        full = str(original.settings_dict["NAME"])
        tag = hashlib.sha256(f"{full}|{original.alias}".encode()).hexdigest()[:4]
        self.prefix = f"{full[:30]}_mh{_process_token()}{tag}_"
        self.work_name = f"{self.prefix}work"
        self._sweep()

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Any]:
        with self.original._nodb_cursor() as cursor:
            yield cursor

    def _drop(self, cursor: Any, name: str) -> None:
        for key in [k for k in _pg_pool if k[1] == name]:
            _really_close(_pg_pool.pop(key))
        cursor.execute(f"DROP DATABASE IF EXISTS {self.original.ops.quote_name(name)} WITH (FORCE)")

    def _create(self, cursor: Any, name: str, template: str | None = None) -> None:
        """Create database ``name`` (a copy of ``template``), marked as this process's."""
        qn = self.original.ops.quote_name
        cursor.execute(f"CREATE DATABASE {qn(name)}" + (f" TEMPLATE {qn(template)}" if template else ""))
        cursor.execute(f"COMMENT ON DATABASE {qn(name)} IS '{_owner_mark()}'")  # only [A-Za-z0-9._:= -]

    def _marked(self, cursor: Any, prefix: str) -> dict[str, str]:
        cursor.execute(
            "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE shobj_description(oid, 'pg_database') LIKE %s ORDER BY datname",
            [f"{prefix}%"],
        )
        return dict(cursor.fetchall())

    def keep(self, wrapper: BaseDatabaseWrapper, key: str) -> str:
        _really_close(wrapper)
        snapshot = f"{self.prefix}{key[:12]}"
        qn = self.original.ops.quote_name
        with self._admin() as cursor:
            self._drop(cursor, snapshot)
            cursor.execute(f"ALTER DATABASE {qn(wrapper.settings_dict['NAME'])} RENAME TO {qn(snapshot)}")
        _pg_databases[snapshot] = dict(self.original.settings_dict)
        return snapshot

    def restore(self, snapshot: str) -> BaseDatabaseWrapper:
        if self.rolls_back:
            pooled = _pg_pool.pop((threading.get_ident(), snapshot), None)
            if pooled is not None and pooled.is_usable() and pooled.get_autocommit():
                return pooled
            if pooled is not None:
                _really_close(pooled)
            return self._connect(snapshot)
        with self._admin() as cursor:
            for key in [k for k in _pg_pool if k[1] == snapshot]:  # a template must have no session
                _really_close(_pg_pool.pop(key))
            self._drop(cursor, self.work_name)
            self._create(cursor, self.work_name, snapshot)
        return self._connect(self.work_name)

    def release(self, wrapper: BaseDatabaseWrapper) -> None:
        name = wrapper.settings_dict["NAME"]
        if name in _pg_databases:
            if wrapper.connection is not None and wrapper.get_autocommit():
                _pg_pool[(threading.get_ident(), name)] = wrapper  # rolled back: reuse it next test
            else:
                _really_close(wrapper)
            return
        _really_close(wrapper)
        with self._admin() as cursor:  # a copy, or a snapshot that failed to build
            self._drop(cursor, name)

    def drop_snapshot(self, snapshot: str) -> None:
        with contextlib.suppress(Exception), self._admin() as cursor:
            self._drop(cursor, snapshot)
        _pg_databases.pop(snapshot, None)

    @staticmethod
    def kept_name(kept: _Kept) -> str:
        """The kept snapshot database: ``mh_kept_<group>_<key>`` (63 characters at most)."""
        return f"mh_kept_{kept.group[:10]}_{kept.key[:40]}"

    def kept_location(self, kept: _Kept) -> str:
        return self.kept_name(kept)

    def _kept_marks(self, cursor: Any, group: str | None = None) -> dict[str, str]:
        pattern = f"{KEPT_MARK} group={group[:10]} %" if group else f"{KEPT_MARK} %"
        cursor.execute(
            "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE shobj_description(oid, 'pg_database') LIKE %s ORDER BY datname",
            [pattern],
        )
        return dict(cursor.fetchall())

    def load_kept(self, kept: _Kept, key: str) -> str | None:
        name = self.kept_name(kept)
        local = f"{self.prefix}{key[:12]}"
        with self._admin() as cursor:
            if self._kept_marks(cursor, kept.group).get(name) != kept.mark():
                return None  # none, or not what its name says (a half-published one): rebuilt
            self._drop(cursor, local)
            for attempt in range(20):
                try:
                    self._create(cursor, local, name)  # a copy of this process's; the template stays free
                    break
                except Exception as exc:  # another process is dropping or renaming it just now
                    if attempt == 19 or "being accessed" not in str(exc):
                        return None
                    time.sleep(0.05 * (attempt + 1))
        _pg_databases[local] = dict(self.original.settings_dict)
        return local

    def publish(self, snapshot: str, kept: _Kept) -> None:
        name = self.kept_name(kept)
        qn = self.original.ops.quote_name
        building = f"{self.prefix}publish"
        for key in [k for k in _pg_pool if k[1] == snapshot]:  # a template must have no session
            _really_close(_pg_pool.pop(key))
        with self._admin() as cursor:
            self._drop(cursor, building)
            self._create(cursor, building, snapshot)  # owner-marked: swept if this process dies now
            try:
                # Atomic: another process sees no database of that name, or the whole snapshot.
                cursor.execute(f"ALTER DATABASE {qn(building)} RENAME TO {qn(name)}")
            except Exception:  # another process published the same snapshot first: use theirs
                self._drop(cursor, building)
                return
            cursor.execute(f"COMMENT ON DATABASE {qn(name)} IS '{kept.mark()}'")  # only [A-Za-z0-9.=_ -]
            for other in self._kept_marks(cursor, kept.group):
                if other != name:  # same server, targets and signals, other files or Django: stale
                    with contextlib.suppress(Exception):
                        self._drop(cursor, other)

    def clear_kept(self) -> list[str]:
        with self._admin() as cursor:
            names = list(self._kept_marks(cursor))
            for name in names:
                self._drop(cursor, name)
        return names


_mysql_swept: set[str] = set()
_mysql_pool: dict[tuple[int, str], BaseDatabaseWrapper] = {}  # (thread, work database) -> connection
_mysql_tables: dict[str, dict[str, _MysqlTable]] = {}  # snapshot database -> its tables, read once
_AUTO_INCREMENT = re.compile(r" AUTO_INCREMENT=(\d+)")
#: A statement that waits longer than this for a lock (another session's) fails instead of hanging.
_MYSQL_LOCK_WAIT = 30


class SnapshotError(HarnessStateError):
    """A snapshot cannot be made faithfully on this database (the message says what to change)."""


@dataclass(frozen=True)
class _MysqlTable:
    """One table of a MySQL snapshot database, as a restore compares and copies it."""

    create: str  # its SHOW CREATE TABLE, AUTO_INCREMENT included
    shape: str  # the same without AUTO_INCREMENT=N: what a schema change changes
    checksum: int | None  # CHECKSUM TABLE: what a change to its rows changes
    columns: str  # the columns an INSERT ... SELECT copies (generated ones are computed), quoted


def _mysql_errno(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


class _MysqlBackend(_ServerBackend):
    """Snapshots are databases next to the test database, ``<test db>_mh<token>_<key>`` (MariaDB).

    MySQL has neither transactional DDL (every ``ALTER`` commits at once, so a
    test cannot be rolled back) nor ``CREATE DATABASE ... TEMPLATE``. A snapshot
    is a database the migrations built (its tables moved there with one
    ``RENAME TABLE``), never written again. Each test works in one database of
    this process, ``<test db>_mh<token>_work``, which :meth:`restore` makes
    equal to the snapshot by repairing only what the last test changed:

    * tables that are not in the snapshot (created by a migration) are dropped;
    * tables whose ``SHOW CREATE TABLE`` (``AUTO_INCREMENT`` aside) differs
      from the snapshot's (altered, half-altered by a failed migration,
      renamed, dropped) are dropped and created again from the snapshot's
      statement, then filled with ``INSERT ... SELECT``;
    * tables of the same shape whose ``CHECKSUM TABLE`` differs get their
      rows back (``DELETE``, then ``INSERT ... SELECT``);
    * the other tables are not touched.

    ``AUTO_INCREMENT`` counters are not put back (as sequences in PostgreSQL's
    rolled-back tests, and in Django's ``TestCase``): a new row's id follows
    the last test's. Resetting one is DDL (``TRUNCATE``, ``ALTER TABLE``),
    which costs as much as the rest of a test's restore several times over
    (measured: 10-30 ms a statement on a loaded machine, against 0.3 ms for
    ``DELETE`` and ``INSERT ... SELECT``).

    Foreign key checks are off for the repair only (that session). A work
    database holding a view, trigger, routine or event (a ``RunSQL``) is made
    again from scratch; a snapshot holding one is refused
    (:class:`SnapshotError`): the table copy would not carry it. The
    checksums are MySQL's 32-bit ones: two different contents of a table of
    the same shape compare equal with a chance of about 1 in 2**32.

    Owner marks are database comments (``CREATE DATABASE ... COMMENT``,
    MariaDB 10.5 and later), as on PostgreSQL; the first harness of a process
    drops only the harness databases whose owner is gone.
    """

    swept = _mysql_swept

    def __init__(self, original: BaseDatabaseWrapper) -> None:
        super().__init__(original)
        full = str(original.settings_dict["NAME"])
        tag = hashlib.sha256(f"{full}|{original.alias}".encode()).hexdigest()[:4]
        self.prefix = f"{full[:30]}_mh{_process_token()}{tag}_"  # 44 characters at most: + 12 < 64
        self.work_name = f"{self.prefix}work"
        self._check_server()
        self._sweep()

    def _check_server(self) -> None:
        """Refuse a server without database comments (Oracle MySQL; MariaDB before 10.5)."""
        s = self.original.settings_dict
        server = f"{s.get('HOST')}|{s.get('PORT')}"
        if server in self.swept:  # checked with the sweep, once per process and server
            return
        with self._admin() as cursor:  # not the connection's own: its database need not exist
            cursor.execute("SELECT VERSION()")
            version = str(cursor.fetchone()[0])
        numbers = tuple(int(n) for n in re.findall(r"\d+", version.split("-")[0])[:2])
        if "mariadb" in version.lower() and numbers >= (10, 5):
            return
        kind = "MariaDB" if "mariadb" in version.lower() else "MySQL"
        raise ImproperlyConfigured(
            f"The migration harness on MySQL needs MariaDB 10.5 or later (database {self.original.alias!r} "
            f"is {kind} {version}): it marks each snapshot database with its owner process in "
            "CREATE DATABASE ... COMMENT, which this server does not have, so that a test run never "
            "drops another run's snapshots. Run the harness tests on MariaDB, PostgreSQL or SQLite."
        )

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Any]:
        with self.original._nodb_cursor() as cursor:
            cursor.execute(f"SET SESSION lock_wait_timeout = {_MYSQL_LOCK_WAIT}")
            yield cursor

    def _qn(self, name: str) -> str:
        return str(self.original.ops.quote_name(name))

    def _drop(self, cursor: Any, name: str) -> None:
        for key in [k for k in _mysql_pool if k[1] == name]:
            _really_close(_mysql_pool.pop(key))
        cursor.execute(f"DROP DATABASE IF EXISTS {self._qn(name)}")
        _mysql_tables.pop(name, None)
        _pg_databases.pop(name, None)

    def _create(self, cursor: Any, name: str) -> None:
        """Create database ``name`` (the test database's character set), marked as this process's."""
        suffix = self.original.creation.sql_table_creation_suffix()
        cursor.execute(f"CREATE DATABASE {self._qn(name)} {suffix} COMMENT %s", [_owner_mark()])
        _pg_databases[name] = dict(self.original.settings_dict)  # dropped at exit

    def _marked(self, cursor: Any, prefix: str) -> dict[str, str]:
        cursor.execute(
            "SELECT schema_name, schema_comment FROM information_schema.schemata "
            "WHERE schema_comment LIKE %s ORDER BY schema_name",
            [f"{prefix}%"],
        )
        return dict(cursor.fetchall())


    # -- reading and copying tables

    def _extras(self, cursor: Any, schema: str) -> list[str]:
        """The views, sequences, triggers, routines and events of ``schema`` (a table copy loses them)."""
        cursor.execute(
            "SELECT CONCAT(LOWER(table_type), ' ', table_name) FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type <> 'BASE TABLE' "
            "UNION ALL SELECT CONCAT('trigger ', trigger_name) FROM information_schema.triggers "
            "WHERE trigger_schema = %s "
            "UNION ALL SELECT CONCAT(LOWER(routine_type), ' ', routine_name) "
            "FROM information_schema.routines WHERE routine_schema = %s "
            "UNION ALL SELECT CONCAT('event ', event_name) FROM information_schema.events "
            "WHERE event_schema = %s",
            [schema] * 4,
        )
        return sorted(row[0] for row in cursor.fetchall())

    def _table_names(self, cursor: Any, schema: str) -> list[str]:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_type = 'BASE TABLE' ORDER BY table_name",
            [schema],
        )
        return [row[0] for row in cursor.fetchall()]

    def _show_create(self, cursor: Any, schema: str, table: str) -> tuple[str, str]:
        """The table's ``SHOW CREATE TABLE``, and the same without its ``AUTO_INCREMENT`` counter."""
        cursor.execute(f"SHOW CREATE TABLE {self._qn(schema)}.{self._qn(table)}")
        create = cursor.fetchone()[1]
        return create, _AUTO_INCREMENT.sub("", create)

    def _checksums(self, cursor: Any, schema: str, tables: Sequence[str]) -> list[int | None]:
        if not tables:
            return []
        cursor.execute("CHECKSUM TABLE " + ", ".join(f"{self._qn(schema)}.{self._qn(t)}" for t in tables))
        return [row[1] for row in cursor.fetchall()]  # in the order asked

    def _describe(self, cursor: Any, snapshot: str) -> dict[str, _MysqlTable]:
        """Read the snapshot database's tables once (it never changes)."""
        extras = self._extras(cursor, snapshot)
        if extras:
            raise SnapshotError(
                f"The migrations before the harness's start point create {', '.join(extras)}: the MySQL "
                "snapshot copies tables (SHOW CREATE TABLE, INSERT ... SELECT) and would lose them. "
                "Start the harness after the migration that creates them is undone, or test this "
                "migration on PostgreSQL or SQLite, whose snapshots copy the whole database."
            )
        names = self._table_names(cursor, snapshot)
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s "
            "AND extra NOT LIKE %s ORDER BY table_name, ordinal_position",
            [snapshot, "%GENERATED%"],
        )
        columns: dict[str, list[str]] = {}
        for table, column in cursor.fetchall():
            columns.setdefault(table, []).append(self._qn(column))
        checksums = self._checksums(cursor, snapshot, names)
        tables = {}
        for name, checksum in zip(names, checksums, strict=True):
            create, shape = self._show_create(cursor, snapshot, name)
            tables[name] = _MysqlTable(create, shape, checksum, ", ".join(columns.get(name, [])))
        _mysql_tables[snapshot] = tables
        return tables

    def _fill(self, cursor: Any, source: str, target: str, name: str, table: _MysqlTable) -> None:
        if table.columns:
            src, dst = f"{self._qn(source)}.{self._qn(name)}", f"{self._qn(target)}.{self._qn(name)}"
            cursor.execute(f"INSERT INTO {dst} ({table.columns}) SELECT {table.columns} FROM {src}")  # noqa: S608 (quoted)

    def _copy(self, cursor: Any, source: str, target: str) -> None:
        """Create every table of snapshot ``source`` in the (empty) database ``target``, rows included."""
        tables = _mysql_tables.get(source) or self._describe(cursor, source)
        cursor.execute(f"USE {self._qn(target)}")  # the statements name their tables (and references) bare
        cursor.execute("SET SESSION foreign_key_checks = 0")
        try:
            for name, table in tables.items():
                cursor.execute(table.create)
                self._fill(cursor, source, target, name, table)
        finally:
            cursor.execute("SET SESSION foreign_key_checks = 1")

    # -- the backend interface

    def keep(self, wrapper: BaseDatabaseWrapper, key: str) -> str:
        build = str(wrapper.settings_dict["NAME"])
        _really_close(wrapper)
        snapshot = f"{self.prefix}{key[:12]}"
        with self._admin() as cursor:
            try:
                extras = self._extras(cursor, build)
                if extras:
                    self._describe(cursor, build)  # raises SnapshotError, saying what
                self._drop(cursor, snapshot)
                self._create(cursor, snapshot)
                names = self._table_names(cursor, build)
                if names:  # one statement, metadata only: the foreign keys follow their tables
                    src, dst = self._qn(build), self._qn(snapshot)
                    moves = [f"{src}.{self._qn(n)} TO {dst}.{self._qn(n)}" for n in names]
                    cursor.execute("RENAME TABLE " + ", ".join(moves))
                self._describe(cursor, snapshot)
            except BaseException:
                self._drop(cursor, snapshot)
                raise
            finally:
                self._drop(cursor, build)
        return snapshot

    def restore(self, snapshot: str) -> BaseDatabaseWrapper:
        key = (threading.get_ident(), self.work_name)
        wrapper = _mysql_pool.pop(key, None)
        if wrapper is not None:
            try:
                if not wrapper.is_usable():
                    raise RuntimeError("the pooled connection is gone")
                self._repair(wrapper, snapshot)
                return wrapper
            except Exception:  # anything unexpected: the work database is made again
                _really_close(wrapper)
        with self._admin() as cursor:
            self._drop(cursor, self.work_name)
            self._create(cursor, self.work_name)
            self._copy(cursor, snapshot, self.work_name)
        return self._connect(self.work_name)

    def _repair(self, wrapper: BaseDatabaseWrapper, snapshot: str) -> None:
        """Make the work database equal to ``snapshot`` again, touching only what differs."""
        tables = _mysql_tables.get(snapshot)
        if tables is None:
            with self._admin() as cursor:
                tables = self._describe(cursor, snapshot)
        work, qn = self.work_name, self._qn
        with wrapper.cursor() as cursor:
            cursor.execute(f"SET SESSION lock_wait_timeout = {_MYSQL_LOCK_WAIT}")
            if self._extras(cursor, work):  # a RunSQL's view or trigger: not a table to compare
                raise RuntimeError("the work database holds more than tables")
            present = set(self._table_names(cursor, work))
            drop = present - tables.keys()
            create = tables.keys() - present
            same = []
            for name in sorted(present & tables.keys()):
                if self._show_create(cursor, work, name)[1] != tables[name].shape:
                    drop.add(name)
                    create.add(name)
                else:
                    same.append(name)
            checksums = self._checksums(cursor, work, same)
            refill = [name for name, checksum in zip(same, checksums, strict=True)
                      if checksum != tables[name].checksum]  # fmt: skip
            if not (drop or create or refill):
                return
            cursor.execute(f"USE {qn(work)}")
            cursor.execute("SET SESSION foreign_key_checks = 0")
            try:
                if drop:
                    cursor.execute("DROP TABLE " + ", ".join(f"{qn(work)}.{qn(n)}" for n in sorted(drop)))
                for name in sorted(create):
                    cursor.execute(tables[name].create)
                    self._fill(cursor, snapshot, work, name, tables[name])
                for name in refill:
                    cursor.execute(f"DELETE FROM {qn(work)}.{qn(name)}")  # noqa: S608 (quoted)
                    self._fill(cursor, snapshot, work, name, tables[name])
            finally:
                cursor.execute("SET SESSION foreign_key_checks = 1")

    def release(self, wrapper: BaseDatabaseWrapper) -> None:
        name = str(wrapper.settings_dict["NAME"])
        if name == self.work_name:
            if wrapper.connection is not None and wrapper.get_autocommit() and not wrapper.in_atomic_block:
                _mysql_pool[(threading.get_ident(), name)] = wrapper  # repaired, not made again, next test
            else:
                _really_close(wrapper)
            return
        _really_close(wrapper)
        with self._admin() as cursor:  # a snapshot that failed to build
            self._drop(cursor, name)

    def drop_snapshot(self, snapshot: str) -> None:
        with contextlib.suppress(Exception), self._admin() as cursor:
            self._drop(cursor, snapshot)

    kept_name = staticmethod(_PostgresBackend.kept_name)

    def kept_location(self, kept: _Kept) -> str:
        return self.kept_name(kept)

    def load_kept(self, kept: _Kept, key: str) -> str | None:
        name = self.kept_name(kept)
        local = f"{self.prefix}{key[:12]}"
        with self._admin() as cursor:
            if self._marked(cursor, f"{KEPT_MARK} group={kept.group[:10]} ").get(name) != kept.mark():
                return None  # none, or not published completely (still owner-marked): rebuilt
            try:
                cursor.execute(f"SELECT app, name FROM {self._qn(name)}.django_migrations")  # noqa: S608 (quoted)
                rows = set(cursor.fetchall())
            except Exception:
                rows = set()
            if not kept.applied <= rows:  # not what its mark says: never used, rebuilt
                self._drop(cursor, name)
                return None
            self._drop(cursor, local)
            self._create(cursor, local)
            try:
                self._describe(cursor, name)
                self._copy(cursor, name, local)
                _mysql_tables.pop(name, None)
                self._describe(cursor, local)
            except Exception:  # another run removed it meanwhile (stale to it, or --harness-clear)
                self._drop(cursor, local)
                _mysql_tables.pop(name, None)
                return None
        return local

    def publish(self, snapshot: str, kept: _Kept) -> None:
        name = self.kept_name(kept)
        with self._admin() as cursor:
            try:
                self._create(cursor, name)  # owner-marked while filled: swept if this process dies now
            except Exception as exc:
                if _mysql_errno(exc) != 1007:
                    raise
                # It exists: another run published it, or is publishing it now (its owner's mark),
                # or died doing so (a dead owner's mark): only that last one is replaced.
                mark = self._marked(cursor, "").get(name, "")
                if not mark.startswith(f"{OWNER_MARK} ") or owner_alive(mark):
                    return
                self._drop(cursor, name)
                self._create(cursor, name)
            _pg_databases.pop(name, None)  # outlives this process once published
            try:
                self._copy(cursor, snapshot, name)
                # The mark is the publication: a reader uses a kept database only when it names its key.
                cursor.execute(f"ALTER DATABASE {self._qn(name)} COMMENT %s", [kept.mark()])
            except BaseException:
                self._drop(cursor, name)
                raise
            for other in self._marked(cursor, f"{KEPT_MARK} group={kept.group[:10]} "):
                if other != name:  # same server, targets and signals, other files or Django: stale
                    with contextlib.suppress(Exception):
                        self._drop(cursor, other)

    def clear_kept(self) -> list[str]:
        with self._admin() as cursor:
            names = list(self._marked(cursor, f"{KEPT_MARK} "))
            for name in names:
                self._drop(cursor, name)
        return names


def _backend_for(original: BaseDatabaseWrapper, isolation: str) -> _Backend:
    if original.vendor == "sqlite":
        return _SqliteBackend(original)
    if original.vendor == "postgresql":
        return _PostgresBackend(original, rolls_back=isolation != "copy")
    if original.vendor == "mysql":
        if isolation == "transaction":
            raise ImproperlyConfigured(
                "isolation='transaction' cannot work on MySQL: it has no transactional DDL (each "
                "ALTER TABLE commits at once), so a test's migrations cannot be rolled back. Use "
                "'auto' or 'copy': the work database is repaired from the snapshot before each test."
            )
        return _MysqlBackend(original)
    raise ImproperlyConfigured(
        f"The migration harness supports SQLite, PostgreSQL and MySQL (MariaDB); database "
        f"{original.alias!r} is {original.vendor}."
    )


# --- snapshots --------------------------------------------------------------------------------


@dataclass
class _Snapshot:
    key: str
    group: str  # what it replaces when it is rebuilt: same database, targets and signals
    backend: _Backend
    handle: Any
    state: ProjectState
    later_all_atomic: bool = True  # every migration not applied in the snapshot is atomic
    applied: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class _Kept:
    """What a snapshot kept across runs is keyed on (see :func:`_kept_for`)."""

    key: str  # files' fingerprint, Django version, backend, plan, targets, signals
    group: str  # backend, targets, signals: a new key in a group makes the old one stale
    applied: frozenset[tuple[str, str]]

    def mark(self) -> str:
        return f"{KEPT_MARK} group={self.group[:10]} key={self.key[:40]} django={_safe(django.get_version())}"


#: Bump when what a kept snapshot holds changes meaning.
_KEPT_FORMAT = "1"


def _kept_for(
    original: BaseDatabaseWrapper, fingerprint: str, resolved: list[tuple[str, str | None]],
    plan_keys: list[tuple[str, str]], signals: bool,
) -> _Kept:  # fmt: skip
    """The key of a kept snapshot: not the database's name (the scratch database is the harness's own)."""
    s = original.settings_dict
    # The targets' migration folders: another checkout (or copy) of the project is another group,
    # so that its runs never remove this one's kept snapshots as stale.
    modules = {MigrationLoader.migrations_module(app_label)[0] for app_label, _ in resolved}
    folders = sorted(str(f) for name, found in _migration_packages() if name in modules for f in found)
    where = f"{original.vendor}|{folders!r}"
    if original.vendor != "sqlite":
        where += f"|{s.get('HOST')}|{s.get('PORT')}|{s.get('USER')}"
    text = f"{_KEPT_FORMAT}|{where}|{sorted(resolved, key=str)!r}|{signals}"
    group = hashlib.sha256(text.encode()).hexdigest()
    key = hashlib.sha256(f"{group}|{fingerprint}|{django.get_version()}|{plan_keys!r}".encode()).hexdigest()
    return _Kept(key, group, frozenset(plan_keys))


def reuse_enabled(reuse: bool | None = None) -> bool:
    """Whether snapshots are kept across runs: ``reuse`` if given, else ``settings.MIGRATION_HARNESS_REUSE``.

    The default is ``True``; the pytest option ``--harness-no-reuse`` turns it off for the fixture.
    """
    if reuse is not None:
        return reuse
    from django.conf import settings

    return bool(getattr(settings, "MIGRATION_HARNESS_REUSE", True))


def clear_kept_snapshots(database: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Remove every snapshot kept across runs for ``database`` (files or databases); return their names.

    SQLite: the ``*.sqlite3`` files of the kept-snapshot folder (``MIGRATION_HARNESS_DIR``,
    else ``.migration_harness/`` next to the database file, else a folder in the system's
    temporary folder). PostgreSQL and MySQL: every database of the server marked :data:`KEPT_MARK`.
    The snapshots of this process stay usable until it ends.
    """
    if database not in connections:
        raise ImproperlyConfigured(
            f"No database {database!r} in settings.DATABASES: use one of {', '.join(connections)}."
        )
    with _lock:
        original = _active[database]._original if database in _active else connections[database]
        assert original is not None
        return _backend_for(original, "auto").clear_kept()


_snapshots: dict[str, _Snapshot] = {}
_full_plans: dict[int, list[tuple[Migration, bool]]] = {}
_loaders: dict[str, MigrationLoader] = {}


def _disk_loader(fingerprint: str) -> MigrationLoader:
    """The migration graph of the files with this fingerprint (built once, without a database)."""
    loader = _loaders.get(fingerprint)
    if loader is None:
        _loaders.clear()
        loader = MigrationLoader(None, ignore_no_migrations=True)
        _loaders[fingerprint] = loader
    return loader


def _check_migrations_enabled() -> None:
    """Refuse to run when migrations are disabled for the session (pytest-django's ``--no-migrations``)."""
    from django.conf import settings

    if type(settings.MIGRATION_MODULES).__name__ == "DisableMigrations":
        raise ImproperlyConfigured(
            "Migrations are disabled in this process (settings.MIGRATION_MODULES is pytest-django's "
            "DisableMigrations: --no-migrations and a test that used the test database): the harness "
            "needs the migration files. Run the harness tests without --no-migrations, or in a run "
            "of their own (they do not need pytest-django's test database)."
        )


def _fresh_plan(
    loader: MigrationLoader, targets: list[tuple[str, str | None]]
) -> list[tuple[Migration, bool]]:
    """The plan ``migrate`` runs on an empty database to reach ``targets`` (no database read)."""
    executor = MigrationExecutor.__new__(MigrationExecutor)
    executor.loader = copy.copy(loader)
    executor.loader.applied_migrations = {}
    return executor.migration_plan(targets)


def drop_snapshots() -> None:
    """Free every snapshot of this process (PostgreSQL: drop the template databases)."""
    with _lock:
        while _snapshots:
            _, snapshot = _snapshots.popitem()
            with contextlib.suppress(Exception):
                snapshot.backend.drop_snapshot(snapshot.handle)


def _drop_templates_at_exit() -> None:
    """Drop this process's PostgreSQL snapshot databases (the connections may be gone)."""
    for pool in (_pg_pool, _mysql_pool):
        for key in list(pool):
            _really_close(pool.pop(key))
    for name, settings_dict in list(_pg_databases.items()):
        with contextlib.suppress(Exception):
            backend = load_backend(settings_dict["ENGINE"])
            admin = backend.DatabaseWrapper({**settings_dict, "NAME": None}, "__migration_harness__")
            force = " WITH (FORCE)" if admin.vendor == "postgresql" else ""
            with admin._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {admin.ops.quote_name(name)}{force}")


atexit.register(_drop_templates_at_exit)


# --- the harness ------------------------------------------------------------------------------

_active: dict[str, MigrationHarness] = {}

#: ``"auto"``: on PostgreSQL, a transaction rolled back after the test unless a migration
#: after the start point is non-atomic; ``"transaction"``: always that; ``"copy"``: a copy of
#: the snapshot database per test. SQLite always restores a copy (its backup API); MySQL
#: always repairs its work database ("transaction" is refused there: no transactional DDL).
ISOLATIONS = ("auto", "transaction", "copy")


class MigrationHarness:
    """Put a scratch database at migration X, then migrate it forwards or backwards, fast.

    ``database`` is the alias whose connection the harness stands in for
    (its test database settings are copied); ``signals`` says whether
    ``pre_migrate``/``post_migrate`` are sent as ``manage.py migrate`` sends
    them. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self, database: str = DEFAULT_DB_ALIAS, *, signals: bool = True, isolation: str = "auto",
        reuse: bool | None = None,
    ) -> None:  # fmt: skip
        """Prepare a harness for ``database``; nothing is touched before :meth:`start`.

        ``reuse``: keep snapshots across runs and use the kept ones (default:
        ``settings.MIGRATION_HARNESS_REUSE``, itself ``True`` when unset).
        """
        if database not in connections:
            raise ImproperlyConfigured(
                f"No database {database!r} in settings.DATABASES: use one of {', '.join(connections)}."
            )
        if isolation not in ISOLATIONS:
            raise ImproperlyConfigured(f"isolation={isolation!r}: choose one of {', '.join(ISOLATIONS)}.")
        self.database = database
        self.signals = signals
        self.isolation = isolation
        self.reuse = reuse
        self._atomic: Any = None
        #: Whether the last :meth:`start` ran the migrations to make its snapshot.
        self.snapshot_built = False
        #: Where the last :meth:`start`'s snapshot came from: ``"process"`` (made earlier in this
        #: process), ``"kept"`` (kept by an earlier run) or ``"built"`` (migrations run now).
        self.snapshot_source = ""
        #: The kept snapshot the last :meth:`start` used or wrote (a file, or a database's name);
        #: ``""`` when reuse is off or the snapshot came from this process.
        self.kept_location = ""
        self._original: BaseDatabaseWrapper | None = None
        self._backend: _Backend | None = None
        self._scratch: BaseDatabaseWrapper | None = None
        self._state: ProjectState | None = None
        self._loader: MigrationLoader | None = None
        self._applied: set[tuple[str, str]] = set()
        self._closed = False

    # -- life cycle

    def __enter__(self) -> MigrationHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Give the alias its own connection back and remove the scratch database. Idempotent."""
        with _lock:
            try:
                self._uninstall()
            finally:
                if self._original is not None:
                    connections[self.database] = self._original
                    _active.pop(self.database, None)
                self._state = None
                self._original = None
                self._closed = True

    def _install(self, scratch: BaseDatabaseWrapper) -> None:
        assert self._backend is not None
        self._scratch = scratch
        connections[self.database] = scratch
        if self._backend.rolls_back:
            self._atomic = transaction.atomic(using=self.database)
            self._atomic.__enter__()

    def _uninstall(self) -> None:
        scratch, self._scratch = self._scratch, None
        if scratch is None or self._backend is None:
            return
        try:
            if self._atomic is not None:
                atomic, self._atomic = self._atomic, None
                with contextlib.suppress(Exception):
                    transaction.set_rollback(True, using=self.database)
                    atomic.__exit__(None, None, None)
        finally:
            if self._original is not None:
                connections[self.database] = self._original
            with contextlib.suppress(Exception):
                self._backend.release(scratch)

    def _between_migrations(
        self, action: str, migration: Migration | None = None, fake: bool | None = False, /
    ) -> None:
        """Inside the test's transaction, check deferred constraints as a commit would."""
        if action in ("apply_start", "unapply_start") and self._atomic is not None:
            scratch = connections[self.database]
            with scratch.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    # -- public API

    def start(self, targets: Targets) -> StateApps:
        """Put the scratch database at ``targets`` (and their dependencies); return the models there.

        Every app not needed by ``targets`` has no table and no applied
        migration. The first call for a starting point (and after any change
        to a migration file) migrates an empty database and keeps a
        snapshot; the next ones restore that snapshot.
        """
        with _lock:
            if self._closed:
                raise HarnessStateError("This harness is closed: make a new MigrationHarness.")
            if self._original is None:
                other = _active.get(self.database)
                if other is not None and other is not self:
                    raise HarnessStateError(
                        f"Another MigrationHarness is open on {self.database!r}: close it first."
                    )
                original = connections[self.database]
                backend = _backend_for(original, self.isolation)  # checks the vendor first
                self._original, self._backend = original, backend
                _active[self.database] = self
            assert self._backend is not None
            assert self._original is not None
            _check_migrations_enabled()
            fingerprint = migration_fingerprint()
            loader = _disk_loader(fingerprint)
            resolved = _resolve(loader, targets)
            group = "|".join(
                [_database_identity(self._original), repr(sorted(resolved, key=str)), str(self.signals)]
            )
            key = hashlib.sha256(f"{fingerprint}|{group}".encode()).hexdigest()
            snapshot = _snapshots.get(key)
            self.snapshot_built, self.snapshot_source, self.kept_location = False, "process", ""
            self._uninstall()
            self._state = None
            if snapshot is None:
                snapshot = self._build_snapshot(key, group, loader, resolved, fingerprint)
            if isinstance(self._backend, _PostgresBackend):
                self._backend.rolls_back = self.isolation == "transaction" or (
                    self.isolation == "auto" and snapshot.later_all_atomic
                )
            self._install(self._backend.restore(snapshot.handle))
            self._loader = loader
            self._applied = set(snapshot.applied)
            self._state = snapshot.state
            return snapshot.state.apps

    def forwards(self, targets: Targets) -> StateApps:
        """Apply the migrations up to ``targets``; return the historical models there.

        Raises :class:`InvalidMigrationPlan` (and changes nothing) when
        reaching ``targets`` would unapply a migration or there is nothing
        to apply.
        """
        return self._move(targets, backwards=False)

    def backwards(self, targets: Targets) -> StateApps:
        """Unapply the migrations after ``targets``; return the historical models there.

        Raises :class:`InvalidMigrationPlan` when reaching ``targets`` would
        apply a migration or there is nothing to unapply, and
        :class:`IrreversibleError` when a migration on the way back cannot be
        reversed; in both cases nothing is changed.
        """
        return self._move(targets, backwards=True)

    @property
    def apps(self) -> StateApps:
        """The historical models at the current point."""
        return self._require_started().apps

    def applied(self, app_label: str | None = None) -> list[tuple[str, str]]:
        """The migrations applied in the scratch database (optionally of one app), in name order."""
        self._require_started()
        assert self._scratch is not None
        applied = MigrationRecorder(self._scratch).applied_migrations()
        return sorted(k for k in applied if app_label is None or k[0] == app_label)

    @property
    def connection(self) -> BaseDatabaseWrapper:
        """The scratch database's connection (also ``connections[database]`` while open)."""
        self._require_started()
        assert self._scratch is not None
        return self._scratch

    # -- internals

    def _require_started(self) -> ProjectState:
        if self._state is None or self._scratch is None:
            raise HarnessStateError(
                "The harness is not at a known migration: call start(targets) first "
                "(also after a migration failed)."
            )
        return self._state

    def _executor(
        self, wrapper: BaseDatabaseWrapper, loader: MigrationLoader, applied: set[tuple[str, str]]
    ) -> MigrationExecutor:
        """An executor on ``wrapper`` reusing the graph built from the files.

        The graph does not depend on what is applied unless a squashed
        migration replaces others (then a new loader reads it from the
        database); nor is ``applied`` read from the database: the harness
        knows it (the snapshot's, then each plan's), so that a test's cost
        does not grow with the number of migrations before X.
        """
        if loader.replacements:
            return MigrationExecutor(wrapper, self._between_migrations)
        executor = MigrationExecutor.__new__(MigrationExecutor)
        executor.connection = wrapper
        executor.progress_callback = self._between_migrations
        executor.recorder = MigrationRecorder(wrapper)
        executor.loader = copy.copy(loader)
        executor.loader.connection = wrapper
        executor.loader.applied_migrations = dict.fromkeys(applied)  # type: ignore[assignment]  # keys only are read
        return executor

    def _build_snapshot(
        self, key: str, group: str, loader: MigrationLoader, resolved: list[tuple[str, str | None]],
        fingerprint: str,
    ) -> _Snapshot:  # fmt: skip
        assert self._backend is not None
        assert self._original is not None
        for old_key, old in list(_snapshots.items()):
            if old.group == group:
                del _snapshots[old_key]
                self._backend.drop_snapshot(old.handle)
        kept = None
        if reuse_enabled(self.reuse):
            plan = _fresh_plan(loader, resolved)
            plan_keys = [(m.app_label, m.name) for m, _ in plan]
            kept = _kept_for(self._original, fingerprint, resolved, plan_keys, self.signals)
            self.kept_location = self._backend.kept_location(kept)
            handle = self._backend.load_kept(kept, key)
            if handle is not None:  # an earlier run's, for exactly these files: no migration runs
                state = ProjectState(real_apps=loader.unmigrated_apps)
                for migration, _ in plan:
                    state = migration.mutate_state(state, preserve=False)
                self.snapshot_source = "kept"
                return self._remember(key, group, loader, handle, state, set(plan_keys))
        self.snapshot_built, self.snapshot_source = True, "built"
        scratch = self._backend.fresh()
        try:
            connections[self.database] = scratch
            executor = self._executor(scratch, loader, set())
            plan = executor.migration_plan(resolved)
            state = self._run(executor, resolved, plan, executor._create_project_state())  # type: ignore[attr-defined]  # the executor's own step
        except BaseException:
            connections[self.database] = self._original
            self._backend.release(scratch)
            raise
        connections[self.database] = self._original
        handle = self._backend.keep(scratch, key)
        if kept is not None:
            try:
                self._backend.publish(handle, kept)
            except Exception as exc:  # the run goes on with this process's snapshot
                import warnings

                warnings.warn(f"The migration harness could not keep its snapshot for later runs: {exc}",
                              RuntimeWarning, stacklevel=3)  # fmt: skip
        return self._remember(key, group, loader, handle, state, {(m.app_label, m.name) for m, _ in plan})

    def _remember(
        self, key: str, group: str, loader: MigrationLoader, handle: Any, state: ProjectState,
        applied: set[tuple[str, str]],
    ) -> _Snapshot:  # fmt: skip
        """Record the snapshot of this process for ``key``, with its models at X rendered."""
        assert self._backend is not None
        # Render the models at X once, completely, so that tests never re-render them.
        state.clear_delayed_apps_cache()
        state.apps  # noqa: B018
        state.is_delayed = False
        later_all_atomic = all(m.atomic for k, m in loader.graph.nodes.items() if k not in applied)
        snapshot = _Snapshot(key, group, self._backend, handle, state, later_all_atomic, frozenset(applied))
        _snapshots[key] = snapshot
        return snapshot

    def _run(
        self,
        executor: MigrationExecutor,
        targets: list[tuple[str, str | None]],
        plan: list[tuple[Migration, bool]],
        pre_state: ProjectState,
    ) -> ProjectState:
        """Run ``plan`` the way ``manage.py migrate`` does (signals included when enabled)."""
        quiet: dict[str, Any] = {
            "verbosity": 0, "interactive": False, "db": self.database, "stdout": io.StringIO()
        }  # fmt: skip
        if self.signals:
            emit_pre_migrate_signal(apps=pre_state.apps, plan=plan, **quiet)
        if not plan:
            post_state = pre_state.clone()
        elif executor.loader.replacements:
            post_state = executor.migrate(targets, plan=plan, state=pre_state.clone())
        else:  # what MigrationExecutor.migrate does, with the full plan computed once per graph
            full_plan = _full_plans.get(id(executor.loader.graph))
            if full_plan is None:
                _full_plans.clear()
                full_plan = executor.migration_plan(executor.loader.graph.leaf_nodes(), clean_start=True)
                _full_plans[id(executor.loader.graph)] = full_plan
            executor.recorder.ensure_schema()
            if plan[0][1]:
                post_state = executor._migrate_all_backwards(plan, full_plan, fake=False)  # type: ignore[attr-defined]
            else:
                post_state = executor._migrate_all_forwards(  # type: ignore[attr-defined]
                    pre_state.clone(), plan, full_plan, fake=False, fake_initial=False
                )
        for migration, is_backwards in plan:
            key = (migration.app_label, migration.name)
            if is_backwards:
                self._applied.discard(key)
            else:
                self._applied.add(key)
        post_state.clear_delayed_apps_cache()
        post_apps = post_state.apps
        with post_apps.bulk_update():
            model_keys = []
            for model_state in post_apps.real_models:
                model_key = model_state.app_label, model_state.name_lower
                model_keys.append(model_key)
                post_apps.unregister_model(*model_key)
        post_apps.render_multiple(
            [ModelState.from_model(global_apps.get_model(*model)) for model in model_keys]
        )
        if self.signals:
            emit_post_migrate_signal(apps=post_apps, plan=plan, **quiet)
        return post_state

    def _move(self, targets: Targets, *, backwards: bool) -> StateApps:
        with _lock:
            state = self._require_started()
            assert self._scratch is not None
            assert self._loader is not None
            resolved = _resolve(self._loader, targets)
            executor = self._executor(self._scratch, self._loader, self._applied)
            plan = executor.migration_plan(resolved)
            changed = _changed_files(m for m, _ in plan)
            if changed or self._loader not in _loaders.values():
                raise HarnessStateError(
                    f"A migration file changed since start() ({', '.join(changed) or 'another one'}): "
                    "call start() again to use the new files."
                )
            where = "backwards" if backwards else "forwards"
            if not plan:
                raise InvalidMigrationPlan(
                    f"Nothing to migrate {where}: the database is already at {_describe(resolved)}."
                )
            wrong = [m for m, is_backwards in plan if is_backwards != backwards]
            if wrong:
                verb = "apply" if backwards else "unapply"
                other = "forwards" if backwards else "backwards"
                raise InvalidMigrationPlan(
                    f"{_describe(resolved)} is not reachable {where} from the current state: "
                    f"it would {verb} {', '.join(f'{m.app_label}.{m.name}' for m in wrong)}. "
                    f"Use {other}() for that direction."
                )
            if backwards:
                for migration, _ in plan:
                    for operation in migration.operations:
                        if not operation.reversible:
                            raise IrreversibleError(
                                f"Operation {operation.describe()!r} in {migration.app_label}."
                                f"{migration.name} is not reversible: the database cannot go back "
                                f"to {_describe(resolved)}; nothing was changed."
                            )
            self._state = None  # unknown until the migrations succeed
            new_state = self._run(executor, resolved, plan, state)
            self._state = new_state
            return new_state.apps


class MigrationTestCase(TestCase):
    """A Django ``TestCase`` whose every test starts with the database at ``migrate_from``.

    Each test method creates its own rows with ``self.old_apps`` (the
    historical models at ``migrate_from``), calls :meth:`migrate_forwards`
    (to ``migrate_to``) or :meth:`migrate_backwards`, and asserts on the
    models it gets back. Any number of test methods per class::

        class CombineNamesTests(MigrationTestCase):
            migrate_from = ("roster", "0002_person_name")
            migrate_to = ("roster", "0003_combine_names")

            def test_names_are_combined(self):
                Person = self.old_apps.get_model("roster", "Person")
                Person.objects.create(first_name="Ada", last_name="Lovelace")
                Person = self.migrate_forwards().get_model("roster", "Person")
                self.assertEqual(Person.objects.get().name, "Ada Lovelace")

    ``migration_signals = False`` mutes ``pre_migrate``/``post_migrate``;
    ``migration_database`` picks another alias.
    """

    migrate_from: ClassVar[Targets]
    migrate_to: ClassVar[Targets]
    migration_signals: ClassVar[bool] = True
    migration_database: ClassVar[str] = DEFAULT_DB_ALIAS

    def setUp(self) -> None:
        """Put the database at ``migrate_from``: ``self.old_apps``, ``self.harness``."""
        super().setUp()
        if not hasattr(self, "migrate_from"):
            raise ImproperlyConfigured(f"{type(self).__name__} must set migrate_from (and migrate_to).")
        self.harness = MigrationHarness(self.migration_database, signals=self.migration_signals)
        self.addCleanup(self.harness.close)
        self.old_apps = self.harness.start(self.migrate_from)

    def migrate_forwards(self, targets: Targets | None = None) -> StateApps:
        """Migrate forwards to ``targets`` (default ``migrate_to``); return the models there."""
        if targets is None:
            if not hasattr(self, "migrate_to"):
                raise ImproperlyConfigured(f"{type(self).__name__} must set migrate_to.")
            targets = self.migrate_to
        return self.harness.forwards(targets)

    def migrate_backwards(self, targets: Targets | None = None) -> StateApps:
        """Migrate backwards to ``targets`` (default ``migrate_from``); return the models there."""
        return self.harness.backwards(self.migrate_from if targets is None else targets)

"""A throwaway copy of the tutorial project, one per notebook.

Running a notebook must never change the repository, and several notebooks
must run at once without touching each other's files or database. So each
notebook's first cell starts a *sandbox*::

    from helpers.notebook import start; sb = start("authors", "books")

which copies the tutorial project (only the named apps, plus the project
package and ``manage.py``) into a fresh temporary folder and gives it a
database of its own:

* on SQLite, ``db.sqlite3`` inside that folder;
* on PostgreSQL (when ``DATABASE_URL`` is a ``postgres://`` URL, or when
  ``backend="postgresql"`` is asked for), a new database on that server,
  created now and dropped when the sandbox closes;
* on MySQL/MariaDB (when ``DATABASE_URL`` is a ``mysql://`` URL, or when
  ``backend="mysql"`` is asked for, with ``KIT_MYSQL_URL``), likewise a new
  database on that server.

Through the sandbox a notebook can, in one short call each:

* run any ``manage.py`` command in a fresh interpreter and see its exact
  output: :meth:`Sandbox.run`, :meth:`Sandbox.shell`;
* edit files and see the change as a diff: :meth:`Sandbox.edit`,
  :meth:`Sandbox.write`, :meth:`Sandbox.rename`, :meth:`Sandbox.delete`;
* show a file or a folder: :meth:`Sandbox.show`, :meth:`Sandbox.files`;
* look at the database: :meth:`Sandbox.tables`, :meth:`Sandbox.columns`,
  :meth:`Sandbox.rows`, :meth:`Sandbox.query`, :meth:`Sandbox.applied`;
* serve the project with real gunicorn processes on loopback:
  :meth:`Sandbox.serve` (stopped with the sandbox).

Everything shown is sanitized: the sandbox folder appears as ``<sandbox>``,
installed packages as ``<site-packages>``, so outputs are the same on every
machine. The sandbox is removed (folder and database) when it is closed, when
the kernel exits, or at the next start after a crash of the process that
made it. ``sb.reset()`` starts it over from the committed project.
"""

from __future__ import annotations

import atexit
import contextlib
import difflib
import os
import re
import secrets
import shlex
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import warnings
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from helpers.core.processes import pid_alive
from helpers.notebook.display import CommandResult, Diff, FileView, Table

__all__ = ["HttpResult", "Sandbox", "SandboxError", "Server", "project_dir", "start"]

SANDBOX_PREFIX = "kit-sandbox-"
# The folder holding the ``helpers`` package this process imported.
_HELPERS_ROOT = Path(__file__).resolve().parents[2]
PG_DATABASE_PREFIX = "kit_sb_"
PROJECT_PACKAGE = "mysite"
BACKENDS = ("sqlite", "postgresql", "mysql")
MYSQL_SCHEMES = ("mysql", "mysql2")


class SandboxError(ValueError):
    """A sandbox call was given something it cannot act on.

    The message says what was wrong and what to do; the sandbox is unchanged
    and stays usable.
    """


def project_dir() -> Path:
    """Return the folder of the kit's tutorial project (the one holding ``manage.py``).

    ``KIT_PROJECT_DIR`` overrides the default, which is ``tutorial_project``
    next to the ``helpers`` package in the kit's repository.
    """
    override = os.environ.get("KIT_PROJECT_DIR")
    path = Path(override) if override else Path(__file__).resolve().parents[2] / "tutorial_project"
    if not (path / "manage.py").is_file():
        raise SandboxError(
            f"No Django project at {path}: the notebook plumbing runs the teaching kit's tutorial "
            "project (use it from a checkout of the kit), or set KIT_PROJECT_DIR to the folder "
            "holding manage.py."
        )
    return path


def available_apps(project: Path | None = None) -> list[str]:
    """Return the apps of the tutorial project: its folders holding an ``apps.py``."""
    project = project or project_dir()
    return sorted(
        p.name for p in project.iterdir() if p.is_dir() and (p / "apps.py").is_file()
    )


# --- databases ---------------------------------------------------------------------------


def _postgres_server_url(backend: str | None) -> str | None:
    """Return the PostgreSQL server URL the sandbox should use, or None for SQLite."""
    database_url = os.environ.get("DATABASE_URL", "")
    is_pg = urlsplit(database_url).scheme in ("postgres", "postgresql", "pgsql")
    if backend is None:
        return database_url if is_pg else None
    if backend in ("sqlite", "mysql"):
        return None
    if backend == "postgresql":
        url = database_url if is_pg else os.environ.get("KIT_POSTGRES_URL", "")
        if not url:
            raise SandboxError(
                "No PostgreSQL server for this sandbox: set DATABASE_URL (or KIT_POSTGRES_URL) "
                "to a server URL such as postgres://postgres@127.0.0.1:5432/postgres "
                "and restart the kernel."
            )
        return url
    raise SandboxError(f"Unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}.")


def postgres_available() -> bool:
    """Tell whether a PostgreSQL server is configured and answers (for skipping PG-only work)."""
    try:
        url = _postgres_server_url("postgresql")
    except SandboxError:
        return False
    if url is None:
        return False
    try:
        with _pg_admin_connection(url):
            return True
    except Exception:
        return False


def _mysql_server_url(backend: str | None) -> str | None:
    """Return the MySQL/MariaDB server URL the sandbox should use, or None for another backend."""
    database_url = os.environ.get("DATABASE_URL", "")
    is_mysql = urlsplit(database_url).scheme in MYSQL_SCHEMES
    if backend is None:
        return database_url if is_mysql else None
    if backend != "mysql":
        return None
    url = database_url if is_mysql else os.environ.get("KIT_MYSQL_URL", "")
    if not url:
        raise SandboxError(
            "No MySQL server for this sandbox: set DATABASE_URL (or KIT_MYSQL_URL) to a server URL "
            "such as mysql://kit:kit@127.0.0.1:3306/kit (.ci/mysql start prints one) "
            "and restart the kernel."
        )
    return url


def mysql_available() -> bool:
    """Tell whether a MySQL/MariaDB server is configured and answers (for skipping MySQL-only work)."""
    try:
        url = _mysql_server_url("mysql")
    except SandboxError:
        return False
    if url is None:
        return False
    try:
        with _mysql_admin_connection(url):
            return True
    except Exception:
        return False


def _mysql_conninfo(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    info: dict[str, Any] = {
        "database": parts.path.lstrip("/") or None,
        "user": parts.username or None,
        "password": parts.password or None,
        "host": parts.hostname or None,
        "port": parts.port or None,
    }
    return {k: v for k, v in info.items() if v is not None}


@contextlib.contextmanager
def _mysql_admin_connection(url: str) -> Iterator[Any]:
    import MySQLdb

    info = _mysql_conninfo(url)
    info.pop("database", None)
    conn = MySQLdb.connect(**info, connect_timeout=5, charset="utf8mb4", autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


def _mysql_quote(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", name):
        raise SandboxError(f"Not a sandbox database name: {name!r}.")
    return f"`{name}`"


def _mysql_create_database(url: str, name: str) -> None:
    with _mysql_admin_connection(url) as conn, conn.cursor() as cursor:
        cursor.execute(
            f"CREATE DATABASE {_mysql_quote(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )


def _mysql_drop_database(url: str, name: str) -> None:
    """Drop a database after ending every connection to it (as PostgreSQL's ``WITH (FORCE)``)."""
    with _mysql_admin_connection(url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()", [name]
        )
        for (pid,) in cursor.fetchall():
            with contextlib.suppress(Exception):
                cursor.execute(f"KILL CONNECTION {int(pid)}")
        cursor.execute(f"DROP DATABASE IF EXISTS {_mysql_quote(name)}")


def _mysql_copy_database(url: str, source: str, target: str) -> None:
    """Copy a database within one MySQL server (MySQL has no ``CREATE DATABASE ... TEMPLATE``).

    Each table's own ``SHOW CREATE TABLE`` (columns, keys, foreign keys, ``AUTO_INCREMENT``;
    ``CREATE TABLE ... LIKE`` would lose the foreign keys) runs in the new database, then one
    ``INSERT ... SELECT`` per table, with foreign-key checks off for this session only. On a
    failure the half-made copy is dropped.
    """
    src, dst = _mysql_quote(source), _mysql_quote(target)
    _mysql_create_database(url, target)
    try:
        with _mysql_admin_connection(url) as conn, conn.cursor() as cursor:
            cursor.execute("SET SESSION foreign_key_checks = 0")
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_type = 'BASE TABLE' ORDER BY table_name",
                [source],
            )
            tables = ["`" + row[0].replace("`", "``") + "`" for row in cursor.fetchall()]
            cursor.execute(f"USE {dst}")
            for table in tables:
                cursor.execute(f"SHOW CREATE TABLE {src}.{table}")
                cursor.execute(cursor.fetchone()[1])
                cursor.execute(f"INSERT INTO {dst}.{table} SELECT * FROM {src}.{table}")  # noqa: S608 (quoted)
    except BaseException:
        with contextlib.suppress(Exception):
            _mysql_drop_database(url, target)
        raise


def _copy_server_database(backend: str, url: str, source: str, target: str) -> None:
    """Create database ``target`` as a copy of ``source`` on the same PostgreSQL or MySQL server."""
    if backend == "mysql":
        _mysql_copy_database(url, source, target)
        return
    from psycopg import sql

    with _pg_admin_connection(url) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(target), sql.Identifier(source))
        )


def _drop_server_database(backend: str, url: str, name: str) -> None:
    """Drop database ``name`` on a PostgreSQL or MySQL server, whoever is connected to it."""
    (_mysql_drop_database if backend == "mysql" else _pg_drop_database)(url, name)


def _pg_conninfo(url: str, dbname: str | None = None) -> dict[str, Any]:
    parts = urlsplit(url)
    info: dict[str, Any] = {
        "dbname": dbname or (parts.path.lstrip("/") or "postgres"),
        "user": parts.username or None,
        "password": parts.password or None,
        "host": parts.hostname or None,
        "port": parts.port or None,
        "connect_timeout": 5,
    }
    return {k: v for k, v in info.items() if v is not None}


@contextlib.contextmanager
def _pg_admin_connection(url: str) -> Iterator[Any]:
    import psycopg

    conn = psycopg.connect(**_pg_conninfo(url), autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


def _pg_create_database(url: str, name: str) -> None:
    from psycopg import sql

    with _pg_admin_connection(url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _pg_drop_database(url: str, name: str) -> None:
    from psycopg import sql

    with _pg_admin_connection(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _pg_url_for(url: str, name: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path="/" + name, query="", fragment="").geturl()


# --- leftovers of crashed processes --------------------------------------------------------


_OWNER = re.compile(r"(\d+)_")


def _sweep_leftovers(pg_url: str | None, mysql_url: str | None = None) -> None:
    """Remove sandboxes whose owning process is gone (a killed kernel cannot clean up)."""
    tmp = Path(tempfile.gettempdir())
    for path in tmp.glob(SANDBOX_PREFIX + "*"):
        match = _OWNER.match(path.name[len(SANDBOX_PREFIX) :])
        if match and not pid_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
    if pg_url:
        with contextlib.suppress(Exception), _pg_admin_connection(pg_url) as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (PG_DATABASE_PREFIX.replace("_", r"\_") + "%",),
            ).fetchall()
            for (name,) in rows:
                match = _OWNER.match(name[len(PG_DATABASE_PREFIX) :])
                if match and not pid_alive(int(match.group(1))):
                    _pg_drop_database(pg_url, name)
    if mysql_url:
        with contextlib.suppress(Exception):
            with _mysql_admin_connection(mysql_url) as conn, conn.cursor() as cursor:
                cursor.execute("SHOW DATABASES LIKE %s", [PG_DATABASE_PREFIX.replace("_", r"\_") + "%"])
                names = [row[0] for row in cursor.fetchall()]
            for name in names:
                match = _OWNER.match(name[len(PG_DATABASE_PREFIX) :])
                if match and not pid_alive(int(match.group(1))):
                    _mysql_drop_database(mysql_url, name)


# --- output sanitizing -----------------------------------------------------------------


def _path_replacements(root: Path | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if root is not None:
        pairs.append((str(root), "<sandbox>"))
        with contextlib.suppress(OSError):
            pairs.append((str(root.resolve()), "<sandbox>"))
    for sp in {*site.getsitepackages(), site.getusersitepackages(), sysconfig.get_paths()["purelib"]}:
        pairs.append((sp, "<site-packages>"))
    for key in ("stdlib", "platstdlib"):
        pairs.append((sysconfig.get_paths()[key], "<python>"))
    kit_root = str(Path(__file__).resolve().parents[2])
    pairs.append((kit_root, "<kit>"))
    pairs.append((sys.prefix, "<venv>"))
    pairs.append((tempfile.gettempdir(), "<tmp>"))
    # Longest first, so that a path inside another is replaced by its own name.
    return sorted(set(pairs), key=lambda p: len(p[0]), reverse=True)


def sanitize(text: str, root: Path | None = None) -> str:
    """Replace machine-specific paths in ``text`` by stable placeholders."""
    for old, new in _path_replacements(root):
        if old:
            text = text.replace(old, new)
    # Another interpreter's paths (a second Django's venv, see helpers.notebook.django_versions).
    text = _OTHER_SITE_PACKAGES.sub("<site-packages>", text)
    return _OTHER_STDLIB.sub("<python>", text)


_OTHER_SITE_PACKAGES = re.compile(r'(?<=")[^"\n]*/lib/python3\.\d+/site-packages(?=/)')
_OTHER_STDLIB = re.compile(r'(?<=")/[^"\n<>]*/lib/python3\.\d+(?=/)')


_LIBRARY_FRAME = re.compile(r'^  File "<(site-packages|python|venv|frozen [^>]*)>')


def condense_tracebacks(text: str) -> str:
    """Hide the frames of installed libraries and Python itself in tracebacks.

    Frames of the project (``<sandbox>/...``) are kept, as are the exception
    lines; each run of hidden frames becomes one line saying how many.
    """
    out: list[str] = []
    hidden = 0
    in_hidden_frame = False

    def flush() -> None:
        nonlocal hidden
        if hidden:
            out.append(f"  [... {hidden} frame{'s' if hidden > 1 else ''} in Django and Python ...]")
            hidden = 0

    for line in text.splitlines():
        if line.startswith('  File "'):
            if _LIBRARY_FRAME.match(line):
                hidden += 1
                in_hidden_frame = True
                continue
            flush()
            in_hidden_frame = False
            out.append(line)
        elif in_hidden_frame and line.startswith("    "):
            continue
        else:
            flush()
            in_hidden_frame = False
            out.append(line)
    flush()
    out = _cap_traceback(out)
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


# The last line of a traceback: ``SomeError: message``, ``package.module.Name: message``.
_EXCEPTION_LINE = re.compile(
    r"^([A-Za-z_]\w*\.)*[A-Z]\w*(Error|Exception|Exit|Warning|Interrupt|Configured|DoesNotExist|NotReady)\b"
    r"|^([a-z_]\w*\.)+[A-Z]\w*: "
)


def traceback_span(lines: list[str]) -> tuple[int, int] | None:
    """Where the tracebacks of ``lines`` are: from the first ``Traceback`` line to the last exception line."""
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if not starts:
        return None
    ends = [i for i, line in enumerate(lines) if i > starts[0] and _EXCEPTION_LINE.match(line)]
    return starts[0], (ends[-1] if ends else len(lines) - 1)


def _cap_traceback(lines: list[str]) -> list[str]:
    """Keep the traceback part of ``lines`` within ``MAX_TRACEBACK_LINES`` (the rest untouched)."""
    from helpers.notebook.display import MAX_TRACEBACK_LINES, cap_lines

    span = traceback_span(lines)
    if span is None or span[1] - span[0] + 1 <= MAX_TRACEBACK_LINES:
        return lines
    first, last = span
    return [*lines[:first], *cap_lines(lines[first:last + 1], MAX_TRACEBACK_LINES), *lines[last + 1:]]


# --- the sandbox ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Database:
    backend: str
    url: str  # what manage.py receives as DATABASE_URL ("" for the default SQLite file)
    server_url: str | None = None
    name: str | None = None

    def create(self) -> None:
        """Create the server's database (SQLite creates its file on first use).

        A server that cannot be reached (or refuses the login) is a :class:`SandboxError`
        saying which server and what to do.
        """
        if self.server_url and self.name:
            try:
                if self.backend == "mysql":
                    _mysql_create_database(self.server_url, self.name)
                else:
                    _pg_create_database(self.server_url, self.name)
            except Exception as error:
                if type(error).__name__ != "OperationalError":  # MySQLdb's and psycopg's connection errors
                    raise
                where = urlsplit(self.server_url)
                kind, script = ("MySQL", "mysql") if self.backend == "mysql" else ("PostgreSQL", "postgres")
                raise SandboxError(
                    f"Cannot reach the {kind} server at {where.hostname}:{where.port} ({error}). "
                    f'Start one (`eval "$(.ci/{script} start)"` sets DATABASE_URL), or unset DATABASE_URL '
                    "for SQLite, then restart the kernel."
                ) from error

    def drop(self) -> None:
        """Drop the server's database, whoever is still connected to it."""
        if self.server_url and self.name:
            if self.backend == "mysql":
                _mysql_drop_database(self.server_url, self.name)
            else:
                _pg_drop_database(self.server_url, self.name)


class Sandbox:
    """A private, throwaway copy of the tutorial project with its own database.

    Use :func:`start` in notebooks. In tests, use it as a context manager::

        with Sandbox(["authors", "books"]) as sb:
            sb.run("migrate").check()
    """

    #: The exception type of this sandbox's refusals (so that display code need not import us).
    Error = SandboxError

    def __init__(
        self,
        apps: Sequence[str] | None = None,
        *,
        backend: str | None = None,
        project: Path | str | None = None,
    ) -> None:
        """Copy the project with ``apps`` (default: all) and create its database."""
        self.project = Path(project) if project else project_dir()
        known = available_apps(self.project)
        apps = list(apps) if apps else known
        unknown = [a for a in apps if a not in known]
        if unknown:
            raise SandboxError(
                f"Unknown app{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
                f"the tutorial project's apps are {', '.join(known)}."
            )
        self.apps: list[str] = apps
        mysql_url = _mysql_server_url(backend)
        server_url = mysql_url or _postgres_server_url(backend)
        self.backend = "mysql" if mysql_url else "postgresql" if server_url else "sqlite"
        _sweep_leftovers(None if mysql_url else server_url, mysql_url)
        token = f"{os.getpid()}_{secrets.token_hex(4)}"
        self.root = Path(tempfile.mkdtemp(prefix=f"{SANDBOX_PREFIX}{token}_")).resolve()
        if server_url:
            name = PG_DATABASE_PREFIX + token
            self.db = _Database(self.backend, _pg_url_for(server_url, name), server_url, name)
        else:
            self.db = _Database("sqlite", "")
        self._closed = False
        self._servers: list[Server] = []
        self._finalizer = weakref.finalize(self, _cleanup, self.root, self.db)
        try:
            self._populate()
        except BaseException:
            self.close()
            raise

    # -- life cycle

    def _populate(self) -> None:
        def ignore(folder: str, names: list[str]) -> set[str]:
            # Only the project's own files: no caches, databases or hidden leftovers of local
            # runs (a migration harness's kept snapshots in .migration_harness/, editor files).
            leftover = (".sqlite3", ".pyc")
            skipped = {n for n in names if n == "__pycache__" or n.startswith(".") or n.endswith(leftover)}
            if Path(folder).resolve() == self.project.resolve():
                apps = available_apps(self.project)
                skipped |= {n for n in names if n in apps and n not in self.apps}
            return skipped

        shutil.copytree(self.project, self.root, ignore=ignore, dirs_exist_ok=True)
        self.db.create()

    def reset(self) -> Sandbox:
        """Start over: the committed project's files and an empty database, same folder."""
        self._require_open()
        self.stop_servers()
        self._close_connection()
        for child in self.root.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
        self.db.drop()
        self._populate()
        return self

    def close(self) -> None:
        """Remove the sandbox folder and drop its database. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.stop_servers()
        self._close_connection()
        self._finalizer()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Sandbox {state}: apps {', '.join(self.apps)} on {self.backend}>"

    def _require_open(self) -> None:
        if self._closed:
            raise SandboxError("This sandbox is closed: start a new one with start().")

    # -- environment

    @property
    def env(self) -> dict[str, str]:
        """Environment variables ``manage.py`` runs with in this sandbox."""
        dropped = ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE")
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        env.update(
            DJANGO_SETTINGS_MODULE=f"{PROJECT_PACKAGE}.settings",
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
            PYTHONHASHSEED="0",
            COLUMNS="100",
            TZ="UTC",
        )
        # manage.py must import the same ``helpers`` package as this process (the checkout
        # under test), not whatever copy the virtualenv or an inherited PYTHONPATH provides.
        env["PYTHONPATH"] = str(_HELPERS_ROOT)
        if self.db.url:
            env["DATABASE_URL"] = self.db.url
        return env

    def sanitize(self, text: str) -> str:
        """Replace this machine's paths in ``text`` (``<sandbox>``, ``<site-packages>``...).

        The database's generated name, which MySQL's messages quote, becomes ``<database>``.
        """
        text = sanitize(text, self.root)
        return text.replace(self.db.name, "<database>") if self.db.name else text

    # -- commands

    def run(
        self,
        *args: str,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 600,
        python: str | None = None,
    ) -> CommandResult:
        """Run ``python manage.py *args`` in a fresh interpreter and return its result.

        ``python`` runs another interpreter (e.g. another Django's venv, see
        ``helpers.notebook.django_versions``) instead of this kernel's.

        ``input`` is fed to the command's standard input (answers to prompts);
        without it the command gets an empty input, as in CI. The result
        shows the command, its standard output and error, and its exit status
        when not 0. A failing command is not an exception: call
        ``.check()`` on the result for that. An unknown command is, since it is
        a mistake in the notebook, not a lesson.
        """
        self._require_open()
        if not args:
            raise SandboxError("Name a manage.py command, e.g. sb.run('showmigrations').")
        self._close_connection()
        argv = [python or sys.executable, "manage.py", *map(str, args)]
        try:
            proc = subprocess.run(
                argv,
                cwd=self.root,
                env={**self.env, "PYTHON_COLORS": "0", **(env or {})},  # no colours (Python 3.13+)
                input=input or "",
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SandboxError(
                f"manage.py {' '.join(args)} did not finish in {timeout:g} s; it was stopped."
            ) from exc
        unknown = re.match(r"Unknown command: '([^']*)'(.*)", proc.stderr.strip())
        if proc.returncode and unknown:
            suggestion = unknown.group(2).strip(" .")
            raise SandboxError(
                f"Unknown management command {unknown.group(1)!r}. "
                + (f"{suggestion} " if suggestion else "")
                + "sb.run('help') lists them."
            )
        return CommandResult(
            command="python manage.py " + shlex.join(map(str, args)),
            returncode=proc.returncode,
            stdout=self.sanitize(proc.stdout),
            stderr=condense_tracebacks(self.sanitize(proc.stderr)),
            input=input,
        )

    def shell(self, code: str, **kwargs: Any) -> CommandResult:
        """Run Python ``code`` with ``manage.py shell -c`` (fresh interpreter, project loaded)."""
        code = textwrap.dedent(code).strip("\n")
        result = self.run("shell", "-c", code, **kwargs)
        result.command = f"python manage.py shell -c '\n{code}\n'"
        return result

    # -- files

    def path(self, relative: str | os.PathLike[str]) -> Path:
        """Return the absolute path of ``relative`` inside the sandbox, refusing escapes."""
        self._require_open()
        candidate = (self.root / relative).resolve()
        if candidate != self.root and self.root not in candidate.parents:
            raise SandboxError(f"{relative!s} is outside the sandbox; use a path like books/models.py.")
        return candidate

    def _existing(self, relative: str | os.PathLike[str]) -> Path:
        path = self.path(relative)
        if not path.is_file():
            folder = path.parent
            while folder != self.root and not folder.is_dir():
                folder = folder.parent
            there = sorted(
                p.name + ("/" if p.is_dir() else "")
                for p in folder.iterdir()
                if p.name != "__pycache__"
            )
            where = folder.relative_to(self.root).as_posix() if folder != self.root else "the sandbox"
            raise SandboxError(
                f"No file {Path(relative).as_posix()} in the sandbox. In {where}: {', '.join(there)}."
            )
        return path

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _store(self, path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        # A stale bytecode cache written by another import must never win over the edit.
        shutil.rmtree(path.parent / "__pycache__", ignore_errors=True)

    def read(self, relative: str | os.PathLike[str]) -> str:
        """Return the text of a file of the sandbox."""
        return self._existing(relative).read_text(encoding="utf-8")

    def show(self, relative: str | os.PathLike[str], *, lines: tuple[int, int] | None = None) -> FileView:
        """Show a file of the sandbox (optionally only ``lines=(first, last)``, 1-based)."""
        path = self._existing(relative)
        return FileView(self._rel(path), self.sanitize(path.read_text(encoding="utf-8")), lines)

    def edit(self, relative: str | os.PathLike[str], old: str, new: str) -> Diff:
        """Replace the one occurrence of ``old`` by ``new`` in a file; return the diff.

        ``old`` must occur exactly once, so that the edit is never ambiguous;
        otherwise nothing is written and :class:`SandboxError` says why.
        """
        path = self._existing(relative)
        before = path.read_text(encoding="utf-8")
        count = before.count(old)
        if count != 1:
            what = "not found" if count == 0 else f"found {count} times (make it unique)"
            snippet = textwrap.shorten(" ".join(old.split()), 60, placeholder=" ...")
            raise SandboxError(f"Text {snippet!r} {what} in {self._rel(path)}; nothing was changed.")
        after = before.replace(old, new)
        self._store(path, after)
        return Diff(self._rel(path), before, after)

    def write(self, relative: str | os.PathLike[str], text: str) -> Diff:
        """Create or replace a file with ``text`` (dedented); return the diff."""
        path = self.path(relative)
        before = path.read_text(encoding="utf-8") if path.is_file() else None
        after = textwrap.dedent(text).lstrip("\n")
        self._store(path, after)
        return Diff(self._rel(path), before, after)

    def delete(self, relative: str | os.PathLike[str]) -> Diff:
        """Delete a file; return the diff."""
        path = self._existing(relative)
        before = path.read_text(encoding="utf-8")
        path.unlink()
        shutil.rmtree(path.parent / "__pycache__", ignore_errors=True)
        return Diff(self._rel(path), before, None)

    def rename(self, relative: str | os.PathLike[str], new_relative: str | os.PathLike[str]) -> str:
        """Rename (move) a file inside the sandbox; return a line saying so."""
        path = self._existing(relative)
        target = self.path(new_relative)
        if target.exists():
            raise SandboxError(f"{self._rel(target)} already exists; nothing was renamed.")
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
        shutil.rmtree(path.parent / "__pycache__", ignore_errors=True)
        return f"renamed {self._rel(path)} -> {self._rel(target)}"

    def files(self, relative: str | os.PathLike[str] = ".") -> FileView:
        """List the files below a folder of the sandbox, as a tree."""
        folder = self.path(relative)
        if not folder.is_dir():
            raise SandboxError(f"No folder {Path(relative).as_posix()} in the sandbox.")
        lines: list[str] = []
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if "__pycache__" in rel.parts or path.suffix == ".pyc":
                continue
            lines.append("    " * (len(rel.parts) - 1) + rel.name + ("/" if path.is_dir() else ""))
        title = self._rel(folder) if folder != self.root else "<sandbox>"
        return FileView(title + "/", "\n".join(lines) + "\n")

    def migration_files(self, app: str) -> list[str]:
        """Return the names of an app's migration files, in order (without ``.py``)."""
        folder = self.root / app / "migrations"
        if app not in self.apps or not folder.is_dir():
            raise SandboxError(f"Unknown app {app!r}: this sandbox's apps are {', '.join(self.apps)}.")
        return sorted(p.stem for p in folder.glob("[0-9]*.py"))

    # -- the database

    def _connection(self) -> Any:
        """A private Django connection to this sandbox's database (closed after each use)."""
        from django.db.utils import ConnectionHandler

        self._ensure_settings()
        config = self._database_settings()
        if getattr(self, "_handler", None) is None:
            self._handler = ConnectionHandler({"default": config})
        return self._handler["default"]

    def _ensure_settings(self) -> None:
        """Make Django's settings usable in this process, as this sandbox's project settings.

        In a notebook nothing has configured Django yet, so the sandbox's own
        ``mysite.settings`` becomes the process's settings (with the sandbox's
        database as ``default``); :meth:`setup_django` can then load the apps.
        Where Django is already configured (a test run), nothing changes: the
        sandbox only ever uses its own private connection.
        """
        from django.conf import settings

        if settings.configured:
            return
        # Nothing in this process has used Django's settings yet (a variable inherited from a
        # parent process may name a module that is not importable here): take them over.
        sys.path.insert(0, str(self.root))
        os.environ["DJANGO_SETTINGS_MODULE"] = f"{PROJECT_PACKAGE}.settings"
        self._owns_settings = True
        settings.DATABASES["default"] = self._database_settings()  # type: ignore[assignment]

    def _database_settings(self) -> dict[str, Any]:
        if self.db.backend == "sqlite":
            return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(self.root / "db.sqlite3")}
        if self.db.backend == "mysql":
            info = _mysql_conninfo(self.db.url)
            return {
                "ENGINE": "django.db.backends.mysql",
                "NAME": info["database"],
                "USER": info.get("user", ""),
                "PASSWORD": info.get("password", ""),
                "HOST": info.get("host", ""),
                "PORT": str(info.get("port", "")),
                # As the project's settings: utf8mb4 and strict mode.
                "OPTIONS": {"charset": "utf8mb4", "init_command": "SET sql_mode='STRICT_TRANS_TABLES'"},
            }
        info = _pg_conninfo(self.db.url)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": info["dbname"],
            "USER": info.get("user", ""),
            "PASSWORD": info.get("password", ""),
            "HOST": info.get("host", ""),
            "PORT": str(info.get("port", "")),
        }

    def _close_connection(self) -> None:
        handler = getattr(self, "_handler", None)
        if handler is not None:
            handler.close_all()

    @contextlib.contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor on the sandbox's database; the connection is closed afterwards."""
        self._require_open()
        connection = self._connection()
        try:
            with warnings.catch_warnings():
                # The notebook's process has settings but (usually) no loaded apps; this
                # private connection only inspects, so Django's warning does not apply.
                warnings.filterwarnings("ignore", message="Accessing the database during app")
                with connection.cursor() as cursor:
                    yield cursor
        finally:
            connection.close()

    def _table_names(self) -> list[str]:
        with self.cursor() as cursor:
            return sorted(self._connection().introspection.table_names(cursor))

    def _known_table(self, table: str) -> str:
        names = self._table_names()
        if table not in names:
            hint = difflib.get_close_matches(table, names, n=3)
            more = f" Did you mean {', '.join(hint)}?" if hint else ""
            raise SandboxError(f"No table {table!r} in the sandbox's database.{more}")
        return table

    def tables(self, prefix: str = "") -> Table:
        """The database's tables, optionally only those starting with ``prefix``."""
        names = [n for n in self._table_names() if n.startswith(prefix)]
        return Table(["table"], [(n,) for n in names])

    def columns(self, table: str) -> Table:
        """The columns of ``table``: name, SQL type, NULL allowed, primary key."""
        table = self._known_table(table)
        connection = self._connection()
        with self.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(f"PRAGMA table_info({connection.ops.quote_name(table)})")
                rows = [(r[1], r[2].lower(), not r[3], bool(r[5])) for r in cursor.fetchall()]
            elif connection.vendor == "mysql":
                cursor.execute(
                    """
                    SELECT column_name,
                           CASE WHEN character_maximum_length IS NOT NULL
                                THEN CONCAT(data_type, '(', character_maximum_length, ')')
                                ELSE data_type END,
                           is_nullable = 'YES', column_key = 'PRI'
                    FROM information_schema.columns
                    WHERE table_schema = DATABASE() AND table_name = %s
                    ORDER BY ordinal_position
                    """,
                    [table],
                )
                rows = [(r[0], r[1], bool(r[2]), bool(r[3])) for r in cursor.fetchall()]
            else:
                cursor.execute(
                    """
                    SELECT c.column_name,
                           CASE WHEN c.character_maximum_length IS NOT NULL
                                THEN c.data_type || '(' || c.character_maximum_length || ')'
                                ELSE c.data_type END,
                           c.is_nullable = 'YES',
                           EXISTS (
                               SELECT 1 FROM information_schema.key_column_usage k
                               JOIN information_schema.table_constraints t
                                 ON t.constraint_name = k.constraint_name
                                AND t.table_schema = k.table_schema
                               WHERE t.constraint_type = 'PRIMARY KEY'
                                 AND k.table_schema = c.table_schema
                                 AND k.table_name = c.table_name
                                 AND k.column_name = c.column_name)
                    FROM information_schema.columns c
                    WHERE c.table_schema = current_schema() AND c.table_name = %s
                    ORDER BY c.ordinal_position
                    """,
                    [table],
                )
                rows = [
                    (r[0], r[1].replace("character varying", "varchar"), r[2], r[3])
                    for r in cursor.fetchall()
                ]
        return Table(["column", "type", "null", "primary key"], rows, title=table)

    def schema(self, prefix: str = "") -> Table:
        """Every column of every table starting with ``prefix``: table, column, type, null."""
        rows = [
            (table, *column[:3])
            for table in self._table_names()
            if table.startswith(prefix)
            for column in self.columns(table)
        ]
        return Table(["table", "column", "type", "null"], rows)

    def rows(self, table: str, *, columns: Sequence[str] | None = None, limit: int | None = None) -> Table:
        """The rows of ``table`` ordered by primary key (optionally some ``columns`` only)."""
        table = self._known_table(table)
        connection = self._connection()
        qn = connection.ops.quote_name
        with self.cursor() as cursor:
            described = [
                c.name for c in connection.introspection.get_table_description(cursor, table)
            ]
            pk = connection.introspection.get_primary_key_column(cursor, table)
        wanted = list(columns) if columns else described
        unknown = [c for c in wanted if c not in described]
        if unknown:
            raise SandboxError(
                f"No column {', '.join(map(repr, unknown))} in {table}; its columns are "
                f"{', '.join(described)}."
            )
        order = qn(pk) if pk else ", ".join(qn(c) for c in wanted)
        sql = f"SELECT {', '.join(qn(c) for c in wanted)} FROM {qn(table)} ORDER BY {order}"  # noqa: S608
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self.query(sql, title=table)

    def count(self, table: str) -> int:
        """The number of rows in ``table``."""
        table = self._known_table(table)
        connection = self._connection()
        with self.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            return int(cursor.fetchone()[0])

    def query(self, sql: str, params: Sequence[Any] = (), *, title: str | None = None) -> Table:
        """Run one SQL statement written by the notebook and show what it returns."""
        with self.cursor() as cursor:
            cursor.execute(sql, list(params))
            if cursor.description is None:
                return Table(["rows affected"], [(cursor.rowcount,)], title=title)
            names = [d[0] for d in cursor.description]
            return Table(names, [tuple(r) for r in cursor.fetchall()], title=title)

    def applied(self, app: str | None = None) -> Table:
        """The migrations recorded as applied in ``django_migrations`` (in order)."""
        if app is not None and app not in self.apps and not re.fullmatch(r"[a-z_]+", app):
            raise SandboxError(f"Unknown app {app!r}.")
        if "django_migrations" not in self._table_names():
            return Table(["app", "name"], [], title="django_migrations (no table yet: nothing applied)")
        sql = "SELECT app, name FROM django_migrations"
        params: list[str] = []
        if app:
            sql += " WHERE app = %s"
            params.append(app)
        return self.query(sql + " ORDER BY id", params, title="django_migrations")

    # -- a real WSGI server

    def serve(
        self,
        name: str = "server",
        *,
        workers: int = 1,
        app: str = "mysite.wsgi:application",
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
    ) -> Server:
        """Start gunicorn on a free loopback port serving this sandbox; return its handle.

        ``app`` is the WSGI application (``module:name`` inside the sandbox).
        The server is stopped by ``server.stop()``, and in any case when the
        sandbox closes (kernel exit, also after a failed cell).
        """
        self._require_open()
        return _serve(self, name, workers, app, env, timeout)

    def stop_servers(self) -> None:
        """Stop every server this sandbox started."""
        for server in getattr(self, "_servers", []):
            server.stop()

    # -- Django inside the notebook's kernel

    def setup_django(self) -> None:
        """Load this sandbox's project in the current process (for in-kernel ORM use).

        Most chapters run Django only in ``manage.py`` subprocesses; a chapter
        that needs models in the notebook itself calls this once, after
        ``migrate``. Only one project can be loaded per process.
        """
        import django

        self._require_open()
        self._ensure_settings()
        if not getattr(self, "_owns_settings", False):
            raise SandboxError(
                "Django is already configured in this process for another project; restart "
                "the kernel to load this sandbox's project."
            )
        django.setup()


@dataclass
class HttpResult:
    """An HTTP response from a sandbox's server: status, headers and body text."""

    status: int
    headers: dict[str, str]
    text: str

    def __repr__(self) -> str:
        return f"HTTP {self.status}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def json(self) -> Any:
        """The body parsed as JSON."""
        import json

        return json.loads(self.text)


class Server:
    """A gunicorn server running this sandbox's project on loopback (see :meth:`Sandbox.serve`).

    Its port and process ids are never shown: ``repr`` names it by ``name``.
    """

    def __init__(self, name: str, proc: subprocess.Popen, port: int, log: Path, workers: int) -> None:
        self.name, self.proc, self.port, self.log, self.workers = name, proc, port, log, workers

    @property
    def url(self) -> str:
        """The base URL (loopback; do not print it in a notebook: the port varies)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the gunicorn master is still running."""
        return self.proc.poll() is None

    def request(
        self,
        method: str,
        path: str,
        *,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> HttpResult:
        """Make one request to this server (loopback only) and return the response."""
        import urllib.error
        import urllib.parse
        import urllib.request

        if not path.startswith("/"):
            raise SandboxError(f"Give a path starting with '/', not {path!r}.")
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(  # noqa: S310 - a loopback URL built here
            self.url + path, data=body, method=method, headers=dict(headers or {})
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback URL we built
                return HttpResult(resp.status, dict(resp.headers), resp.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            return HttpResult(exc.code, dict(exc.headers), exc.read().decode("utf-8", "replace"))

    def get(self, path: str, **kwargs: Any) -> HttpResult:
        """GET ``path``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: Mapping[str, str] | None = None, **kwargs: Any) -> HttpResult:
        """POST form-encoded ``data`` to ``path``."""
        return self.request("POST", path, data=data or {}, **kwargs)

    def stop(self) -> str:
        """Stop the server and its workers (its own process group); safe to call twice."""
        import signal

        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        return f"{self.name}: stopped"

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        plural = "s" if self.workers != 1 else ""
        return f"<gunicorn {self.name}: {self.workers} worker process{'es' if plural else ''}, {state}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(
    sandbox: Sandbox,
    name: str,
    workers: int,
    app: str,
    env: Mapping[str, str] | None,
    timeout: float,
) -> Server:
    import time
    import urllib.error
    import urllib.request

    if not 1 <= workers <= 8:
        raise SandboxError(f"workers must be between 1 and 8, not {workers}.")
    port = _free_port()
    env = {"DJANGO_DEBUG": "0", **(env or {})}  # visitors get no traceback (settings.py)
    if sandbox.db.backend == "sqlite" and "DATABASE_URL" not in env:
        # Several processes write to one SQLite file: wait for locks instead of failing, and
        # take the write lock when a transaction begins (Django's advice for concurrent use).
        env["DATABASE_URL"] = f"sqlite:///{sandbox.root / 'db.sqlite3'}?timeout=30&transaction_mode=IMMEDIATE"
    log = sandbox.root / f".gunicorn-{len(sandbox._servers) + 1}.log"
    argv = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--worker-class", "sync", "--timeout", "60", "--graceful-timeout", "5",
        "--error-logfile", "-", "--log-level", "warning", app,
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv, cwd=sandbox.root, env={**sandbox.env, **env},
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    server = Server(name, proc, port, log, workers)
    sandbox._servers.append(server)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SandboxError(f"gunicorn exited at start:\n{sandbox.sanitize(log.read_text())[-2000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/", timeout=2):  # noqa: S310 - loopback
                break
        except urllib.error.HTTPError:
            break  # it answers (404 for / is fine)
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise SandboxError(f"gunicorn did not answer in {timeout:g} s; it was stopped.") from None
            time.sleep(0.1)
    return server


def _cleanup(root: Path, db: _Database) -> None:
    shutil.rmtree(root, ignore_errors=True)
    with contextlib.suppress(Exception):
        db.drop()


_notebook_sandboxes: list[Sandbox] = []


def _close_notebook_sandboxes() -> None:
    while _notebook_sandboxes:
        _notebook_sandboxes.pop().close()


atexit.register(_close_notebook_sandboxes)


def start(*apps: str, backend: str | None = None, unsupported: tuple[str, ...] = ()) -> Sandbox:
    """Start this notebook's sandbox: a private copy of the project with ``apps``.

    ``backend`` is ``"sqlite"``, ``"postgresql"`` or ``"mysql"``; by default the server
    ``DATABASE_URL`` points at (PostgreSQL or MySQL), SQLite otherwise. ``unsupported``
    names backends the chapter's technique cannot run on: when the default would be
    one of them, the sandbox is SQLite instead (the chapter's own cells tagged with
    that backend show why). The sandbox is removed when the kernel exits (also after
    a failed cell).
    """
    unknown = sorted(set(unsupported) - {"postgresql", "mysql"})
    if unknown:
        raise SandboxError(
            f"Cannot leave out {unknown[0]!r} (unsupported): name 'postgresql' or 'mysql'; "
            "SQLite is the fallback."
        )
    if backend is None and unsupported:
        default = "mysql" if _mysql_server_url(None) else "postgresql" if _postgres_server_url(None) else None
        if default in unsupported:
            backend = "sqlite"
    # Jupyter runs cells inside an event loop, so Django would refuse synchronous database
    # access from them; its documentation names this variable as the fix for notebooks.
    # Only this process gets it: manage.py commands run without it.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sandbox = Sandbox(list(apps) or None, backend=backend)
    _notebook_sandboxes.append(sandbox)
    with contextlib.suppress(Exception):
        from helpers.notebook.display import install_notebook_error_display

        install_notebook_error_display(sandbox.sanitize, brief=(SandboxError,))
    print(f"Sandbox ready: apps {', '.join(sandbox.apps)} on {sandbox.backend}.")
    return sandbox

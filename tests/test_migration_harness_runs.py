"""The migration harness across whole pytest runs: snapshots kept between runs, pytest-django.

Each test copies the tutorial project to a temporary folder (one migration file
gets a random comment, so that its fingerprint is this test's own) and runs
real ``pytest`` subprocesses on it with the ``migration_harness`` fixture. The
copy's ``conftest.py`` records, in a log file, every migration Django's
executor applies (``MigrationExecutor.apply_migration``) and every test
database pytest-django creates (``BaseDatabaseCreation.create_test_db``): what
ran is read from there, not from the harness. Runs on the pass's backend
(SQLite; PostgreSQL with ``KIT_BACKEND=postgresql``, kept snapshots then are
template databases on that server; MariaDB with ``KIT_BACKEND=mysql``, kept
snapshots are databases ``mh_kept_...`` whose comment is their mark).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parent.parent / "tutorial_project"
POSTGRES = os.environ.get("KIT_BACKEND") == "postgresql"
MYSQL = os.environ.get("KIT_BACKEND") == "mysql"
COMBINE = 'person.name = f"{person.first_name} {person.last_name}"'

CONFTEST = '''
import os
from pathlib import Path

from django.db.backends.base.creation import BaseDatabaseCreation
from django.db.migrations.executor import MigrationExecutor

LOG = Path(os.environ["MH_LOG"])


def _log(line):
    with LOG.open("a") as log:
        log.write(line + "\\n")


_apply = MigrationExecutor.apply_migration


def apply_migration(self, state, migration, *args, **kwargs):
    _log(f"apply {migration.app_label}.{migration.name}")
    return _apply(self, state, migration, *args, **kwargs)


MigrationExecutor.apply_migration = apply_migration
_create = BaseDatabaseCreation.create_test_db


def create_test_db(self, *args, **kwargs):
    _log("create_test_db")
    return _create(self, *args, **kwargs)


BaseDatabaseCreation.create_test_db = create_test_db


def pytest_configure(config):
    if os.environ.get("MH_REUSE_SETTING") == "off":
        from django.conf import settings

        settings.MIGRATION_HARNESS_REUSE = False
'''

HARNESS_TEST = '''
import os
from pathlib import Path


def test_combine_names(migration_harness):
    Person = migration_harness.start(("roster", "0002_person_name")).get_model("roster", "Person")
    Person.objects.create(first_name="Ada", last_name="Lovelace")
    Person = migration_harness.forwards(("roster", "0003_combine_names")).get_model("roster", "Person")
    result = [Person.objects.get().name, migration_harness.snapshot_source, migration_harness.kept_location]
    Path(os.environ["MH_RESULT"]).write_text("|".join(result))
'''

DB_TEST = '''
from django.contrib.auth.models import Group


def test_uses_the_test_database(db):
    assert Group.objects.count() == 0
'''


class Project:
    """A copy of the tutorial project with a pytest set-up of its own, run as subprocesses."""

    def __init__(self, root: Path) -> None:
        self.root = root / "project"
        shutil.copytree(PROJECT, self.root, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
        first = self.root / "roster" / "migrations" / "0001_initial.py"
        first.write_text(first.read_text() + f"# this test's own fingerprint: {secrets.token_hex(8)}\n")
        (self.root / "pytest.ini").write_text(
            "[pytest]\nDJANGO_SETTINGS_MODULE = mysite.settings\npythonpath = .\n"
            "addopts = -p no:cacheprovider -p pytest_django.plugin -p helpers.testing.pytest_plugin\n"
        )
        (self.root / "conftest.py").write_text(CONFTEST)
        (self.root / "test_harness.py").write_text(HARNESS_TEST)
        (self.root / "test_db.py").write_text(DB_TEST)
        self.log = root / "log.txt"
        self.result = root / "result.txt"
        self.kept: set[str] = set()

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_SETTINGS"))}
        env["PYTHONPATH"] = str(PROJECT.parent)  # this checkout's helpers (not an installed copy's)
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only pytest-django and the kit's plugin
        return {**env, "MH_LOG": str(self.log), "MH_RESULT": str(self.result), **extra}

    def popen(self, *args: str, **env: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", *args], cwd=self.root,
            env=self.env(**env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def run(self, *args: str, **env: str) -> tuple[list[str], list[str]]:
        """Run pytest (harness test only by default); return (log lines, [name, source, kept])."""
        self.log.write_text("")
        self.result.unlink(missing_ok=True)
        proc = self.popen(*(args or ("test_harness.py",)), **env)
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        result = self.result.read_text().split("|") if self.result.exists() else []
        if result and result[2]:
            self.kept.add(result[2])
        return self.log.read_text().splitlines(), result

    def edit_combine(self, new: str) -> None:
        path = self.root / "roster" / "migrations" / "0003_combine_names.py"
        text = path.read_text()
        assert COMBINE in text
        path.write_text(text.replace(COMBINE, new))

    def exists(self, kept: str) -> bool:
        """Whether the kept snapshot (a file, or a database on the server) exists."""
        if MYSQL:
            with mysql_cursor() as cursor:
                cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [kept])
                return cursor.fetchone() is not None
        if not POSTGRES:
            return Path(kept).is_file()
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [kept]).fetchone() is not None

    def drop_kept(self) -> None:
        if MYSQL:
            with mysql_cursor() as cursor:
                for name in self.kept:
                    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            return
        if not POSTGRES:
            return
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            for name in self.kept:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def mysql_cursor() -> Iterator[Any]:
    """A cursor on the MySQL server of ``DATABASE_URL`` (no database selected)."""
    from urllib.parse import unquote, urlsplit

    import MySQLdb

    url = urlsplit(os.environ["DATABASE_URL"])
    conn = MySQLdb.connect(host=url.hostname, port=url.port or 3306, user=unquote(url.username or ""),
                           passwd=unquote(url.password or ""), autocommit=True)  # fmt: skip
    try:
        with conn.cursor() as cursor:
            yield cursor
    finally:
        conn.close()


@pytest.fixture
def project(tmp_path):
    if (POSTGRES or MYSQL) and not os.environ.get("DATABASE_URL"):
        pytest.skip("PostgreSQL or MySQL pass without DATABASE_URL")
    project = Project(tmp_path)
    yield project
    project.drop_kept()


ONLY_Y = ["apply roster.0003_combine_names"]


def test_a_warm_run_reuses_the_kept_snapshot_and_an_edited_file_is_picked_up(project):
    log, (name, source, kept) = project.run()
    assert name == "Ada Lovelace" and source == "built"
    assert log[:2] == ["apply roster.0001_initial", "apply roster.0002_person_name"]  # the history ran
    assert project.exists(kept)

    log, (name, source, again) = project.run()  # nothing changed: no migration before X runs
    assert log == ONLY_Y
    assert (name, source, again) == ("Ada Lovelace", "kept", kept)

    project.edit_combine('person.name = f"{person.last_name}, {person.first_name}"')
    log, (name, source, new_kept) = project.run()  # the edited data migration's new code runs
    assert name == "Lovelace, Ada" and source == "built"
    assert "apply roster.0001_initial" in log
    assert new_kept != kept and project.exists(new_kept)
    assert not project.exists(kept)  # the stale snapshot was removed, never used again

    log, (name, source, _) = project.run()
    assert (log, name, source) == (ONLY_Y, "Lovelace, Ada", "kept")


def test_reuse_off_by_option_or_setting_and_clear_rebuild(project):
    project.run()
    log, (_, source, _) = project.run("--harness-no-reuse", "test_harness.py")
    assert source == "built" and "apply roster.0001_initial" in log
    log, (_, source, _) = project.run(MH_REUSE_SETTING="off")
    assert source == "built" and "apply roster.0001_initial" in log
    log, (_, source, _) = project.run()  # the kept one is still there (reuse off wrote nothing over it)
    assert (log, source) == (ONLY_Y, "kept")

    log, (_, source, kept) = project.run("--harness-clear", "test_harness.py")
    assert source == "built" and "apply roster.0001_initial" in log  # cleared before the test
    assert project.exists(kept)  # and kept again afterwards


def test_a_harness_only_run_never_creates_pytest_djangos_test_database(project):
    log, (name, _, _) = project.run("test_harness.py")
    assert name == "Ada Lovelace"
    assert "create_test_db" not in log
    log, (name, _, _) = project.run("test_harness.py", "test_db.py")  # the spy does see it
    assert name == "Ada Lovelace"
    assert log.count("create_test_db") == 1
    log, (name, _, _) = project.run("--no-migrations", "test_harness.py")  # harness only: harmless
    assert name == "Ada Lovelace" and "create_test_db" not in log
    proc = project.popen("--no-migrations", "test_db.py", "test_harness.py")  # migrations disabled
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "Migrations are disabled in this process" in out, out


def test_two_runs_building_the_same_snapshot_at_once_both_pass_and_leave_one_good_copy(project):
    procs = [project.popen("test_harness.py", MH_RESULT=str(project.result) + str(i)) for i in range(2)]
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
    results = [Path(str(project.result) + str(i)).read_text().split("|") for i in range(2)]
    assert {r[0] for r in results} == {"Ada Lovelace"}
    assert results[0][2] == results[1][2]
    project.kept.add(results[0][2])
    log, (name, source, kept) = project.run()
    assert (log, name, source, kept) == (ONLY_Y, "Ada Lovelace", "kept", results[0][2])

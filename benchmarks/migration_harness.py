"""Benchmark: testing one data migration with helpers.testing.migration_harness vs django-test-migrations.

    .venv/bin/python benchmarks/migration_harness.py [--tests 20] [--depths 0,40,120] [--depth-tests 5]
        [--backend sqlite,postgresql,mysql] [--runs 1,5,20] [--only-runs]
        [--mysql-tests 5] [--mysql-depths 0,40] [--mysql-runs 1,5]

``--backend`` takes several backends, measured one after the other in the same run:
``postgresql`` needs ``DATABASE_URL=postgres://...`` (or ``KIT_POSTGRES_URL``), ``mysql``
``KIT_MYSQL_URL`` (or a ``mysql://`` ``DATABASE_URL``; ``.ci/mysql start`` prints one).
MariaDB's part is kept short (its own, smaller ``--mysql-*`` counts): every DDL statement
there is a commit, and django-test-migrations replays the history twice per test.

Table 3 is what a user waits for: whole ``pytest`` processes on the real-app
corpus (``tests/realproject``: django-allauth, django-filer, django-taggit,
django-reversion, a custom user), N tests of django-allauth's data migration
``account.0006_emailaddress_lower`` (users and email addresses with capitals at
``account.0005``, migrate, every email lowercased). For each N, in this order:
the harness as it was before snapshots outlived the run (the test asks for
``db``, ``--harness-no-reuse``), the harness cold (``--harness-clear``: no kept
snapshot), the harness warm (nothing changed since), and django-test-migrations
used as its README says (its ``migrator`` fixture, ``@pytest.mark.django_db``).
Each run loads the same three plugins (pytest-django, django-test-migrations',
the kit's) with plugin autoloading off. The wall time includes starting Python.

Both tools run the same test of the tutorial project's ``roster.0003_combine_names``
data migration (Django's guide's ``combine_names``): put the database at
``roster.0002_person_name``, create 10 people with the historical model,
migrate to ``roster.0003_combine_names``, check every combined name.

* django-test-migrations 1.7.0 the documented way: ``Migrator()``,
  ``apply_initial_migration``, ``apply_tested_migration``, ``reset()`` after
  each test (what its pytest fixture and ``MigratorTestCase`` do).
* this kit's ``MigrationHarness``: ``start``, ``forwards``, ``close``. Its
  total includes building the snapshot in the first test.

Table 1 runs the same N tests of each in one process on the kit's own project
(contrib apps + authors, books, ledger with 16 migrations, roster with 4: 40
migrations). Table 2 puts K extra migrations before X (an app whose K
migrations ``roster.0001`` then depends on, in a temporary copy of the project)
and shows the per-test cost of each tool as the history before X grows.

Each measurement runs in a fresh interpreter, on SQLite's in-memory test
database, or on a test database of the PostgreSQL or MariaDB server (the
harness then keeps its snapshot as a database of its own there). Not part of
the test command.
"""

# ruff: noqa: RUF001
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "tutorial_project"
X = ("roster", "0002_person_name")
Y = ("roster", "0003_combine_names")
PEOPLE = [(f"First{i}", f"Last{i}") for i in range(10)]


# --- one measurement (in a child interpreter) ---------------------------------------------


def one_test_harness(harness_cls) -> None:
    with harness_cls(signals=False, reuse=False) as harness:  # Table 1 includes the build
        Person = harness.start(X).get_model("roster", "Person")
        Person.objects.bulk_create(Person(first_name=f, last_name=s) for f, s in PEOPLE)
        Person = harness.forwards(Y).get_model("roster", "Person")
        names = sorted(Person.objects.values_list("name", flat=True))
        assert names == sorted(f"{f} {s}" for f, s in PEOPLE), names


def one_test_dtm(migrator_cls) -> None:
    migrator = migrator_cls()
    try:
        old = migrator.apply_initial_migration(X)
        Person = old.apps.get_model("roster", "Person")
        Person.objects.bulk_create(Person(first_name=f, last_name=s) for f, s in PEOPLE)
        new = migrator.apply_tested_migration(Y)
        Person = new.apps.get_model("roster", "Person")
        names = sorted(Person.objects.values_list("name", flat=True))
        assert names == sorted(f"{f} {s}" for f, s in PEOPLE), names
    finally:
        migrator.reset()


def child(project: Path, tests: int, backend: str) -> dict:
    sys.path.insert(0, str(project))
    os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
    if backend == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = server_url(backend)
    import django

    django.setup()
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader
    from django_test_migrations.migrator import Migrator

    from helpers.testing.migration_harness import MigrationHarness

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    loader = MigrationLoader(None)
    before_x = len(loader.graph.forwards_plan(X)) - 1
    result = {"migrations": len(loader.graph.nodes), "before_x": before_x}
    for name, run in (("harness", lambda: one_test_harness(MigrationHarness)),
                      ("dtm", lambda: one_test_dtm(Migrator))):  # fmt: skip
        times = []
        for _ in range(tests):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        result[name] = times
    connection.creation.destroy_test_db(old_name, verbosity=0)
    return result


# --- whole pytest runs on the real-app corpus (Table 3) -----------------------------------

CORPUS = ROOT / "tests" / "realproject"
CORPUS_X = ("account", "0005_emailaddress_idx_upper_email")
CORPUS_Y = ("account", "0006_emailaddress_lower")  # django-allauth's data migration: emails lowercased

CORPUS_TEST_HEAD = """
import pytest

EMAILS = [f"User{k}@Example.COM" for k in range(5)]


def check(old_apps, forwards):
    User = old_apps.get_model("people", "User")
    EmailAddress = old_apps.get_model("account", "EmailAddress")
    for k, email in enumerate(EMAILS):
        user = User.objects.create(username=f"user{k}", email=email)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    new_apps = forwards()
    emails = sorted(new_apps.get_model("account", "EmailAddress").objects.values_list("email", flat=True))
    assert emails == sorted(e.lower() for e in EMAILS), emails
    users = sorted(new_apps.get_model("people", "User").objects.values_list("email", flat=True))
    assert users == sorted(e.lower() for e in EMAILS), users
"""

#: The same test with each tool, N times (parametrized). django-test-migrations: its ``migrator``
#: fixture and ``django_db`` mark, as its README shows.
CORPUS_TESTS = {
    "harness": CORPUS_TEST_HEAD + """

@pytest.mark.parametrize("n", range(N))
def test_lowercase_emails(migration_harness, n):
    old = migration_harness.start(X)
    check(old, lambda: migration_harness.forwards(Y))
""",
    "harness+db": CORPUS_TEST_HEAD + """

@pytest.mark.parametrize("n", range(N))
def test_lowercase_emails(migration_harness, db, n):  # as the fixture was before: it asked for db
    old = migration_harness.start(X)
    check(old, lambda: migration_harness.forwards(Y))
""",
    "dtm": CORPUS_TEST_HEAD + """

@pytest.mark.django_db
@pytest.mark.parametrize("n", range(N))
def test_lowercase_emails(migrator, n):
    old = migrator.apply_initial_migration(X)
    check(old.apps, lambda: migrator.apply_tested_migration(Y).apps)
""",
}


#: On MariaDB the corpus's databases (pytest-django's and the harness's) compare case-sensitively:
#: under the server's default ``utf8mb4_unicode_ci``, allauth's 0006 changes nothing at all
#: (``exclude(email=Lower("email"))`` finds every address equal to its lowercase form).
MYSQL_CONFTEST = """
from django.db import connections


def pytest_configure(config):
    connections["default"].settings_dict["TEST"].update(CHARSET="utf8mb4", COLLATION="utf8mb4_bin")
"""


def pytest_run(folder: Path, kind: str, tests: int, backend: str, *options: str) -> float:
    """Wall time of one whole ``pytest`` process running ``tests`` tests of ``kind``."""
    test = folder / f"test_{kind.replace('+', '_')}_{tests}.py"
    test.write_text(f"N = {tests}\nX = {CORPUS_X!r}\nY = {CORPUS_Y!r}\n" + CORPUS_TESTS[kind])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_SETTINGS"))}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's helpers
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the same three plugins in every run, nothing else
    if backend != "sqlite":
        env["REALPROJECT_DATABASE_URL"] = server_url(backend).rsplit("/", 1)[0] + "/mh_bench_corpus"
    else:
        env["REALPROJECT_SQLITE"] = str(folder / "db.sqlite3")
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_django.plugin",
        "-p", "django_test_migrations.contrib.pytest_plugin", "-p", "helpers.testing.pytest_plugin",
        "--ds", "realproject.settings", "--rootdir", str(folder), *options, str(test),
    ]  # fmt: skip
    start = time.perf_counter()
    out = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if out.returncode != 0 or f"{tests} passed" not in out.stdout:
        raise SystemExit(f"benchmark: pytest run of {kind} failed:\n{out.stdout}\n{out.stderr}")
    return elapsed


def corpus_table(backend: str, counts: list[int]) -> str:
    """Table 3: whole pytest runs (wall time) on the corpus, cold then warm, and django-test-migrations."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="mh-corpus-") as tmp:
        folder = Path(tmp) / "realproject"
        shutil.copytree(CORPUS, folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
        if backend == "mysql":
            (folder / "conftest.py").write_text(MYSQL_CONFTEST)
        for n in counts:
            before = pytest_run(folder, "harness+db", n, backend, "--harness-no-reuse")
            cold = pytest_run(folder, "harness", n, backend, "--harness-clear")
            warm = pytest_run(folder, "harness", n, backend)
            dtm = pytest_run(folder, "dtm", n, backend)
            rows.append([str(n), f"{dtm:.2f} s", f"{before:.2f} s", f"{cold:.2f} s", f"{warm:.2f} s",
                         f"{dtm / cold:.1f}×", f"{dtm / warm:.1f}×", f"{cold / before:.2f}"])  # fmt: skip
        if backend == "mysql":  # the kept snapshot databases of this benchmark
            drop_mysql_kept()
        if backend == "postgresql":  # the kept template databases of this benchmark
            import psycopg

            with psycopg.connect(server_url(backend), autocommit=True) as conn:
                names = conn.execute(
                    "SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE %s",
                    ["migration_harness kept %"],
                ).fetchall()
                for (name,) in names:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    headers = ["tests", "django-test-migrations", "harness before (db, no reuse)", "harness cold",
               "harness warm", "dtm / cold", "dtm / warm", "cold / before"]  # fmt: skip
    return table(headers, rows)


# --- project variants ---------------------------------------------------------------------


def variant(depth: int, folder: Path) -> Path:
    """A copy of the project where roster.0001 depends on an app with ``depth`` migrations."""
    project = folder / f"project_{depth}"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    if depth == 0:
        return project
    app = project / "filler"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "apps.py").write_text(
        "from django.apps import AppConfig\n\n\nclass FillerConfig(AppConfig):\n"
        '    default_auto_field = "django.db.models.BigAutoField"\n    name = "filler"\n'
    )
    fields = "".join(f"    f{i} = models.IntegerField(default=0)\n" for i in range(2, depth + 1))
    models = f"from django.db import models\n\n\nclass Filler(models.Model):\n{fields or '    pass'}\n"
    (app / "models.py").write_text(models)
    head = "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
    (app / "migrations" / "0001_initial.py").write_text(
        head + "    initial = True\n    dependencies = []\n    operations = [migrations.CreateModel("
        "name='Filler', fields=[('id', models.BigAutoField(auto_created=True, primary_key=True, "
        "serialize=False, verbose_name='ID'))])]\n"
    )
    for i in range(2, depth + 1):
        (app / "migrations" / f"{i:04d}_f{i}.py").write_text(
            head + f"    dependencies = [('filler', '{i - 1:04d}_{'initial' if i == 2 else f'f{i - 1}'}')]\n"
            f"    operations = [migrations.AddField('filler', 'f{i}', models.IntegerField(default=0))]\n"
        )
    last = "0001_initial" if depth == 1 else f"{depth:04d}_f{depth}"
    initial = project / "roster" / "migrations" / "0001_initial.py"
    depends = f"dependencies = [\n        ('filler', '{last}'),\n"
    initial.write_text(initial.read_text().replace("dependencies = [\n", depends, 1))
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    if '    "roster",\n' not in text:
        raise SystemExit("benchmark: cannot find the roster app in mysite/settings.py's ALL_KIT_APPS")
    settings.write_text(text.replace('    "roster",\n', '    "roster",\n    "filler",\n', 1))
    return project


def server_url(backend: str) -> str:
    """The server URL of ``backend`` (PostgreSQL or MySQL), or exit saying which variable to set."""
    database_url = os.environ.get("DATABASE_URL", "")
    if backend == "postgresql":
        url = database_url if database_url.startswith("postgres") else os.environ.get("KIT_POSTGRES_URL", "")
        if not url:
            raise SystemExit("--backend postgresql needs DATABASE_URL=postgres://... or KIT_POSTGRES_URL "
                             "(.ci/postgres start prints one)")  # fmt: skip
        return url
    url = os.environ.get("KIT_MYSQL_URL", "") or (database_url if database_url.startswith("mysql") else "")
    if not url:
        raise SystemExit("--backend mysql needs KIT_MYSQL_URL=mysql://... (.ci/mysql start prints one)")
    return url


def drop_mysql_kept() -> None:
    """Drop the harness's kept snapshot databases on the MySQL server (this benchmark's)."""
    from urllib.parse import unquote, urlsplit

    import MySQLdb

    url = urlsplit(server_url("mysql"))
    conn = MySQLdb.connect(host=url.hostname, port=url.port or 3306, user=unquote(url.username or ""),
                           passwd=unquote(url.password or ""), autocommit=True)  # fmt: skip
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT schema_name FROM information_schema.schemata WHERE schema_comment LIKE %s",
                           ["migration_harness kept %"])  # fmt: skip
            for (name,) in cursor.fetchall():
                cursor.execute("DROP DATABASE IF EXISTS `" + name.replace("`", "``") + "`")
    finally:
        conn.close()


def measure(project: Path, tests: int, backend: str) -> dict:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(ROOT)}  # this checkout's helpers
    if backend == "sqlite":
        env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(project), "--tests", str(tests), "--backend", backend],
        capture_output=True, text=True, env=env, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([line, sep, *body])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MariaDB"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--depths", default="0,40,120")
    parser.add_argument("--depth-tests", type=int, default=5)
    parser.add_argument("--backend", default="sqlite", help="one or more of sqlite,postgresql,mysql")
    parser.add_argument("--runs", default="1,5,20", help="Table 3: tests per pytest run")
    parser.add_argument("--mysql-tests", type=int, default=5, help="--tests on MariaDB")
    parser.add_argument("--mysql-depths", default="0,40", help="--depths on MariaDB")
    parser.add_argument("--mysql-runs", default="1,5", help="--runs on MariaDB")
    parser.add_argument("--only-runs", action="store_true", help="Table 3 only")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child), args.tests, args.backend)))
        return
    backends = [b.strip() for b in args.backend.split(",") if b.strip()]
    unknown = [b for b in backends if b not in NAMES]
    if unknown or not backends:
        raise SystemExit(f"--backend {args.backend!r}: choose among {', '.join(NAMES)} (comma-separated)")
    for backend in backends:
        if backend != "sqlite":
            server_url(backend)  # before anything runs: a missing server is said at once
    for backend in backends:
        short = backend == "mysql"
        run_backend(backend, tests=args.mysql_tests if short else args.tests,
                    depths=args.mysql_depths if short else args.depths, depth_tests=args.depth_tests,
                    runs=args.mysql_runs if short else args.runs, only_runs=args.only_runs)  # fmt: skip


def run_backend(backend_key: str, *, tests: int, depths: str, depth_tests: int, runs: str,
                only_runs: bool) -> None:  # fmt: skip
    """The three tables on one backend."""
    backend = NAMES[backend_key]
    counts = [int(x) for x in runs.split(",")]
    print(f"Table 3: whole pytest runs (wall time, one process each) of N tests of django-allauth's "
          f"{CORPUS_Y[0]}.{CORPUS_Y[1]} on tests/realproject, {backend}\n")  # fmt: skip
    print(corpus_table(backend_key, counts))
    print()
    if only_runs:
        return

    main_run = measure(PROJECT, tests, backend_key)
    h, d = main_run["harness"], main_run["dtm"]
    print(f"Table 1: the same {tests} tests of roster.0003_combine_names on the kit's project "
          f"({main_run['migrations']} migrations; {main_run['before_x']} before X), {backend}\n")  # fmt: skip
    rows = [
        ["MigrationHarness", ms(sum(h)), ms(h[0]), ms(statistics.median(h[1:] or h)), "1.0×"],
        ["django-test-migrations", ms(sum(d)), ms(d[0]), ms(statistics.median(d[1:] or d)),
         f"{sum(d) / sum(h):.1f}×"],
    ]  # fmt: skip
    print(table(["tool", "total", "first test", "per test (median of the rest)", "total vs harness"], rows))
    print(f"\nMigrationHarness is {sum(d) / sum(h):.1f}× faster in total.\n")

    rows = []
    with tempfile.TemporaryDirectory(prefix="mh-bench-") as folder:
        for depth in [int(x) for x in depths.split(",")]:
            run = measure(variant(depth, Path(folder)), depth_tests, backend_key)
            hm = statistics.median(run["harness"][1:] or run["harness"])
            dm = statistics.median(run["dtm"][1:] or run["dtm"])
            rows.append([str(run["before_x"]), str(run["migrations"]), ms(hm), ms(dm), f"{dm / hm:.1f}×"])
    print(f"Table 2: per-test cost vs migrations before X (median of {depth_tests - 1} tests "
          f"after the first), {backend}\n")  # fmt: skip
    print(table(["migrations before X", "migrations in project", "MigrationHarness",
                 "django-test-migrations", "ratio"], rows))  # fmt: skip
    print()


if __name__ == "__main__":
    main()

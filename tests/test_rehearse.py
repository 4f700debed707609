"""``rehearse_migrate``: the plan of ``migrate`` run on a throwaway copy, the real database untouched.

The sandbox's ``books`` app gets a ``code`` field added unique (0002), then
relaxed to non-unique (0003). Rolling back to 0002 re-adds the unique
constraint: it fails only when two rows share a code. Each test snapshots the
real database (every table's rows, the schema, ``django_migrations``) before
and after the rehearsal and compares them exactly. Runs on the pass's backend
(SQLite, or PostgreSQL with DATABASE_URL); the lock report and the connected
session are PostgreSQL only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from helpers.notebook.sandbox import Sandbox

ADD_CODE = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("books", "0001_initial")]
    operations = [
        migrations.AddField("book", "code", models.CharField(max_length=10, unique=True, null=True)),
    ]
"""

RELAX_CODE = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("books", "0002_add_code")]
    operations = [
        migrations.AlterField("book", "code", models.CharField(max_length=10, null=True)),
        migrations.AddField("book", "pages", models.IntegerField(null=True)),
    ]
"""


def snapshot(sb: Sandbox) -> str:
    """Every table's rows, the schema and django_migrations, as one comparable text."""
    tables = [row[0] for row in sb.tables().rows]
    return "\n".join([repr(sb.schema()), repr(sb.applied()), *(repr(sb.rows(t)) for t in tables)])


def seed(sb: Sandbox, codes: list[str]) -> None:
    sb.query("INSERT INTO authors_author (name) VALUES ('Ann')")
    for i, code in enumerate(codes):
        sb.query(
            "INSERT INTO books_book (title, author_id, code) SELECT %s, id, %s FROM authors_author",
            [f"Book {i}", code],
        )


@pytest.fixture
def sb():
    with Sandbox(["authors", "books"]) as sandbox:
        sandbox.write("books/migrations/0002_add_code.py", ADD_CODE)
        sandbox.write("books/migrations/0003_relax_code.py", RELAX_CODE)
        sandbox.run("migrate").check()
        yield sandbox


def test_rollback_failing_on_the_rows_reports_the_real_error_and_changes_nothing(sb):
    seed(sb, ["A", "A", "B"])
    before = snapshot(sb)
    result = sb.run("rehearse_migrate", "books", "0002")
    assert result.returncode == 1, result
    assert "Unapply books.0003_relax_code: FAILED" in result.stdout
    assert "IntegrityError" in result.stdout and "IntegrityError" in result.stderr
    # The reversal meets the last operation first: the removed column is fine, the unique is not.
    assert "2. Add field pages to book: ok" in result.stdout
    assert "1. Alter field code on book: FAILED: IntegrityError" in result.stdout
    assert "Traceback" not in result.stderr
    assert snapshot(sb) == before
    assert ("books", "0003_relax_code") in [tuple(r) for r in sb.applied("books").rows]
    # The real rollback fails the same way: the rehearsal told the truth.
    assert sb.run("migrate", "books", "0002").returncode != 0


def test_same_rollback_without_the_violating_rows_passes_and_changes_nothing(sb):
    seed(sb, ["A", "B", "C"])
    before = snapshot(sb)
    result = sb.run("rehearse_migrate", "books", "0002")
    assert result.returncode == 0, result
    assert "Unapply books.0003_relax_code: ok" in result.stdout
    assert "1. Alter field code on book: ok" in result.stdout
    assert "The whole plan ran on the copy." in result.stdout
    assert snapshot(sb) == before
    assert sb.run("migrate", "books", "0002").returncode == 0  # and the real one does too


def test_forwards_plan_runs_on_the_copy_only(sb):
    sb.run("migrate", "books", "0001").check()
    seed(sb, [])
    before = snapshot(sb)
    result = sb.run("rehearse_migrate", "books")
    assert result.returncode == 0, result
    assert "Apply books.0002_add_code: ok" in result.stdout
    assert "Apply books.0003_relax_code: ok" in result.stdout
    assert result.stdout.index("0002_add_code") < result.stdout.index("0003_relax_code")
    assert snapshot(sb) == before
    assert "code" not in repr(sb.columns("books_book"))


def test_library_result_and_nothing_to_do(sb):
    out = sb.shell(
        """
        import json
        from helpers.analysis.rehearse import rehearse_migrate
        r = rehearse_migrate("books", "zero")
        n = rehearse_migrate("books")
        print(json.dumps([r.ok, [(m.name, m.backwards, m.ok) for m in r.migrations], n.ok, n.migrations]))
        """
    )
    assert out.ok, out
    ok, steps, nothing_ok, nothing = json.loads(out.stdout.strip().splitlines()[-1])
    assert ok is True
    assert steps == [["0003_relax_code", True, True], ["0002_add_code", True, True], ["0001_initial", True, True]]
    assert nothing_ok is True and nothing == []


def test_bad_input_exits_2_without_traceback_and_changes_nothing(sb):
    before = snapshot(sb)
    cases = {
        ("bookz",): "No installed app with label 'bookz'",
        ("books", "0009"): "Cannot find a migration matching '0009' from app 'books'",
        ("books", "000"): "More than one migration matches '000'",
        ("books", "--database", "nope"): "Unknown database alias 'nope'",
    }
    for args, message in cases.items():
        result = sb.run("rehearse_migrate", *args)
        assert result.returncode == 2, (args, result)
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    assert snapshot(sb) == before


def test_postgresql_lock_report_names_the_altered_table(sb):
    if sb.db.backend != "postgresql":
        pytest.skip("lock report: PostgreSQL only")
    result = sb.run("rehearse_migrate", "books", "0002")
    assert result.returncode == 0, result
    lock_lines = [line for line in result.stdout.splitlines() if "locks before commit:" in line]
    assert len(lock_lines) == 1
    assert "books_book AccessExclusiveLock" in lock_lines[0]
    assert "django_migrations RowExclusiveLock" in lock_lines[0]


def test_postgresql_rehearsal_while_another_session_holds_the_original(sb):
    if sb.db.backend != "postgresql":
        pytest.skip("another session: PostgreSQL only")
    import psycopg

    seed(sb, ["A", "A"])
    before = snapshot(sb)
    with psycopg.connect(sb.db.url) as other:
        # An open transaction reading the table: CREATE DATABASE ... TEMPLATE would refuse.
        other.execute("SELECT count(*) FROM books_book").fetchone()
        result = sb.run("rehearse_migrate", "books", "0002", timeout=120)
        assert result.returncode == 1, result
        assert "IntegrityError" in result.stdout
        assert other.execute("SELECT count(*) FROM books_book").fetchone() == (2,)
    assert snapshot(sb) == before
    leftovers = sb.query("SELECT datname FROM pg_database WHERE datname LIKE '%%_rehearse_%%'")
    assert "_rehearse_" not in repr(leftovers)


def test_a_failed_step_lists_what_was_not_run(sb):
    seed(sb, ["A", "A"])
    out = sb.shell(
        """
        import json
        from helpers.analysis.rehearse import rehearse_migrate
        r = rehearse_migrate("books", "zero")
        print(json.dumps([r.ok, [(m.name, m.ok) for m in r.migrations], r.not_run, r.migrations[0].error]))
        """
    )
    assert out.ok, out
    ok, steps, not_run, error = json.loads(out.stdout.strip().splitlines()[-1])
    assert ok is False
    assert steps == [["0003_relax_code", False]]
    assert not_run == ["Unapply books.0002_add_code", "Unapply books.0001_initial"]
    assert error.startswith("IntegrityError: ")


INTERRUPT = """
import os
import signal

from django.db import migrations


def interrupt(apps, schema_editor):
    os.kill(os.getpid(), signal.SIGINT)


class Migration(migrations.Migration):
    dependencies = [("books", "0003_relax_code")]
    operations = [migrations.RunPython(migrations.RunPython.noop, interrupt)]
"""


def test_ctrl_c_during_the_rehearsal_still_drops_the_copy(sb, tmp_path):
    sb.write("books/migrations/0004_interrupt.py", INTERRUPT)
    sb.run("migrate").check()
    seed(sb, ["A"])
    before = snapshot(sb)
    result = sb.run("rehearse_migrate", "books", "0003", env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 130, result
    assert "Interrupted: the copy was dropped" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # the SQLite copy's folder is gone
    assert snapshot(sb) == before
    if sb.db.backend == "postgresql":
        leftovers = sb.query("SELECT datname FROM pg_database WHERE datname LIKE '%%_rehearse_%%'")
        assert "_rehearse_" not in repr(leftovers)


def test_postgresql_without_client_programs_copies_by_template(sb):
    if sb.db.backend != "postgresql":
        pytest.skip("PostgreSQL only")
    seed(sb, ["A", "A"])
    before = snapshot(sb)
    out = sb.shell(
        """
        import json
        import helpers.analysis.rehearse as rehearse
        rehearse._pg_program = lambda name: None
        r = rehearse.rehearse_migrate("books", "0002")
        print(json.dumps([r.method, r.ok, r.migrations[0].error]))
        """
    )
    assert out.ok, out
    method, ok, error = json.loads(out.stdout.strip().splitlines()[-1])
    assert method == "CREATE DATABASE ... TEMPLATE"
    assert ok is False and error.startswith("IntegrityError: could not create unique index")
    assert snapshot(sb) == before


SQUASHED = """
from django.db import migrations, models


class Migration(migrations.Migration):
    replaces = [("books", "0002_add_code"), ("books", "0003_relax_code")]
    dependencies = [("books", "0001_initial")]
    operations = [
        migrations.AddField("book", "code", models.CharField(max_length=10, null=True)),
        migrations.AddField("book", "pages", models.IntegerField(null=True)),
    ]
"""


def test_a_target_replaced_by_a_squash_is_bad_input_naming_the_squash(sb):
    sb.run("migrate", "books", "0001").check()
    sb.write("books/migrations/0002_squashed_0003.py", SQUASHED)
    before = snapshot(sb)
    result = sb.run("rehearse_migrate", "books", "0002_add")
    if __import__("django").VERSION >= (6, 0):  # migrate plans it without the squash: so does the kit
        assert result.returncode == 0, result
        assert "Apply books.0002_add" in result.stdout and "squashed" not in result.stdout
    else:
        assert result.returncode == 2, result
        assert "is replaced by the squashed migration books.0002_squashed_0003" in result.stderr
    assert "Traceback" not in result.stderr
    # The squash itself is a fine target: applied on the copy only.
    ok = sb.run("rehearse_migrate", "books", "0002_squashed_0003")
    assert ok.returncode == 0, ok
    assert "Apply books.0002_squashed_0003: ok" in ok.stdout
    assert snapshot(sb) == before


REAL_PROJECT = Path(__file__).parent / "realproject"
REAL_SEED = """
from people.models import User
from allauth.account.models import EmailAddress
for name in ("ada", "bob"):
    user = User.objects.create_user(name, f"{name}@example.com")
    EmailAddress.objects.create(user=user, email="same@example.com", verified=False, primary=False)
"""


@pytest.fixture
def real_project(tmp_path):
    """tests/realproject (django-allauth and friends from PyPI), migrated, on the pass's backend."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    server = os.environ.get("DATABASE_URL") if os.environ.get("KIT_BACKEND") == "postgresql" else None
    name = f"rehearse_real_{uuid.uuid4().hex[:8]}"
    if server:
        import psycopg

        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        env["REALPROJECT_DATABASE_URL"] = server.rsplit("/", 1)[0] + "/" + name
    else:
        env["REALPROJECT_SQLITE"] = str(tmp_path / "real.sqlite3")

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REAL_PROJECT, env=env, capture_output=True, text=True
        )

    try:
        assert manage("migrate", "-v0").returncode == 0
        yield manage
    finally:
        if server:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def real_snapshot(manage) -> str:
    """Rows (dumpdata), schema (inspectdb) and applied migrations, by Django's own commands."""
    return "\n".join(manage(*args).stdout for args in (("dumpdata", "--all"), ("inspectdb",), ("showmigrations",)))


def test_real_allauth_rollback_decided_by_the_rows(real_project):
    manage = real_project
    assert manage("shell", "-c", REAL_SEED).returncode == 0
    before = real_snapshot(manage)
    result = manage("rehearse_migrate", "account", "0003")
    assert result.returncode == 1, result
    assert "Unapply account.0005_emailaddress_idx_upper_email: ok" in result.stdout
    assert "Unapply account.0004_alter_emailaddress_drop_unique_email: FAILED" in result.stdout
    assert "1. Alter field email on emailaddress: FAILED: IntegrityError" in result.stdout
    assert real_snapshot(manage) == before
    real = manage("migrate", "account", "0003")  # Django's own rollback agrees
    assert real.returncode != 0 and "IntegrityError" in real.stderr

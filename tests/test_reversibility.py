"""The reversibility check: finds every irreversible operation, and only those.

The test project is a sandbox whose ``books`` app gets hand-written migrations
seeded with each kind of irreversible operation next to reversible look-alikes.
The findings are compared exactly, so a missed operation (or a false alarm on a
reversible one) fails. The ``fails-with-rows`` kind is then proven real: the
reversal that the check flags does fail on a table with rows, and works on an
empty one. Runs on the pass's backend (SQLite, or PostgreSQL with DATABASE_URL).
"""

from __future__ import annotations

import json

import pytest

from helpers.notebook.sandbox import Sandbox

ADD_FIELDS = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("books", "0001_initial")]
    operations = [
        migrations.AddField("book", "isbn", models.CharField(max_length=13, default="x"), preserve_default=False),
        migrations.AddField("book", "pages", models.IntegerField(null=True)),
        migrations.AddField("book", "rating", models.IntegerField(default=0)),
        migrations.AddField("book", "note", models.CharField(max_length=50, blank=True)),
        migrations.AddField("book", "ref", models.CharField(max_length=10, unique=True, default="r")),
    ]
"""

SEEDED = """
from django.db import migrations


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("books", "0002_add_fields")]
    operations = [
        migrations.RunSQL("UPDATE books_book SET pages = 1"),
        migrations.RunSQL("UPDATE books_book SET pages = 2", reverse_sql=migrations.RunSQL.noop),
        migrations.RunPython(forwards),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RemoveField("book", "isbn"),
        migrations.RemoveField("book", "pages"),
        migrations.RemoveField("book", "rating"),
        migrations.RemoveField("book", "note"),
        migrations.RemoveField("book", "ref"),
    ]
"""

NESTED = """
from django.db import migrations
from django.db.migrations.operations.base import Operation


class Shred(Operation):
    reversible = False

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def describe(self):
        return "Shred the archive"


class Migration(migrations.Migration):
    dependencies = [("books", "0003_seeded")]
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL("SELECT 1", reverse_sql="SELECT 1"),
                migrations.RunSQL("SELECT 2"),
            ],
        ),
        Shred(),
    ]
"""

EXPECTED = {
    ("0004_nested", "2", "irreversible"),
    ("0004_nested", "1 > database_operations 2", "nested-irreversible"),
    ("0003_seeded", "9", "fails-with-rows"),
    ("0003_seeded", "5", "fails-with-rows"),
    ("0003_seeded", "3", "runpython-without-reverse"),
    ("0003_seeded", "1", "runsql-without-reverse"),
}

REPORT_AS_JSON = """
import json
from helpers.analysis.reversibility import check_reversible
report = check_reversible({args})
print(json.dumps({{"ok": report.ok, "migrations": report.migrations, "checked": report.operations_checked,
    "findings": [[f.migration, f.position, f.kind] for f in report.findings]}}))
"""


def report(sb: Sandbox, *args: str, **kwargs: object) -> dict:
    params = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    result = sb.shell(REPORT_AS_JSON.format(args=params))
    assert result.ok, result
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def seeded():
    with Sandbox(["authors", "books"]) as sb:
        sb.write("books/migrations/0002_add_fields.py", ADD_FIELDS)
        sb.write("books/migrations/0003_seeded.py", SEEDED)
        sb.write("books/migrations/0004_nested.py", NESTED)
        yield sb


def test_finds_every_seeded_kind_and_nothing_else(seeded):
    found = report(seeded, "books")
    assert {tuple(f) for f in found["findings"]} == EXPECTED
    assert len(found["findings"]) == len(EXPECTED)
    assert found["ok"] is False
    assert found["migrations"] == ["books.0004_nested", "books.0003_seeded", "books.0002_add_fields", "books.0001_initial"]
    assert found["checked"] == 2 + 9 + 5 + 1
    # Reported in the order the reversal would meet them: last migration first, last operation first.
    assert [f[:2] for f in found["findings"]][:2] == [["0004_nested", "2"], ["0004_nested", "1 > database_operations 2"]]


def test_a_target_limits_the_check_to_what_would_be_unapplied(seeded):
    assert {tuple(f) for f in report(seeded, "books", "0003")["findings"]} == {
        f for f in EXPECTED if f[0] == "0004_nested"
    }
    assert report(seeded, "books", "0004")["migrations"] == []
    # Reversing authors to zero unapplies books too (it depends on authors): same findings.
    assert {tuple(f) for f in report(seeded, "authors")["findings"]} == EXPECTED


def test_command_prints_findings_and_exits_1(seeded):
    result = seeded.run("check_reversible", "books", "0002")
    assert result.returncode == 1
    assert "[runsql-without-reverse] RunSQL has no reverse_sql" in result.stdout
    assert "books.0003_seeded, operation 5 (Remove field isbn from book): [fails-with-rows]" in result.stdout
    assert "re-adding NOT NULL field book.isbn with no default" in result.stdout
    assert "re-adding unique field book.ref" in result.stdout
    assert "0004_nested" in result.stdout and "operation 2 (Shred the archive): [irreversible]" in result.stdout
    assert "CommandError: 6 operations cannot be reversed." in result.stderr
    # With --data-dependent-ok the two fails-with-rows findings are warnings; the rest still fail.
    relaxed = seeded.run("check_reversible", "books", "0002", "--data-dependent-ok")
    assert relaxed.returncode == 1
    assert relaxed.stdout.count("  warning: ") == 2
    assert "4 operations cannot be reversed." in relaxed.stderr


def test_bad_input_names_the_candidates_exits_2_and_runs_nothing(seeded):
    tables_before = repr(seeded.tables())
    unknown_app = seeded.run("check_reversible", "bookz")
    assert unknown_app.returncode == 2
    assert "No installed app with label 'bookz'. Apps with migrations: admin, auth, authors, books" in unknown_app.stderr
    unknown = seeded.run("check_reversible", "books", "0009")
    assert unknown.returncode == 2
    assert (
        "Cannot find a migration matching '0009' from app 'books'. Its migrations are: 0001_initial, "
        "0002_add_fields, 0003_seeded, 0004_nested (or zero)." in unknown.stderr
    )
    ambiguous = seeded.run("check_reversible", "books", "000")
    assert ambiguous.returncode == 2
    assert "More than one migration matches '000' in app 'books': 0001_initial, 0002_add_fields" in ambiguous.stderr
    assert repr(seeded.tables()) == tables_before  # no django_migrations table was even created


def test_a_fully_reversible_project_passes_and_really_reverses_with_rows():
    with Sandbox(["authors", "books"]) as sb:
        sb.write("books/migrations/0002_add_fields.py", ADD_FIELDS.replace('default="x"), preserve_default=False', 'default="x")'))
        sb.write(
            "books/migrations/0003_remove.py",
            """
            from django.db import migrations

            class Migration(migrations.Migration):
                dependencies = [("books", "0002_add_fields")]
                operations = [
                    migrations.RunSQL("UPDATE books_book SET pages = 2", reverse_sql=migrations.RunSQL.noop),
                    migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop),
                    migrations.RemoveField("book", "isbn"),
                    migrations.RemoveField("book", "pages"),
                ]
            """,
        )
        # Scoped to books: Django's own auth migrations re-impose max_length (reported, fine on SQLite).
        result = sb.run("check_reversible", "books")
        assert result.returncode == 0, result
        assert "Every operation can be reversed." in result.stdout
        assert report(sb, "books")["findings"] == []
        # And the reversal really works with one row in the table (unique ref keeps a single row).
        sb.run("migrate", "-v0").check()
        sb.run("loaddata", "authors").check()
        sb.query("INSERT INTO books_book (title, author_id, published, rating, note, ref) VALUES ('T', 1, NULL, 0, '', 'r')")
        sb.run("migrate", "books", "zero", "-v0").check()
        assert "books_book" not in repr(sb.tables("books"))


def test_fails_with_rows_is_real_fails_on_rows_and_passes_when_empty():
    with Sandbox(["authors", "books"]) as sb:
        sb.write("books/migrations/0002_add_fields.py", "\n".join(
            line for line in ADD_FIELDS.splitlines() if "AddField" not in line or '"isbn"' in line
        ))
        sb.write(
            "books/migrations/0003_remove_isbn.py",
            """
            from django.db import migrations

            class Migration(migrations.Migration):
                dependencies = [("books", "0002_add_fields")]
                operations = [migrations.RemoveField("book", "isbn")]
            """,
        )
        assert [f[2] for f in report(sb, "books", "0002")["findings"]] == ["fails-with-rows"]
        sb.run("migrate", "-v0").check()
        # Empty table: Django reverses it without complaint (why a rehearsal on an empty DB misses it).
        sb.run("migrate", "books", "0002", "-v0").check()
        sb.run("migrate", "-v0").check()
        sb.run("loaddata", "authors", "books").check()
        applied = sb.run("check_reversible", "books", "0002", "--applied")
        failed = sb.run("migrate", "books", "0002")
        if sb.backend == "mysql":
            # MySQL's own expectation: ADD COLUMN ... NOT NULL fills existing rows with the type's
            # implicit default ('' for a varchar), even in strict mode, so this rollback runs.
            assert failed.returncode == 0, failed.output
            assert sb.rows("books_book", columns=["isbn"]).column("isbn") == [""] * 5
            assert applied.returncode == 0 and "MySQL fills the re-added column" in applied.stdout, applied.stdout
            return
        assert applied.returncode == 1 and "5 rows violate it" in applied.stdout, applied.stdout
        assert failed.returncode == 1
        assert "IntegrityError" in failed.stderr or "NotNullViolation" in failed.stderr, failed.stderr
        assert sb.count("books_book") == 5
        assert [r[1] for r in sb.applied("books").rows][-1] == "0003_remove_isbn"  # rolled back, still applied


def test_the_nested_irreversible_operation_really_fails_halfway_with_not_implemented():
    with Sandbox(["authors", "books"]) as sb:
        nested = NESTED.replace("0003_seeded", "0001_initial").replace("        Shred(),\n", "")
        sb.write("books/migrations/0002_nested.py", nested)
        assert [f[1:] for f in report(sb, "books", "0001")["findings"]] == [
            ["1 > database_operations 2", "nested-irreversible"]
        ]
        sb.run("migrate", "-v0").check()
        failed = sb.run("migrate", "books", "0001")
        assert failed.returncode == 1
        assert "Unapplying books.0002_nested..." in failed.stdout
        assert "NotImplementedError: You cannot reverse this operation" in failed.stderr
        assert "IrreversibleError" not in failed.stderr  # Django did not see it coming
        assert [r[1] for r in sb.applied("books").rows][-1] == "0002_nested"


def test_the_committed_project_is_reversible():
    with Sandbox(["authors", "books"]) as sb:
        result = sb.run("check_reversible", "books")
        assert result.returncode == 0
        assert "Backwards plan for books to zero" in result.stdout
        assert "Every operation can be reversed." in result.stdout


def test_breakdown_cleanup_is_never_a_false_positive_and_really_reverses_with_rows():
    """The kit's own breakdown_migrations: the cleanup (once ``RemoveMovedField``) restores its values.

    Catches: ``check_reversible`` judging the cleanup's state-only ``RemoveField`` (or a
    ``RemoveMovedField``) by ``RemoveField``'s database rule (a ``fails-with-rows``/``data-lost``
    finding, exit 1), statically or ``--applied``;
    and a cleanup whose reversal does not bring every value back.
    """
    pytest.importorskip("bdmodels")
    from test_breakdown import ORIGINAL, THREE, checksum, models_text

    with Sandbox(["central"]) as sb:
        sb.run("migrate", "-v0").check()
        sb.run("loaddata", "central").check()
        sb.shell("from central.sample import fill; fill(15, start=100)").check()
        assert sb.count("central_central") == 20
        before = checksum(sb, ORIGINAL)
        sb.write("central/models.py", models_text(THREE))
        sb.run("breakdown_migrations", "central").check()
        sb.run("migrate", "central", "-v0").check()
        cleanup = sb.read("central/migrations/0004_breakdown_cleanup.py")
        # e..j left central_central: RemoveField in the state, a RunPython that restores them backwards
        assert cleanup.count("migrations.RemoveField(") == 6 and "SeparateDatabaseAndState" in cleanup
        for args in (("central", "0001"), ("central", "0001", "--applied")):
            result = sb.run("check_reversible", *args)
            assert result.returncode == 0, result
        for applied in (True, False):
            findings = report(sb, "central", "0001", assume_all_applied=applied)["findings"]
            assert [f for f in findings if f[0].startswith("central.0004")] == [], findings
        sb.run("migrate", "central", "0001", "-v0").check()  # the real rollback, with the 20 rows
        assert checksum(sb, ORIGINAL) == before


def test_a_reversed_runpython_that_runs_first_makes_the_finding_a_warning_and_the_rollback_works():
    """Django's contenttypes.0002: its RunPython's reverse refills ``name`` before NOT NULL returns.

    Catches: reporting the re-imposed NOT NULL as an ERROR (exit 1) although the real
    rollback, run below on the content type rows, succeeds.
    """
    with Sandbox(["authors", "books"]) as sb:
        sb.run("migrate", "-v0").check()
        assert sb.count("django_content_type") > 0
        for extra in ((), ("--applied",)):
            out = sb.run("check_reversible", "contenttypes", "0001", *extra).stdout
            line = next(x for x in out.splitlines() if "contenttypes.0002" in x)
            assert line.strip().startswith("warning:"), out
            assert "the reverse of operation 3 (Raw Python operation) runs before it" in line
        sb.run("migrate", "contenttypes", "0001", "-v0").check()  # the real rollback, with rows
        assert sb.applied("contenttypes").column("name") == ["0001_initial"]


#: NOT NULL fields with no default (preserve_default=False), removed, then re-added by the rollback.
READDED = {
    "isbn": 'models.CharField(max_length=13, default="x")',
    "pages": "models.IntegerField(default=1)",
    "day": 'models.DateField(default="2020-01-01")',
    "stamp": 'models.DateTimeField(default="2020-01-01T00:00:00Z")',
    "blurb": 'models.TextField(default="b")',
    "meta": "models.JSONField(default=dict)",
    "flag": "models.BooleanField(default=True)",
    "code": 'models.CharField(max_length=10, unique=True, default="c")',
    "editor": 'models.ForeignKey("authors.Author", models.CASCADE, related_name="+", default=1)',
    "loose": 'models.ForeignKey("authors.Author", models.CASCADE, related_name="+", default=1, db_constraint=False)',
}
#: What the real rollback does on MariaDB 10.11 in strict mode (STRICT_TRANS_TABLES), 5 rows.
FAILS_ON_MYSQL = {"code", "editor"}


@pytest.fixture(scope="module")
def readded():
    """Books with 5 rows, books.0003 (a RemoveField) applied, and a backup to go back to after each case."""
    with Sandbox(["authors", "books"]) as sb:
        sb.write("books/migrations/0002_add.py", _readded_migrations("isbn", READDED["isbn"])[0])
        sb.write("books/migrations/0003_remove.py", _readded_migrations("isbn", READDED["isbn"])[1])
        sb.run("migrate", "-v0").check()
        sb.run("loaddata", "authors", "books").check()
        sb.run("backup_database", "readded").check()
        yield sb


def _readded_migrations(name: str, field: str) -> tuple[str, str]:
    add = f"""
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("books", "0001_initial"), ("authors", "0001_initial")]
    operations = [migrations.AddField("book", "{name}", {field}, preserve_default=False)]
"""
    remove = f"""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("books", "0002_add")]
    operations = [migrations.RemoveField("book", "{name}")]
"""
    return add, remove


def _check_then_roll_back(sb: Sandbox, name: str):
    add, remove = _readded_migrations(name, READDED[name])
    sb.write("books/migrations/0002_add.py", add)  # the same migrations, another field
    sb.write("books/migrations/0003_remove.py", remove)
    try:
        check = sb.run("check_reversible", "books", "0002", "--applied")
        real = sb.run("migrate", "books", "0002", "-v0")
        values = sb.rows("books_book").rows if real.ok else None
    finally:
        sb.run("restore_database", "readded").check()
    return check, real, values


@pytest.mark.parametrize("name", sorted(READDED))
def test_applied_check_of_a_readded_not_null_column_is_the_real_rollback(readded, name):
    """check_reversible --applied compared with a real rollback on the same 5 rows, field type by type.

    Catches: a backend-blind --applied finding (on MySQL every one of these would be an ERROR,
    though MySQL fills most re-added columns with an implicit default and the rollback runs),
    and a MySQL rule that lets a rollback pass that the foreign key or unique index refuses.
    """
    sb = readded
    check, real, values = _check_then_roll_back(sb, name)
    line = next(x for x in check.stdout.splitlines() if "books.0003_remove" in x)
    assert (check.returncode == 0) == real.ok, (check.stdout, real.stderr)
    assert "5 rows violate it" in line, line
    if sb.backend != "mysql":
        assert not real.ok and line.strip().startswith("ERROR:"), line
        return
    assert real.ok is (name not in FAILS_ON_MYSQL), real.stderr
    if real.ok:
        assert line.strip().startswith("fine:") and "MySQL fills the re-added column" in line, line
        assert len(values) == 5
    else:
        assert line.strip().startswith("ERROR:") and "on MySQL" in line, line


def test_on_mysql_a_zero_date_fails_where_the_sql_mode_refuses_it(readded):
    """MySQL's TRADITIONAL sql_mode (strict and NO_ZERO_DATE) refuses the implicit '0000-00-00'.

    Catches: the zero-date rule ignoring the connection's sql_mode (the check would say fine,
    the real rollback fails).
    """
    sb = readded
    if sb.backend != "mysql":
        pytest.skip("MySQL's sql_mode (runs in the MySQL pass)")
    settings_file = sb.path("mysite/settings.py")
    original = settings_file.read_text()
    settings_file.write_text(original + "\nDATABASES['default']['OPTIONS']['init_command'] = \"SET sql_mode='TRADITIONAL'\"\n")
    try:
        check, real, _ = _check_then_roll_back(sb, "day")
    finally:
        settings_file.write_text(original)
    assert not real.ok and "Incorrect date value" in real.stderr, real.stderr
    assert check.returncode == 1 and "NO_ZERO_DATE" in check.stdout, check.stdout

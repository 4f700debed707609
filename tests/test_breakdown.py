"""The breakdown_migrations command (helpers.writers.breakdown) on a real project and database.

Each test copies the tutorial project's ``central`` app into a sandbox,
migrates it, fills it with rows, rewrites the model with broken-down models,
and runs the real ``manage.py`` commands. Runs on SQLite, and on PostgreSQL
in the PostgreSQL pass.

``KIT_BREAKDOWN_ROWS`` sets the row count of the round-trip checksum test
(default 100000, as the issue asks; about 10-20 s per backend on 2 shared
cores); the other tests use the 5 fixture rows.
"""

from __future__ import annotations

import os
import textwrap

import pytest

from helpers.notebook.sandbox import Sandbox

FIELDS = {
    "e": "models.BooleanField()",
    "f": "models.TextField()",
    "g": "models.DecimalField(max_digits=8, decimal_places=2)",
    "h": "models.UUIDField(null=True)",
    "i": "models.IntegerField(default=0)",
    "j": "models.CharField(max_length=20)",
}
PK = "models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')"
ORIGINAL = "SELECT id, a, b, c, d, e, f, g, h, i, j FROM central_central ORDER BY id"


def models_text(groups: list[list[str]], *, pk: str = PK, links: list[int] | None = None,
                base: str = "BrokenDownModel, ") -> str:
    """models.py with one partial per group of moved fields, and the new Central."""
    out = ["from django.db import models", "",
           "from bdmodels.fields import VirtualParentLink",
           "from bdmodels.models import BrokenDownModel", ""]
    for n, group in enumerate(groups, 1):
        out += ["", f"class Group{n}(models.Model):", f"    group{n}_id = models.IntegerField(primary_key=True)"]
        out += [f"    {name} = {FIELDS[name]}" for name in group]
        out.append("")
    parents = ", ".join(f"Group{n}" for n in range(1, len(groups) + 1))
    out += ["", f"class Central({base}{parents}):", f"    id = {pk}"]
    for n in links or range(1, len(groups) + 1):
        out.append(f"    group{n}_ptr = VirtualParentLink(Group{n})")
    out += ["    a = models.IntegerField()", "    b = models.CharField(max_length=100)",
            "    c = models.DateTimeField()", "    d = models.DateField()", ""]
    return "\n".join(out)


def joined(groups: list[list[str]]) -> str:
    """The original columns, read through the partials' tables."""
    where = {name: f"g{n}" for n, group in enumerate(groups, 1) for name in group}
    cols = ", ".join(f"{where.get(c, 'c')}.{c}" for c in "abcdefghij")
    joins = " ".join(f"JOIN central_group{n} g{n} ON g{n}.group{n}_id = c.id" for n in range(1, len(groups) + 1))
    return f"SELECT c.id, {cols} FROM central_central c {joins} ORDER BY c.id"


def checksum(sb: Sandbox, sql: str) -> str:
    result = sb.shell(f"from central.sample import checksum; print(checksum({sql!r}))").check()
    return result.stdout.strip().splitlines()[-1]


def names(sb: Sandbox) -> list[str]:
    return sb.migration_files("central")


@pytest.fixture
def sb():
    with Sandbox(["central"]) as sandbox:
        sandbox.run("migrate", "-v0").check()
        sandbox.run("loaddata", "central").check()
        yield sandbox


THREE = [["e", "f"], ["g", "h"], ["i", "j"]]


def test_three_partials_forwards_backwards_forwards(sb):
    before = checksum(sb, ORIGINAL)
    columns_before = sb.columns("central_central").rows
    sb.write("central/models.py", models_text(THREE))
    out = sb.run("breakdown_migrations", "central").check().stdout
    assert names(sb) == ["0001_initial", "0002_breakdown", "0003_breakdown_copy", "0004_breakdown_cleanup"]
    assert out.count("Add virtual field") == 3 and out.count("Copy the values") == 3
    schema = sb.read("central/migrations/0002_breakdown.py")
    assert schema.count("bdmodels.migration_ops.AddVirtualField(") == 3
    assert "default=0, from_field" not in schema and "AlterField" not in schema
    assert schema.index("group1_ptr") < schema.index("group2_ptr") < schema.index("group3_ptr")
    copy = sb.read("central/migrations/0003_breakdown_copy.py")
    assert copy.count("migrations.RunPython(") == 1 and copy.count("INSERT INTO") == 1 and "helpers" not in copy
    cleanup = sb.read("central/migrations/0004_breakdown_cleanup.py")
    assert cleanup.count("migrations.RemoveField(") == 6 and "helpers" not in cleanup
    assert sb.run("makemigrations", "--check", "--dry-run", "central").ok
    sb.run("migrate", "central").check()
    assert sb.count("central_group3") == 5
    assert {r[0] for r in sb.columns("central_central")} == {"id", "a", "b", "c", "d"}
    assert checksum(sb, joined(THREE)) == before
    # The ORM reads every value through the partials.
    orm = sb.shell("""
        from central.models import Central
        print(sorted(Central.objects.values_list('pk', 'e', 'h', 'j'))[1])
    """).check().stdout
    assert "(2, False, None, 'green')" in orm
    sb.run("migrate", "central", "0001").check()
    assert checksum(sb, ORIGINAL) == before
    # Every column back with its definition: NOT NULL restored (nullable only h, as before).
    assert sb.columns("central_central").rows == columns_before
    assert "central_group1" not in sb.tables().column("table")
    sb.run("migrate", "central").check()
    assert checksum(sb, joined(THREE)) == before


def test_round_trip_checksums_on_many_rows(sb):
    rows = int(os.environ.get("KIT_BREAKDOWN_ROWS", "100000"))
    sb.shell(f"from central.sample import fill; fill({rows}, start=100)").check()
    before = checksum(sb, ORIGINAL)
    assert before.startswith(f"({rows + 5}, ")
    groups = [["e", "f", "g"], ["h", "i", "j"]]
    sb.write("central/models.py", models_text(groups))
    sb.run("breakdown_migrations", "central").check()
    sb.run("migrate", "central").check()
    forwards = checksum(sb, joined(groups))
    sb.run("migrate", "central", "0001").check()
    backwards = checksum(sb, ORIGINAL)
    sb.run("migrate", "central").check()
    again = checksum(sb, joined(groups))
    assert forwards == backwards == again == before


def test_an_error_in_the_copy_migration_changes_nothing_and_a_retry_succeeds(sb):
    before = checksum(sb, ORIGINAL)
    sb.write("central/models.py", models_text(THREE))
    sb.run("breakdown_migrations", "central").check()
    sb.run("migrate", "central", "0002").check()
    copy = "central/migrations/0003_breakdown_copy.py"
    good = sb.read(copy)
    head, tail = good.rsplit("    ]\n", 1)
    sb.write(copy, head.replace("class Migration", textwrap.dedent("""\
        def fail(apps, schema_editor):
            raise RuntimeError("injected failure after the copy")


        class Migration""")) + "        migrations.RunPython(fail),\n    ]\n" + tail)
    failed = sb.run("migrate", "central")
    assert not failed.ok and "injected failure after the copy" in failed.stderr
    # SQLite and PostgreSQL roll the whole migration back; MySQL has no transactional
    # migration (each operation commits on its own): there the copy stays, half-applied.
    copied = 5 if sb.backend == "mysql" else 0
    assert sb.count("central_group1") == sb.count("central_group2") == sb.count("central_group3") == copied
    assert checksum(sb, ORIGINAL) == before
    assert sb.applied("central").column("name")[-1] == "0002_breakdown"
    sb.write(copy, good)
    sb.run("migrate", "central").check()  # on MySQL the retry copies again, no duplicate key
    assert sb.count("central_group1") == sb.count("central_group2") == sb.count("central_group3") == 5
    assert checksum(sb, joined(THREE)) == before


def test_the_copy_alone_goes_back_and_forwards_again(sb):
    """Back to the schema migration (the partials' tables stay) and forwards again: the copy's
    reverse puts the values back and empties the partials of them (the library's reverse leaves
    them, so its copy then fails on duplicate keys)."""
    before = checksum(sb, ORIGINAL)
    sb.write("central/models.py", models_text(THREE))
    sb.run("breakdown_migrations", "central").check()
    sb.run("migrate", "central", "0003").check()
    assert checksum(sb, joined(THREE)) == before
    # Values changed through the partials while the copy is applied go back with it.
    sb.query("UPDATE central_group3 SET j = 'changed' WHERE group3_id = 2")
    changed = checksum(sb, joined(THREE))
    assert changed != before
    sb.run("migrate", "central", "0002").check()
    assert sb.count("central_group1") == sb.count("central_group2") == sb.count("central_group3") == 0
    assert sb.query("SELECT j FROM central_central WHERE id = 2").column("j") == ["changed"]
    assert checksum(sb, ORIGINAL) == changed
    sb.run("migrate", "central").check()
    assert checksum(sb, joined(THREE)) == changed
    sb.run("migrate", "central", "0001").check()
    assert checksum(sb, ORIGINAL) == changed



@pytest.mark.parametrize("syntax", [None, "subquery"])
def test_the_copy_back_restores_every_value_in_each_syntax(sb, syntax):
    """The UPDATE written into the files: the database's own (None: UPDATE ... FROM on SQLite and
    PostgreSQL, UPDATE ... JOIN on MySQL) and the standard correlated subqueries (other databases)."""
    before = checksum(sb, ORIGINAL)
    sb.write("central/models.py", models_text(THREE))
    sb.run("breakdown_migrations", "central").check()
    sb.run("migrate", "central", "0003").check()
    sb.query("UPDATE central_central SET e = NOT e, f = 'x', g = 0, h = NULL, i = -1, j = 'y'")
    assert checksum(sb, ORIGINAL) != before
    sb.shell(f"""
        import importlib
        from django.db import connection
        from django.db.migrations.loader import MigrationLoader
        written = importlib.import_module("central.migrations.0003_breakdown_copy")
        apps = MigrationLoader(connection).project_state(("central", "0003_breakdown_copy")).apps
        parts = [(apps.get_model("central", p), names) for p, names in written.MOVED["Central"].items()]
        with connection.schema_editor() as editor:
            written.update_from_partials(editor, apps.get_model("central", "Central"), parts, {syntax!r})
    """).check()
    assert checksum(sb, ORIGINAL) == before


def refused(sb: Sandbox, *args: str) -> str:
    files = {name: sb.read(f"central/migrations/{name}.py") for name in names(sb)}
    result = sb.run("breakdown_migrations", "central", *args)
    assert result.returncode == 1, result
    assert "Nothing was written" in result.stderr or "nothing to write" in result.stderr
    assert {name: sb.read(f"central/migrations/{name}.py") for name in names(sb)} == files
    return result.stderr


def test_refuses_unapplied_migrations(sb):
    sb.write("central/models.py", models_text(THREE))
    sb.run("migrate", "central", "zero").check()
    assert "has unapplied migrations: 0001_initial" in refused(sb)


def test_refuses_conflicting_migrations(sb):
    sb.write("central/migrations/0002_other.py", """
        from django.db import migrations

        class Migration(migrations.Migration):
            dependencies = [("central", "0001_initial")]
    """)
    sb.write("central/migrations/0002_another.py", sb.read("central/migrations/0002_other.py"))
    sb.write("central/models.py", models_text(THREE))
    assert "Conflicting migrations in app 'central': 0002_another, 0002_other" in refused(sb)


def test_refuses_a_model_that_is_not_broken_down(sb):
    text = models_text(THREE, base="").replace("BrokenDownModel, Group1", "Group1")
    sb.write("central/models.py", text)
    assert "Central in app 'central' has parent models but is not a broken-down model" in refused(sb)


def test_refuses_an_app_without_broken_down_model(sb):
    assert "has no broken-down model" in refused(sb)


def test_refuses_when_the_migrations_already_exist(sb):
    sb.write("central/models.py", models_text(THREE))
    sb.run("breakdown_migrations", "central").check()
    assert "has unapplied migrations: 0002_breakdown, 0003_breakdown_copy" in refused(sb)
    sb.run("migrate", "central").check()
    assert "add no virtual field: their breakdown already has its migrations" in refused(sb)


def test_the_documented_id_changes_the_state_only(sb):
    """The library's ``id = models.<AutoField>(primary_key=True)``: state follows, table untouched."""
    columns = sb.columns("central_central").rows
    sb.write("central/models.py", models_text(THREE, pk="models.BigAutoField(primary_key=True)"))
    sb.run("breakdown_migrations", "central").check()
    schema = sb.read("central/migrations/0002_breakdown.py")
    assert "migrations.SeparateDatabaseAndState(\n            state_operations=[\n" in schema
    assert "field=models.BigAutoField(primary_key=True, serialize=False)" in schema
    sb.run("migrate", "central", "0002").check()
    assert sb.columns("central_central").rows == columns
    assert sb.run("makemigrations", "--check", "--dry-run", "central").ok


def test_refuses_a_primary_key_whose_column_would_change(sb):
    sb.write("central/models.py", models_text(THREE, pk="models.AutoField(primary_key=True)"))
    message = refused(sb)
    assert "change the column of central.id, the primary key (BigAutoField to AutoField)" in message
    assert "Write it as id = models.BigAutoField(primary_key=True)" in message


def test_refuses_other_changes_mixed_with_the_breakdown(sb):
    sb.write("central/models.py", models_text(THREE).replace(
        "    d = models.DateField()", "    d = models.DateField()\n    k = models.IntegerField(null=True)"))
    assert "hold changes besides the breakdown: Add field k to central" in refused(sb)


def test_a_second_breakdown_keeps_the_order_of_the_links(sb):
    sb.write("central/models.py", models_text([["e", "f", "g"]]).replace(
        "    d = models.DateField()", "    d = models.DateField()\n    h = models.UUIDField(null=True)\n"
        "    i = models.IntegerField(default=0)\n    j = models.CharField(max_length=20)"))
    sb.run("breakdown_migrations", "central").check()
    sb.run("migrate", "central").check()
    # Group2 now, its link written before group1_ptr: refused, with the fix.
    sb.write("central/models.py", models_text([["e", "f", "g"], ["h", "i", "j"]], links=[2, 1]))
    assert "keep VirtualParentLink fields in the order in which they were added" in refused(sb)
    sb.write("central/models.py", models_text([["e", "f", "g"], ["h", "i", "j"]]))
    sb.run("breakdown_migrations", "central").check()
    assert names(sb)[-3:] == ["0005_breakdown", "0006_breakdown_copy", "0007_breakdown_cleanup"]
    sb.run("migrate", "central").check()
    assert sb.run("makemigrations", "--check", "--dry-run", "central").ok
    assert sb.query("SELECT j FROM central_group2 WHERE group2_id = 3").column("j") == ["blue"]


def test_dry_run_writes_nothing(sb):
    sb.write("central/models.py", models_text(THREE))
    out = sb.run("breakdown_migrations", "central", "--dry-run").check().stdout
    assert "central/migrations/0002_breakdown.py (not written: dry run)" in out
    assert names(sb) == ["0001_initial"]


UNREACHABLE = {"DATABASE_URL": "postgres://nobody@127.0.0.1:9/nosuch"}


def test_dry_run_needs_no_database_and_writing_says_why_it_does(sb):
    sb.write("central/models.py", models_text(THREE))
    out = sb.run("breakdown_migrations", "central", "--dry-run", env=UNREACHABLE).check().stdout
    assert out.count("(not written: dry run)") == 3 and "Copy the values of Group3" in out
    result = sb.run("breakdown_migrations", "central", env=UNREACHABLE)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Writing the breakdown needs database 'default', to check that every migration" in result.stderr
    assert "--dry-run shows the migrations without it. Nothing was written." in result.stderr
    assert names(sb) == ["0001_initial"]


def test_unknown_database_alias(sb):
    sb.write("central/models.py", models_text(THREE))
    message = refused(sb, "--database", "nosuch")
    assert "CommandError: Unknown database alias 'nosuch': the project's databases are 'default'. Nothing was written." in message


def test_a_write_that_fails_for_real_leaves_no_file(sb):
    """The third file hits the file-size limit (EFBIG) after the first two were written."""
    sb.write("central/models.py", models_text(THREE))
    sb.run("breakdown_migrations", "central").check()
    sizes = [len(sb.read(f"central/migrations/{n}.py").encode()) for n in names(sb)[1:]]
    for n in names(sb)[1:]:
        sb.delete(f"central/migrations/{n}.py")
    assert max(sizes[:2]) < sizes[2], sizes  # the cleanup is the largest: it fails last
    result = sb.shell(f"""
        import resource, signal
        from django.core.management import call_command
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({max(sizes[:2]) + 10}, resource.RLIM_INFINITY))
        call_command("breakdown_migrations", "central")
    """)
    assert not result.ok
    assert "CommandError: Cannot write" in result.stderr and "0004_breakdown_cleanup.py: File too large" in result.stderr
    folder = sb.root / "central" / "migrations"
    assert sorted(p.name for p in folder.iterdir() if p.name != "__pycache__") == ["0001_initial.py", "__init__.py"]

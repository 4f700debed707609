"""breakdown_migrations on broken-down-models' own scenarios, and its written files without the kit.

The library's test app (``test_bdmodels/testapp`` and ``testmigs`` in its
repository, release 0.5.0) covers: virtual parent links added to partial
models that already exist (its migration 0002, several models at once), a new
broken-down model with fields from an abstract mixin (``TimeStampedChild``), a
new one with a non-parent virtual field (``ChildWithVirtualNonParent``), and a
breakdown of a big model into a partial with the documented
``id = models.AutoField(primary_key=True)`` (``testmigs``). The models here are
written for the kit in the same shapes. Every scenario runs forwards,
backwards to the start and forwards again with every table's rows compared,
on SQLite and (in the PostgreSQL pass) PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.notebook.sandbox import Sandbox, SandboxError

HEAD = """\
from django.conf import settings
from django.db import models

from bdmodels.fields import VirtualOneToOneField, VirtualParentLink
from bdmodels.models import BrokenDownModel


class ParentA(models.Model):
    aid = models.AutoField(primary_key=True)
    para_name = models.CharField(max_length=10)
    para_zit = models.BooleanField(default=True)


class ParentB(models.Model):
    bid = models.AutoField(primary_key=True)
    parb_name = models.CharField(max_length=10)
    parb_zit = models.BooleanField(default=True)


class TimeStampMixin(models.Model):
    created_on = models.DateTimeField("created on", db_index=True, auto_now_add=True, editable=False)
    last_modified = models.DateTimeField("last modified", auto_now=True, editable=False)

    class Meta:
        abstract = True

"""
CHILD_PLAIN = """
class Child(models.Model):
    id = models.AutoField(primary_key=True)
    child_name = models.CharField(max_length=10)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE)


class Nephew(models.Model):
    id = models.AutoField(primary_key=True)
    nephew_name = models.CharField(max_length=10)
"""
CHILD_LINKED = """
class Child(BrokenDownModel, ParentA, ParentB):
    id = models.AutoField(primary_key=True)
    parenta_ptr = VirtualOneToOneField(ParentA, "id", parent_link=True, on_delete=models.DO_NOTHING)
    parentb_ptr = VirtualOneToOneField(ParentB, "id", parent_link=True, on_delete=models.DO_NOTHING)
    child_name = models.CharField(max_length=10)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE)


class Nephew(BrokenDownModel, ParentA):
    id = models.AutoField(primary_key=True)
    parenta_ptr = VirtualParentLink(ParentA, on_delete=models.DO_NOTHING)
    nephew_name = models.CharField(max_length=10)
"""
TIMESTAMPED = """
class TimeStampedChild(BrokenDownModel, TimeStampMixin, ParentA, ParentB):
    id = models.AutoField(primary_key=True)
    parenta_ptr = VirtualOneToOneField(ParentA, "id", parent_link=True, on_delete=models.DO_NOTHING)
    parentb_ptr = VirtualOneToOneField(ParentB, "id", parent_link=True, on_delete=models.DO_NOTHING)
    child_name = models.CharField(max_length=10)
"""
NON_PARENT = """
class ChildWithVirtualNonParent(BrokenDownModel, ParentA):
    id = models.AutoField(primary_key=True)
    parenta_ptr = VirtualParentLink(ParentA, on_delete=models.DO_NOTHING)
    b = VirtualOneToOneField(ParentB, "id", on_delete=models.DO_NOTHING)
    child_name = models.CharField(max_length=10)
"""
BIG_PLAIN = """
class BigModel(models.Model):
    id = models.AutoField(primary_key=True)
    a = models.BooleanField(default=True)
    b = models.BooleanField(null=True)
    c = models.IntegerField(default=3)
    d = models.CharField(max_length=10, default="hi")
    e = models.CharField(max_length=10)
"""
BIG_BROKEN = """
class Partial(models.Model):
    partial_id = models.IntegerField(primary_key=True)
    c = models.IntegerField(default=3)
    d = models.CharField(max_length=10, default="hi")
    e = models.CharField(max_length=10)


class BigModel(BrokenDownModel, Partial):
    id = models.AutoField(primary_key=True)
    partial_ptr = VirtualParentLink(Partial, on_delete=models.PROTECT)
    a = models.BooleanField(default=True)
    b = models.BooleanField(null=True)
"""
ROWS = """
from django.db import connection
qn = connection.ops.quote_name
with connection.cursor() as cur:
    for n in range(1, 41):
        cur.execute("INSERT INTO central_parenta (aid, para_name, para_zit) VALUES (%s, %s, %s)",
                    [n, f"a{n}", n % 2 == 0])
        cur.execute("INSERT INTO central_parentb (bid, parb_name, parb_zit) VALUES (%s, %s, %s)",
                    [n, f"b{n}", n % 3 == 0])
        cur.execute("INSERT INTO central_child (id, child_name, user_id) VALUES (%s, %s, NULL)", [n, f"c{n}"])
        cur.execute("INSERT INTO central_nephew (id, nephew_name) VALUES (%s, %s)", [n, f"n{n}"])
        cur.execute("INSERT INTO central_bigmodel (id, a, b, c, d, e) VALUES (%s, %s, %s, %s, %s, %s)",
                    [n, n % 2 == 0, None if n % 5 == 0 else n % 3 == 0, n * 7, f"d{n}", f"e{n}"])
"""
TABLES = ["central_parenta", "central_parentb", "central_child", "central_nephew"]
BIG = "SELECT id, a, b, c, d, e FROM central_bigmodel ORDER BY id"
BIG_JOINED = (
    "SELECT m.id, m.a, m.b, p.c, p.d, p.e FROM central_bigmodel m "
    "JOIN central_partial p ON p.partial_id = m.id ORDER BY m.id"
)


def checksum(sb: Sandbox, sql: str) -> str:
    result = sb.shell(f"from central.sample import checksum; print(checksum({sql!r}))").check()
    return result.stdout.strip().splitlines()[-1]


def sums(sb: Sandbox) -> dict[str, str]:
    return {t: checksum(sb, f"SELECT * FROM {t} ORDER BY 1") for t in TABLES}


def clean(sb: Sandbox) -> None:
    result = sb.run("makemigrations", "--check", "--dry-run", "central")
    assert result.ok and "No changes detected" in result.stdout, result


@pytest.fixture
def lib():
    """The central app rewritten as the library's test app, migrated, with 40 rows per table."""
    with Sandbox(["central"]) as sb:
        sb.delete("central/migrations/0001_initial.py")
        sb.write("central/admin.py", "")
        sb.write("central/models.py", HEAD + CHILD_PLAIN + BIG_PLAIN)
        sb.run("makemigrations", "central", "-v0").check()
        sb.run("migrate", "-v0").check()
        sb.shell(ROWS).check()
        yield sb


def test_library_scenarios_forwards_backwards_forwards(lib):
    sb = lib
    before, big = sums(sb), checksum(sb, BIG)
    # 1. Links to partials that already exist, on two models at once (library's 0002).
    sb.write("central/models.py", HEAD + CHILD_LINKED + BIG_PLAIN)
    out = sb.run("breakdown_migrations", "central").check().stdout
    assert sb.migration_files("central") == ["0001_initial", "0002_breakdown"]
    assert out.count("Add virtual field") == 3 and "Copy" not in out
    clean(sb)
    # 2. A new broken-down model, fields from an abstract mixin (library's TimeStampedChild).
    sb.run("migrate", "central").check()
    sb.write("central/models.py", HEAD + CHILD_LINKED + TIMESTAMPED + BIG_PLAIN)
    out = sb.run("breakdown_migrations", "central").check().stdout
    assert "Create model TimeStampedChild" in out and out.count("Add virtual field") == 2
    clean(sb)
    # 3. A new one with a non-parent virtual field (library's ChildWithVirtualNonParent).
    sb.run("migrate", "central").check()
    sb.write("central/models.py", HEAD + CHILD_LINKED + TIMESTAMPED + NON_PARENT + BIG_PLAIN)
    out = sb.run("breakdown_migrations", "central").check().stdout
    assert "Add virtual field b to ChildWithVirtualNonParent" in out.replace(
        "childwithvirtualnonparent", "ChildWithVirtualNonParent"
    )
    clean(sb)
    # 4. A breakdown with the documented id = models.AutoField(primary_key=True) (library's testmigs).
    sb.run("migrate", "central").check()
    sb.write("central/models.py", HEAD + CHILD_LINKED + TIMESTAMPED + NON_PARENT + BIG_BROKEN)
    sb.run("breakdown_migrations", "central").check()
    assert sb.migration_files("central")[-3:] == [
        "0005_breakdown",
        "0006_breakdown_copy",
        "0007_breakdown_cleanup",
    ]
    clean(sb)
    sb.run("migrate", "central").check()
    clean(sb)
    assert sums(sb) == before and checksum(sb, BIG_JOINED) == big
    # No column for any virtual field; the ORM reads through every link.
    assert [c for c in sb.columns("central_child").column("column") if c.endswith("ptr_id")] == []
    orm = (
        sb.shell("""
        from central.models import BigModel, Child, ChildWithVirtualNonParent, Nephew, TimeStampedChild
        c = Child.objects.get(pk=7)
        print(c.para_name, c.parb_name, Nephew.objects.get(pk=8).para_name, BigModel.objects.get(pk=9).d)
        t = TimeStampedChild.objects.create(id=100, child_name="t", para_name="x", parb_name="y")
        w = ChildWithVirtualNonParent.objects.create(id=100, child_name="w", para_name="x")
        print(TimeStampedChild.objects.get(pk=100).para_name, w.b.parb_name, t.created_on is not None)
    """)
        .check()
        .stdout.strip()
        .splitlines()
    )
    assert " ".join(orm[-2:]).split() == ["a7", "b7", "a8", "d9", "x", "y", "True"]
    sb.shell("""
        from central.models import ChildWithVirtualNonParent, ParentA, ParentB, TimeStampedChild
        TimeStampedChild.objects.filter(id=100).delete(); ChildWithVirtualNonParent.objects.filter(id=100).delete()
        ParentA.objects.filter(aid=100).delete(); ParentB.objects.filter(bid=100).delete()
    """).check()
    # Backwards to the start: every value as it was, NOT NULL and defaults back.
    sb.run("migrate", "central", "0001").check()
    assert sums(sb) == before and checksum(sb, BIG) == big
    assert "central_timestampedchild" not in sb.tables().column("table")
    nulls = dict(
        zip(
            sb.columns("central_bigmodel").column("column"),
            sb.columns("central_bigmodel").column("null"),
            strict=True,
        )
    )
    assert nulls == {"id": False, "a": False, "b": True, "c": False, "d": False, "e": False}
    sb.run("migrate", "central").check()
    assert sums(sb) == before and checksum(sb, BIG_JOINED) == big


def test_written_files_import_only_django_and_bdmodels(lib):
    sb = lib
    sb.write("central/models.py", HEAD + CHILD_LINKED + TIMESTAMPED + NON_PARENT + BIG_BROKEN)
    sb.run("breakdown_migrations", "central").check()
    for name in sb.migration_files("central")[1:]:
        imports = {
            line.split()[1].split(".")[0]
            for line in sb.read(f"central/migrations/{name}.py").splitlines()
            if line.startswith(("import ", "from "))
        }
        assert imports <= {"django", "bdmodels", "copy"}, (name, imports)


def without_kit(sb: Sandbox) -> dict[str, str]:
    """Take helpers out of INSTALLED_APPS and make it unimportable; the env to run with."""
    settings = sb.read("mysite/settings.py")
    assert '    "helpers",\n' in settings
    sb.write("mysite/settings.py", settings.replace('    "helpers",\n', ""))
    fake = Path(sb.root) / "_no_kit" / "helpers"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('the kit is not installed here')\n")
    return {"PYTHONPATH": str(fake.parent)}


def test_round_trip_without_the_kit_two_partials():
    """The tutorial's breakdown with two partials, migrated with the kit gone."""
    rows = int(os.environ.get("KIT_BREAKDOWN_ROWS_NOKIT", "2000"))
    from test_breakdown import ORIGINAL, joined, models_text

    with Sandbox(["central"]) as sb:
        sb.run("migrate", "-v0").check()
        sb.run("loaddata", "central").check()
        sb.shell(f"from central.sample import fill; fill({rows}, start=100)").check()
        before = checksum(sb, ORIGINAL)
        groups = [["e", "f", "g"], ["h", "i", "j"]]
        sb.write("central/models.py", models_text(groups, pk="models.BigAutoField(primary_key=True)"))
        sb.run("breakdown_migrations", "central").check()
        env = without_kit(sb)
        gone = sb.shell("import helpers", env=env)
        assert not gone.ok and "the kit is not installed here" in gone.stderr  # the kit really is gone
        with pytest.raises(SandboxError, match="Unknown management command 'breakdown_migrations'"):
            sb.run("breakdown_migrations", "central", env=env)
        migrate = sb.run("migrate", "central", env=env).check()
        assert "Applying central.0004_breakdown_cleanup... OK" in migrate.stdout
        assert checksum(sb, joined(groups)) == before
        sb.run("migrate", "central", "0001", env=env).check()
        assert checksum(sb, ORIGINAL) == before
        sb.run("migrate", "central", env=env).check()
        assert checksum(sb, joined(groups)) == before
        assert (
            "No changes detected"
            in sb.run("makemigrations", "--check", "--dry-run", "central", env=env).stdout
        )

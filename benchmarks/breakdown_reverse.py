"""Reverse a breakdown on a big table: the kit's cleanup against the library's plain recipe, in one run.

    .venv/bin/python benchmarks/breakdown_reverse.py [--rows N] [--backend sqlite|postgresql|mysql]

In a sandbox of the tutorial project, ``central`` is rebuilt with defaults on
the six fields that move (so that the library's plain recipe, a cleanup of
``RemoveField``s, can be reversed at all: without a default a ``NOT NULL``
column cannot come back on a table with rows), filled with N rows (default
1,000,000) and broken down into two partials with ``breakdown_migrations``.
Then, each from the fully migrated state, ``migrate central 0001`` is timed
with:

* the kit's cleanup (``SeparateDatabaseAndState`` + ``RunPython``: columns
  re-added nullable, filled, ``NOT NULL`` restored, on SQLite in one rebuild);
* the library's recipe (plain ``RemoveField``s: on SQLite each field's reverse
  rebuilds the table, then the copy's reverse fills the values: the kit's copy
  migration, whose reverse is the library's ``UPDATE`` joining the partial, in
  the database's own syntax).

Both reversals are checked to restore every value (checksum of all rows).
``migrate central`` with nothing to do is timed too: the floor of a
``manage.py`` run. Prints a table with the ratio plain / kit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.notebook.sandbox import Sandbox
from helpers.notebook.widgets import progress

WIDE = '''
from django.db import models


class Central(models.Model):
    a = models.IntegerField()
    b = models.CharField(max_length=100)
    c = models.DateTimeField()
    d = models.DateField()
    e = models.BooleanField(default=False)
    f = models.TextField(default="")
    g = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    h = models.UUIDField(null=True)
    i = models.IntegerField(default=0)
    j = models.CharField(max_length=20, default="")
'''

BROKEN = '''
from django.db import models

from bdmodels.fields import VirtualParentLink
from bdmodels.models import BrokenDownModel


class Group1(models.Model):
    group1_id = models.IntegerField(primary_key=True)
    e = models.BooleanField(default=False)
    f = models.TextField(default="")
    g = models.DecimalField(max_digits=8, decimal_places=2, default=0)


class Group2(models.Model):
    group2_id = models.IntegerField(primary_key=True)
    h = models.UUIDField(null=True)
    i = models.IntegerField(default=0)
    j = models.CharField(max_length=20, default="")


class Central(BrokenDownModel, Group1, Group2):
    id = models.BigAutoField(primary_key=True)
    group1_ptr = VirtualParentLink(Group1)
    group2_ptr = VirtualParentLink(Group2)
    a = models.IntegerField()
    b = models.CharField(max_length=100)
    c = models.DateTimeField()
    d = models.DateField()
'''

PLAIN_CLEANUP = '''from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [("central", "0003_breakdown_copy")]

    operations = [migrations.RemoveField(model_name="central", name=n) for n in "efghij"]
'''

ORIGINAL = "SELECT id, a, b, c, d, e, f, g, h, i, j FROM central_central ORDER BY id"
CLEANUP = "central/migrations/0004_breakdown_cleanup.py"


def checksum(sb: Sandbox) -> str:
    code = f"from central.sample import checksum; print(checksum({ORIGINAL!r}))"
    return sb.shell(code, timeout=3600).check().stdout.strip().splitlines()[-1]


def timed(sb: Sandbox, *args: str) -> float:
    start = time.perf_counter()
    sb.run(*args, timeout=7200).check()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "mysql"], default="sqlite")
    args = parser.parse_args()
    with Sandbox(["central"], backend=args.backend) as sb:
        sb.write("central/admin.py", "")
        sb.delete("central/migrations/0001_initial.py")
        sb.write("central/models.py", WIDE)
        sb.run("makemigrations", "central", "-v0").check()
        sb.run("migrate", "-v0").check()
        chunk = 100_000
        with progress(args.rows, f"Filling central with {args.rows:,} rows") as bar:
            for start in range(1, args.rows + 1, chunk):
                count = min(chunk, args.rows - start + 1)
                code = f"from central.sample import fill; fill({count}, start={start})"
                sb.shell(code, timeout=3600).check()
                bar.advance(count)
        before = checksum(sb)
        sb.write("central/models.py", BROKEN)
        sb.run("breakdown_migrations", "central").check()
        kit_cleanup = sb.read(CLEANUP)
        results = {}
        for name, text in [("kit: SeparateDatabaseAndState + RunPython", kit_cleanup),
                           ("library's recipe: plain RemoveField", PLAIN_CLEANUP)]:
            sb.write(CLEANUP, text)
            sb.run("migrate", "central", "-v0", timeout=7200).check()
            floor = timed(sb, "migrate", "central", "-v0")
            seconds = timed(sb, "migrate", "central", "0001", "-v0")
            assert checksum(sb) == before, f"{name}: values differ after the reversal"
            results[name] = (seconds, floor)
        kit = results["kit: SeparateDatabaseAndState + RunPython"][0]
        print(f"| reversal of the breakdown ({args.backend}, {args.rows:,} rows) | seconds | vs kit |")
        print("|---|---:|---:|")
        for name, (seconds, _floor) in results.items():
            print(f"| {name} | {seconds:.2f} | {seconds / kit:.2f}x |")
        floor = min(f for _, f in results.values())
        print(f"| manage.py migrate with nothing to do (floor) | {floor:.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

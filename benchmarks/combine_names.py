"""How fast is the guide's ``combine_names`` data migration, and the alternatives?

The guide's loop (``for person in Person.objects.all(): ...; person.save()``) issues one
UPDATE per row. This benchmark runs, in a real sandbox on the configured backend (SQLite, or
PostgreSQL when DATABASE_URL is set), four versions of the same data migration body over the
same rows, checks that every version produces identical rows (checksum), and prints a table
with each version's time and its ratio to the guide's loop.

    .venv/bin/python benchmarks/combine_names.py [ROWS]
"""

from __future__ import annotations

import sys

from helpers.notebook.sandbox import Sandbox

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 20000

CODE = '''
import hashlib, time
from django.db import connection, transaction
from django.db.models import Value
from django.db.models.functions import Concat
from members.models import Person

N = {rows}

def reset():
    Person.objects.all().delete()
    Person.objects.bulk_create(
        Person(first_name=f"First{{i}}", last_name=f"Last{{i}}", name="") for i in range(N))

def checksum():
    rows = list(Person.objects.order_by("first_name").values_list("first_name", "last_name", "name"))
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:12]

def guide_loop():
    for p in Person.objects.all():
        p.name = f"{{p.first_name}} {{p.last_name}}"
        p.save()

def loop_update_fields():
    for p in Person.objects.all():
        p.name = f"{{p.first_name}} {{p.last_name}}"
        p.save(update_fields=["name"])

def bulk_update():
    people = list(Person.objects.only("first_name", "last_name"))
    for p in people:
        p.name = f"{{p.first_name}} {{p.last_name}}"
    Person.objects.bulk_update(people, ["name"], batch_size=1000)

def one_update():
    Person.objects.update(name=Concat("first_name", Value(" "), "last_name"))

results = []
for fn in (guide_loop, loop_update_fields, bulk_update, one_update):
    reset()
    with transaction.atomic():  # as a migration does
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
    results.append((fn.__name__, elapsed, checksum()))
base = results[0][1]
print(f"backend: {{connection.vendor}}, rows: {{N}}")
print(f"{{'version':<22}} {{'seconds':>8}} {{'vs guide loop':>14}}  checksum")
for name, t, digest in results:
    print(f"{{name:<22}} {{t:8.3f}} {{base / t:13.1f}}x  {{digest}}")
assert len({{d for _, _, d in results}}) == 1, "versions disagree"
'''


def main() -> None:
    with Sandbox(["members"]) as sb:
        sb.edit("members/models.py", "    last_name = models.CharField(max_length=50)\n",
                "    last_name = models.CharField(max_length=50)\n"
                "    name = models.CharField(max_length=101, blank=True)\n")
        sb.run("makemigrations", "members").check()
        sb.run("migrate", "--verbosity", "0").check()
        result = sb.shell(CODE.format(rows=ROWS), timeout=1800)
        print(result.stdout.split("automatically (use -v 2 for details).\n")[-1], end="")
        if not result.ok:
            print(result.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()

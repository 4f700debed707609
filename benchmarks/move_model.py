"""Benchmark: moving a model with move_model vs copying its rows into a new table.

    .venv/bin/python benchmarks/move_model.py [--sizes 1000 1000000] [--backends sqlite postgresql mysql]

For each backend and size, a sandbox of the tutorial project gets N cars (and N
rows in the cars' many-to-many table), the class ``Car`` is moved to ``newapp``
in the code, and two ways of moving the data are timed, each inside one
``manage.py shell`` (interpreter start-up excluded):

* **kit**: the migrations written by ``move_model``, applied with ``migrate``
  (a table rename: the cost should not depend on the table's size);
* **naive copy**: what you do by hand without it: create the new tables,
  ``INSERT ... SELECT`` every row, drop the old tables (the fastest form of
  dump-and-reload: no serialisation, all inside the database).
  On MySQL, which has no ``DROP TABLE ... CASCADE``, the old tables are dropped
  with foreign-key checks off, leaving the other tables' foreign keys to be
  re-pointed by hand (not timed): the naive figure there is a lower bound.

The kit's move must cost the same whatever the size: time(1,000,000 rows) /
time(1,000 rows) at most 1.5.

For reference, the same run also times one **empty migration** at each size:
the floor every migration pays. On SQLite that floor grows with the database,
because Django's SQLite schema editor checks every foreign key of the database
(``PRAGMA foreign_key_check``) when a migration ends; the move's migrations
pay it three times.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.notebook.sandbox import Sandbox, mysql_available, postgres_available

FILL = {
    "sqlite": [
        "INSERT INTO oldapp_feature (id, name) VALUES (1, 'air conditioning')",
        "INSERT INTO oldapp_car (id, name, color) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
        "SELECT i + 1 FROM n WHERE i < {n}) SELECT i, 'car ' || i, 'red' FROM n",
        "INSERT INTO oldapp_car_features (car_id, feature_id) SELECT id, 1 FROM oldapp_car",
    ],
    "postgresql": [
        "INSERT INTO oldapp_feature (id, name) VALUES (1, 'air conditioning')",
        "INSERT INTO oldapp_car (id, name, color) OVERRIDING SYSTEM VALUE "
        "SELECT i, 'car ' || i, 'red' FROM generate_series(1, {n}) i",
        "INSERT INTO oldapp_car_features (car_id, feature_id) SELECT id, 1 FROM oldapp_car",
        "ANALYZE",
    ],
    "mysql": [  # MariaDB's SEQUENCE engine: seq_1_to_N is a table of 1..N
        "INSERT INTO oldapp_feature (id, name) VALUES (1, 'air conditioning')",
        "INSERT INTO oldapp_car (id, name, color) SELECT seq, CONCAT('car ', seq), 'red' FROM seq_1_to_{n}",
        "INSERT INTO oldapp_car_features (car_id, feature_id) SELECT id, 1 FROM oldapp_car",
        "ANALYZE TABLE oldapp_car, oldapp_car_features",
    ],
}

EMPTY = """
import time
from django.core.management import call_command
t = time.perf_counter()
call_command("migrate", "oldapp", verbosity=0)
print(time.perf_counter() - t)
"""

KIT = """
import time
from django.core.management import call_command
t = time.perf_counter()
call_command("migrate", verbosity=0)
print(time.perf_counter() - t)
"""

NAIVE = """
import time
from django.db import connection
from newapp.models import Car
qn = connection.ops.quote_name
t = time.perf_counter()
with connection.schema_editor(atomic=True) as editor:
    editor.create_model(Car)
    editor.execute("INSERT INTO newapp_car (id, name, color) SELECT id, name, color FROM oldapp_car")
    editor.execute("INSERT INTO newapp_car_features (id, car_id, feature_id) "
                   "SELECT id, car_id, feature_id FROM oldapp_car_features")
    if connection.vendor == "mysql":  # no DROP ... CASCADE: other tables' foreign keys point here
        editor.execute("SET foreign_key_checks = 0")
    for table in ("oldapp_car_features", "oldapp_car"):
        editor.execute(editor.sql_delete_table % {"table": qn(table)})
print(time.perf_counter() - t)
"""


def move_car_in_code(sb: Sandbox) -> None:
    source = sb.read("oldapp/models.py")
    start, end = source.index("class Car("), source.index("class Rental(")
    sb.write("oldapp/models.py", source[:start] + source[end:])
    sb.edit("oldapp/models.py", "models.ForeignKey(Car,", 'models.ForeignKey("newapp.Car",')
    sb.write("newapp/models.py", "from django.db import models\n\nfrom oldapp.models import Feature\n\n\n"
             + source[start:end])


def seconds(result) -> float:
    result.check()
    return float(result.stdout.strip().splitlines()[-1])


def measure(backend: str, n: int) -> tuple[float, float, float]:
    with Sandbox(["oldapp", "newapp"], backend=backend) as sb:
        sb.run("migrate", "-v0").check()
        for statement in FILL[backend]:
            sb.query(statement.format(n=int(n)))
        assert sb.count("oldapp_car") == n
        sb.run("makemigrations", "oldapp", "--empty", "--name", "nothing").check()
        empty = seconds(sb.shell(EMPTY))
        move_car_in_code(sb)
        sb.run("move_model", "oldapp.Car", "newapp").check()
        kit = seconds(sb.shell(KIT))
        assert sb.count("newapp_car") == n
        assert sb.count("newapp_car_features") == n
        # Back to the start, then the naive copy on the same data.
        sb.run("migrate", "oldapp", "0002", "-v0").check()
        assert sb.count("oldapp_car") == n
        naive = seconds(sb.shell(NAIVE))
        assert sb.count("newapp_car") == n
        assert sb.count("newapp_car_features") == n
        return kit, naive, empty


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql", "mysql"])
    args = parser.parse_args()
    available = {"postgresql": postgres_available, "mysql": mysql_available}
    backends = [b for b in args.backends if b not in available or available[b]()]
    skipped = sorted(set(args.backends) - set(backends))
    print("| backend | rows | kit move (migrate) | naive copy (INSERT SELECT) | naive / kit "
          "| one empty migration |")
    print("|---|---:|---:|---:|---:|---:|")
    failed = False
    for backend in backends:
        results = {}
        for n in args.sizes:
            kit, naive, empty = measure(backend, n)
            results[n] = kit
            print(f"| {backend} | {n:,} | {kit:.3f} s | {naive:.3f} s | {naive / kit:.1f}x | {empty:.3f} s |",
                  flush=True)  # fmt: skip
        small, big = min(args.sizes), max(args.sizes)
        ratio = results[big] / results[small]
        ok = ratio <= 1.5
        failed |= not ok
        print(f"| {backend} | kit {big:,} / {small:,} | {ratio:.2f} | (target <= 1.5: "
              f"{'met' if ok else 'NOT met'}) | | |", flush=True)
    for backend in skipped:
        print(f"({backend}: skipped, no server: set DATABASE_URL, KIT_POSTGRES_URL or KIT_MYSQL_URL)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

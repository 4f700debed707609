"""What a rehearsal costs: ``rehearse_migrate`` against a plain ``migrate`` of the same plan, in one run.

    .venv/bin/python benchmarks/rehearse_migrate.py [--rows 100000,1000000] [--postgres URL]

In a sandbox of the tutorial project, ``central_central`` is filled with N
rows (100,000, then 1,000,000) and a migration ``0002`` is added that a real
project would rehearse: a new column with a default and an index on ``b``.
For each size, from the same state (``central`` at ``0001``):

* ``manage.py rehearse_migrate central 0002``: the database copied (SQLite:
  backup API; PostgreSQL: ``pg_dump | psql``, or a template copy), the plan
  run on the copy, the copy dropped. It must change nothing: the applied
  migrations and the row count are compared before and after;
* ``manage.py migrate central 0002`` on that same, unchanged database (so
  both start equal), then ``migrate central 0001`` (untimed) for the next
  size.

``migrate central`` with nothing to do is timed too: the floor of a
``manage.py`` run. SQLite always; PostgreSQL when ``--postgres URL`` or a
PostgreSQL ``DATABASE_URL`` is given. A progress line per step goes to stderr;
the table (seconds, ratio rehearse / migrate) to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.notebook.sandbox import Sandbox

MIGRATION = '''from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("central", "0001_initial")]

    operations = [
        migrations.AddField("central", "k", models.IntegerField(default=0)),
        migrations.AddIndex("central", models.Index(fields=["b"], name="central_b_idx")),
    ]
'''
MODEL_LINES = (
    "    k = models.IntegerField(default=0)\n\n"
    "    class Meta:\n"
    "        indexes = [models.Index(fields=['b'], name='central_b_idx')]\n"
)


def say(text: str) -> None:
    """One progress line on stderr."""
    print(f"[rehearse benchmark {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def timed(sb: Sandbox, *args: str) -> float:
    start = time.perf_counter()
    sb.run(*args, timeout=3600).check()
    return time.perf_counter() - start


def state(sb: Sandbox) -> tuple[str, int]:
    """Applied migrations and row count: what the rehearsal must not change."""
    return sb.run("showmigrations", "central").check().stdout, sb.count("central_central")


def measure(backend: str, sizes: list[int]) -> list[tuple[str, int, float, float, float]]:
    rows: list[tuple[str, int, float, float, float]] = []
    with Sandbox(["central"], backend=backend) as sb:
        sb.write("central/admin.py", "")
        sb.run("migrate", "-v0").check()
        models = sb.read("central/models.py")
        sb.write("central/models.py", models.rstrip("\n") + "\n" + MODEL_LINES)
        sb.write("central/migrations/0002_rehearsed.py", MIGRATION)
        sb.run("migrate", "central", "0001", "-v0").check()
        filled = 0
        for size in sizes:
            chunk = 100_000
            while filled < size:
                count = min(chunk, size - filled)
                code = f"from central.sample import fill; fill({count}, start={filled + 1})"
                sb.shell(code, timeout=3600).check()
                filled += count
                say(f"{backend}: {filled:,} / {size:,} rows")
            before = state(sb)
            say(f"{backend} {size:,}: rehearse_migrate central 0002")
            rehearse = timed(sb, "rehearse_migrate", "central", "0002")
            assert state(sb) == before, "the rehearsal changed the database"
            say(f"{backend} {size:,}: migrate central 0002")
            migrate = timed(sb, "migrate", "central", "0002", "-v0")
            floor = timed(sb, "migrate", "central", "-v0")
            sb.run("migrate", "central", "0001", "-v0", timeout=3600).check()
            rows.append((backend, size, rehearse, migrate, floor))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000", help="comma-separated sizes, increasing")
    parser.add_argument("--postgres", help="PostgreSQL server URL (default: DATABASE_URL if PostgreSQL)")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.rows.split(","))
    backends = ["sqlite"]
    url = args.postgres or os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme in ("postgres", "postgresql"):
        os.environ["KIT_POSTGRES_URL"] = url
        backends.append("postgresql")
    os.environ.pop("DATABASE_URL", None)  # the SQLite sandbox must not pick the server up
    results = [r for backend in backends for r in measure(backend, sizes)]
    print("| backend | rows | rehearse_migrate (s) | migrate (s) | rehearse / migrate | floor (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for backend, size, rehearse, migrate, floor in results:
        ratio = rehearse / migrate
        print(f"| {backend} | {size:,} | {rehearse:.2f} | {migrate:.2f} | {ratio:.2f}x | {floor:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

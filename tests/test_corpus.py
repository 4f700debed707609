"""The analysis commands on a real project (tests/realproject), compared with Django itself.

The corpus installs pinned releases from PyPI (django-allauth, django-filer,
django-taggit, django-reversion), a custom user model and two apps of its own.
It is migrated once per module (a few seconds); every test works on a copy.
The truth is Django: ``migrate --plan`` for ``migration_plan``, a real
``migrate`` rollback on the same rows for ``check_reversible --applied`` and
for ``rehearse_migrate`` (same steps ok, same step failing), the loader's graph
for ``migration_graph --format json`` (every node, edge, applied mark and
squash), the app registry and the database's own foreign keys (introspection)
for ``model_diagram --format json``; and the harness migrates taggit and allauth
back and forth with rows.
Runs on the pass's backend (SQLite; PostgreSQL or MariaDB with KIT_BACKEND=postgresql or mysql,
on the server of ``DATABASE_URL``, one database per copy).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent / "realproject"
BACKEND = os.environ.get("KIT_BACKEND") if os.environ.get("KIT_BACKEND") in ("postgresql", "mysql") else "sqlite"
SERVER = BACKEND != "sqlite"
DJANGO_6 = __import__("django").VERSION >= (6, 0)
SEED = """
from people.models import User
from library.models import Shelf, Document
u1 = User.objects.create_user("ada", "ada@example.com", display_name="Ada")
u2 = User.objects.create_user("bob", "bob@example.com")
from allauth.account.models import EmailAddress
EmailAddress.objects.create(user=u1, email="ada@example.com", verified=True, primary=True)
EmailAddress.objects.create(user=u2, email="bob@example.com", verified=True, primary=True)
shelf = Shelf.objects.create(name="Reading", owner=u1)
doc = Document.objects.create(shelf=shelf, title="Notes", pages=3)
doc.tags.add("django", "migrations")
import reversion
with reversion.create_revision():
    doc.save()
"""


class Corpus:
    """One migrated database of the corpus and a way to copy it for a test."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.base = f"corpus_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []  # the server databases to drop at the end

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
        if SERVER:
            env["REALPROJECT_DATABASE_URL"] = self.server_url(name)
        else:
            env["REALPROJECT_SQLITE"] = str(self.tmp / f"{name}.sqlite3")
        return env

    def server_url(self, name: str) -> str:
        base = os.environ["DATABASE_URL"]
        return base.rsplit("/", 1)[0] + "/" + name

    def create(self, name: str) -> None:
        """Create an empty database on the pass's server (utf8mb4 on MySQL)."""
        from helpers.notebook.sandbox import _mysql_create_database, _pg_create_database

        (_mysql_create_database if BACKEND == "mysql" else _pg_create_database)(os.environ["DATABASE_URL"], name)
        self.created.append(name)

    def drop_all(self) -> None:
        from helpers.notebook.sandbox import _drop_server_database

        for name in reversed(self.created):
            _drop_server_database(BACKEND, os.environ["DATABASE_URL"], name)

    def run(self, name: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=PROJECT, env=self.env(name),
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    def copy(self) -> str:
        name = f"{self.base}_{uuid.uuid4().hex[:6]}"
        if SERVER:  # PostgreSQL: CREATE DATABASE ... TEMPLATE; MySQL: table by table
            from helpers.notebook.sandbox import _copy_server_database

            _copy_server_database(BACKEND, os.environ["DATABASE_URL"], self.base, name)
            self.created.append(name)
        else:
            shutil.copy(self.tmp / f"{self.base}.sqlite3", self.tmp / f"{name}.sqlite3")
        return name

    def empty(self) -> str:
        name = f"{self.base}_empty"
        if SERVER:
            self.create(name)
        return name


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    c = Corpus(tmp_path_factory.mktemp("corpus"))
    if SERVER:
        c.create(c.base)
    done = c.run(c.base, "migrate", "-v0")
    assert done.returncode == 0, done.stderr
    seeded = c.run(c.base, "shell", "-c", SEED)
    assert seeded.returncode == 0, seeded.stderr
    yield c
    c.drop_all()


def django_plan(corpus: Corpus, db: str, *target: str) -> list[str]:
    out = corpus.run(db, "migrate", "--plan", *target)
    assert out.returncode == 0, out.stderr
    return [line.strip() for line in out.stdout.splitlines()[1:] if line and not line.startswith(" ")]


def kit_plan(corpus: Corpus, db: str, *target: str) -> list[str]:
    out = corpus.run(db, "migration_plan", *target)
    assert out.returncode == 0, out.stderr
    return [line.split()[1] for line in out.stdout.splitlines() if line.strip().startswith(("Apply", "Unapply"))]


TARGETS = [
    ("account", "0003"), ("account", "0001"), ("socialaccount", "0004"), ("filer", "0012"),
    ("filer", "zero"), ("library", "0001"), ("people", "zero"), ("taggit",),
]  # fmt: skip


@pytest.mark.parametrize("target", TARGETS, ids=" ".join)
def test_migration_plan_is_djangos_plan(corpus, target):
    assert kit_plan(corpus, corpus.base, *target) == django_plan(corpus, corpus.base, *target)


def test_forward_plan_from_a_rolled_back_copy_is_djangos_plan(corpus):
    db = corpus.copy()
    assert corpus.run(db, "migrate", "account", "0002", "-v0").returncode == 0
    for target in [("account",), (), ("account", "0005")]:
        assert kit_plan(corpus, db, *target) == django_plan(corpus, db, *target)


VIOLATIONS = {
    "shared-email": (
        ("account", "0003"),
        "from allauth.account.models import EmailAddress; from people.models import User; "
        "EmailAddress.objects.create(user=User.objects.get(username='bob'), email='ada@example.com')",
        "emailaddress.email unique again; 2 rows violate it",
    ),
    "token-without-app": (
        ("socialaccount", "0004"),
        "from allauth.socialaccount.models import SocialAccount, SocialToken; from people.models import User; "
        "a = SocialAccount.objects.create(user=User.objects.get(username='ada'), provider='github', uid='1'); "
        "SocialToken.objects.create(account=a, app=None, token='t')",
        "socialtoken.app NOT NULL again, with no default for NULL values; 1 row violates it",
    ),
    "long-email": (
        ("account", "0001"),
        "from allauth.account.models import EmailAddress; from people.models import User; "
        "EmailAddress.objects.create(user=User.objects.get(username='bob'), email='x' * 68 + '@example.com')",
        "back to max_length=75; 1 row violates it",
    ),
}


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_check_reversible_counts_the_rows_a_real_rollback_fails_on(corpus, case):
    target, script, expected = VIOLATIONS[case]
    db = corpus.copy()
    assert corpus.run(db, "shell", "-c", script).returncode == 0
    check = corpus.run(db, "check_reversible", *target, "--applied")
    real = corpus.run(db, "migrate", *target, "-v0")
    assert expected in check.stdout, check.stdout
    enforced = SERVER or case != "long-email"  # SQLite does not enforce max_length
    assert check.returncode == (1 if enforced else 0), check.stdout
    assert real.returncode == (1 if enforced else 0), real.stderr
    if not enforced:
        assert "SQLite does not enforce it" in check.stdout


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_without_the_violating_rows_the_finding_is_fine_and_the_rollback_runs(corpus, case):
    target, _, expected = VIOLATIONS[case]
    db = corpus.copy()
    check = corpus.run(db, "check_reversible", *target, "--applied")
    assert check.returncode == 0, check.stdout
    assert expected.split(";")[0] + "; no row violates it: fine" in check.stdout, check.stdout
    real = corpus.run(db, "migrate", *target, "-v0")
    assert real.returncode == 0, real.stderr


def test_statically_the_three_rollbacks_are_flagged(corpus):
    for target, _, expected in VIOLATIONS.values():
        check = corpus.run(corpus.base, "check_reversible", *target)
        assert check.returncode == 1
        assert expected.split(";")[0] in check.stdout


def test_a_target_replaced_by_a_squash_is_a_clear_error_where_django_crashes(corpus):
    db = corpus.empty()
    if DJANGO_6:  # Django 6.0 plans it on the graph without replacements; so does the kit
        assert kit_plan(corpus, db, "filer", "0012") == django_plan(corpus, db, "filer", "0012")
        return
    django = corpus.run(db, "migrate", "--plan", "filer", "0012")
    assert "NodeNotFoundError" in django.stderr  # Django's own answer: a traceback
    for command in ("migration_plan", "check_reversible"):
        args = [command, "filer", "0012"] + (["--applied"] if command == "check_reversible" else [])
        out = corpus.run(db, *args)
        assert out.returncode != 0
        assert "Traceback" not in out.stderr, out.stderr
        assert "replaced by the squashed migration filer.0001_squashed_0016" in out.stderr
        assert "Use 'filer 0001_squashed_0016" in out.stderr


@pytest.mark.parametrize("command", ["migration_plan", "check_reversible"])
def test_unknown_database_app_and_migration_are_clear_errors(corpus, command):
    for args, text in [
        (["--database", "nosuch"], "Unknown database alias 'nosuch'"),
        (["nosuch"], "No installed app with label 'nosuch'"),
        (["account", "9999"], "Cannot find a migration matching '9999' from app 'account'"),
    ]:
        out = corpus.run(corpus.base, command, *args)
        assert out.returncode != 0
        assert "Traceback" not in out.stderr, out.stderr
        assert text in out.stderr, out.stderr


# -- rehearse_migrate against Django's own migrate, on the same rows

def _django_steps(output: str) -> tuple[list[str], str | None]:
    """Migrations ``migrate`` finished (``Applying x... OK``) and the one it was running when it failed."""
    done, running = [], None
    for line in output.splitlines():
        line = line.strip()
        if line.startswith(("Applying ", "Unapplying ")):
            name = line.split()[1].rstrip(".")
            if line.endswith("OK"):
                done.append(name)
            else:
                running = name
    return done, running


def _rehearsed_steps(output: str) -> tuple[list[str], str | None]:
    """Migrations ``rehearse_migrate`` ran ok, and the one it reports FAILED."""
    done, failed = [], None
    for line in output.splitlines():
        if line.startswith("  ") and line.strip().startswith(("Apply ", "Unapply ")):
            name, result = line.strip().split(" ", 1)[1].split(": ", 1)
            if result.startswith("ok"):
                done.append(name)
            elif result.startswith("FAILED"):
                failed = name
    return done, failed


REHEARSALS = {
    "account 0003 clean": (("account", "0003"), None),
    "account 0003 shared email": (("account", "0003"), VIOLATIONS["shared-email"][1]),
    "socialaccount 0004 token without app": (("socialaccount", "0004"), VIOLATIONS["token-without-app"][1]),
    "taggit zero": (("taggit", "zero"), None),
    "filer 0012": (("filer", "0012"), None),
}


@pytest.mark.parametrize("case", sorted(REHEARSALS))
def test_rehearse_migrate_is_what_the_real_migrate_then_does(corpus, case):
    target, script = REHEARSALS[case]
    db = corpus.copy()
    if script:
        assert corpus.run(db, "shell", "-c", script).returncode == 0
    before = corpus.run(db, "showmigrations").stdout
    rehearsal = corpus.run(db, "rehearse_migrate", *target)
    assert corpus.run(db, "showmigrations").stdout == before  # the rehearsal changed nothing
    real = corpus.run(db, "migrate", *target)
    rehearsed, failed = _rehearsed_steps(rehearsal.stdout)
    done, running = _django_steps(real.stdout)
    assert rehearsal.returncode == (0 if real.returncode == 0 else 1), (rehearsal.stdout, real.stderr)
    assert rehearsed == done and rehearsed, (rehearsal.stdout, real.stdout)
    assert failed == running, (rehearsal.stdout, real.stdout)
    if failed:  # the same error as Django's: MySQL refuses NULLs in a column made NOT NULL as bad data
        error = "DataError" if BACKEND == "mysql" and "token" in case else "IntegrityError"
        assert error in rehearsal.stdout and error in real.stderr, (rehearsal.stdout, real.stderr)


# -- migration_graph and model_diagram against the loader and the database

LOADER_TRUTH = """
import json
from django.db import connection
from django.db.migrations.loader import MigrationLoader
loader = MigrationLoader(connection, ignore_no_migrations=True, replace_migrations=False)
print(json.dumps({
    "/".join(key): {"parents": sorted("/".join(p.key) for p in loader.graph.node_map[key].parents),
                    "applied": key in loader.applied_migrations,
                    "replaces": sorted("/".join(r) for r in loader.disk_migrations[key].replaces)}
    for key in loader.graph.nodes
}))
"""


def test_migration_graph_json_is_the_loaders_graph(corpus):
    import json

    db = corpus.copy()
    assert corpus.run(db, "migrate", "taggit", "0003", "-v0").returncode == 0  # some applied, some not
    truth = json.loads(corpus.run(db, "shell", "--no-imports", "-c", LOADER_TRUTH).stdout)
    out = corpus.run(db, "migration_graph", "--format", "json")
    assert out.returncode == 0, out.stderr
    kit = {
        f"{n['app_label']}/{n['name']}": {
            "parents": sorted("/".join(p) for p in n["parents"]),
            "applied": n["applied"],
            "replaces": sorted("/".join(r) for r in n["replaces"]),
        }
        for n in json.loads(out.stdout)["nodes"]
        if not n["external"]
    }
    assert kit == truth
    assert len(truth) > 60 and any(v["replaces"] for v in truth.values())  # filer's squash is in it
    unapplied = {k for k, v in truth.items() if not v["applied"]}
    assert "taggit/0005_auto_20220424_2025" in unapplied and "taggit/0003_taggeditem_add_unique_index" not in unapplied


DATABASE_TRUTH = """
import json
from django.apps import apps
from django.db import connection
models = [m for m in apps.get_models() if not m._meta.auto_created]
with connection.cursor() as cursor:
    tables = set(connection.introspection.table_names(cursor))
    # get_relations() gives (other column, other table) per column; Django 6.1 adds a third item.
    foreign_keys = {t: {c: rel[1] for c, rel in connection.introspection.get_relations(cursor, t).items()}
                    for t in sorted(tables)}
print(json.dumps({
    "apps": sorted({m._meta.app_label for m in models}),
    "models": {m._meta.label: m._meta.db_table for m in models},
    "columns": {m._meta.label: {f.name: f.column for f in m._meta.concrete_fields} for m in models},
    "tables": sorted(tables),
    "foreign_keys": foreign_keys,
}))
"""


def test_model_diagram_json_is_the_registry_and_the_databases_foreign_keys(corpus):
    import json

    read = corpus.run(corpus.base, "shell", "--no-imports", "-c", DATABASE_TRUTH)
    assert read.returncode == 0, read.stderr
    truth = json.loads(read.stdout)
    out = corpus.run(corpus.base, "model_diagram", *truth["apps"], "--format", "json")
    assert out.returncode == 0, out.stderr
    kit = json.loads(out.stdout)
    drawn = {b["label"]: b["table"] for b in kit["boxes"]}
    assert drawn == truth["models"]  # every model, with its table
    assert set(drawn.values()) <= set(truth["tables"])
    table_of = truth["models"]
    # every foreign key the kit draws is a foreign key of the database, to the same table
    drawn_fks: set[tuple[str, str]] = set()
    for rel in kit["relations"]:
        if rel["kind"] == "m2m":
            through = rel["through"] if rel["through"] in truth["tables"] else table_of[rel["through"]]
            refs = set(truth["foreign_keys"][through].values())
            assert table_of[rel["target"]] in refs, rel
            # the source side: a foreign key, or (taggit's generic through) a content type and object id
            assert table_of[rel["source"]] in refs or "django_content_type" in refs, rel
            continue
        table, column = table_of[rel["source"]], truth["columns"][rel["source"]][rel["field"]]
        assert truth["foreign_keys"][table].get(column) == table_of[rel["target"]], rel
        drawn_fks.add((table, column))
    # and every foreign key of a model's table in the database is drawn
    in_db = {(t, c) for t in table_of.values() for c in truth["foreign_keys"][t]}
    assert in_db == drawn_fks
    assert len(in_db) >= 30


# -- the harness on apps this repository did not write

HARNESS = """
from django.db import IntegrityError
from helpers.testing.migration_harness import MigrationHarness

def rows(apps, label, *fields):
    return sorted(apps.get_model(label).objects.values_list(*fields))

h = MigrationHarness()
try:
    old = h.start(("taggit", "0003"))
    ct = old.get_model("contenttypes", "ContentType").objects.create(app_label="x", model="y")
    Tag, Item = old.get_model("taggit", "Tag"), old.get_model("taggit", "TaggedItem")
    for i in range(5):
        tag = Tag.objects.create(name=f"t{i}", slug=f"t{i}")
        Item.objects.create(tag=tag, content_type_id=ct.pk, object_id=i)
    tags = rows(old, "taggit.Tag", "id", "name", "slug")
    items = rows(old, "taggit.TaggedItem", "id", "tag_id", "content_type_id", "object_id")
    for step in (h.forwards, h.backwards, h.forwards):
        state = step(("taggit", "0006" if step == h.forwards else "0003"))
        assert rows(state, "taggit.Tag", "id", "name", "slug") == tags
        assert rows(state, "taggit.TaggedItem", "id", "tag_id", "content_type_id", "object_id") == items
    print("taggit ok", len(tags), len(items))

    old = h.start(("account", "0003"))
    user = old.get_model("people", "User").objects.create(username="ada", password="!")
    Email = old.get_model("account", "EmailAddress")
    Email.objects.create(user=user, email="ada@example.com", verified=True, primary=True)
    emails = rows(old, "account.EmailAddress", "id", "user_id", "email", "verified", "primary")
    new = h.forwards(("account", "0009"))
    assert rows(new, "account.EmailAddress", "id", "user_id", "email", "verified", "primary") == emails
    back = h.backwards(("account", "0003"))
    assert rows(back, "account.EmailAddress", "id", "user_id", "email", "verified", "primary") == emails
    new = h.forwards(("account", "0009"))
    bob = new.get_model("people", "User").objects.create(username="bob", password="!")
    new.get_model("account", "EmailAddress").objects.create(user_id=bob.pk, email="ada@example.com")
    try:
        h.backwards(("account", "0003"))
    except IntegrityError:
        print("account rollback refused by the rows")
    else:
        raise AssertionError("the shared email did not stop the rollback")
finally:
    h.close()
"""


def test_the_harness_migrates_real_apps_back_and_forth_with_rows(corpus):
    out = corpus.run(corpus.copy(), "shell", "-c", HARNESS)
    assert out.returncode == 0, out.stderr
    assert "taggit ok 5 5" in out.stdout
    assert "account rollback refused by the rows" in out.stdout

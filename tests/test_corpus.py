"""The analysis commands on a real project (tests/realproject), compared with Django itself.

The corpus installs pinned releases from PyPI (django-allauth, django-filer,
django-taggit, django-reversion), a custom user model and two apps of its own.
It is migrated once per module (a few seconds); every test works on a copy.
The truth is Django: ``migrate --plan`` for ``migration_plan``, a real
``migrate`` rollback on the same rows for ``check_reversible --applied``.
Runs on the pass's backend (SQLite, or PostgreSQL with KIT_BACKEND=postgresql).
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
POSTGRES = os.environ.get("KIT_BACKEND") == "postgresql"
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
        self.url = ""

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
        if POSTGRES:
            env["REALPROJECT_DATABASE_URL"] = self.server_url(name)
        else:
            env["REALPROJECT_SQLITE"] = str(self.tmp / f"{name}.sqlite3")
        return env

    def server_url(self, name: str) -> str:
        base = os.environ["DATABASE_URL"]
        return base.rsplit("/", 1)[0] + "/" + name

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(sql)

    def run(self, name: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=PROJECT, env=self.env(name),
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    def copy(self) -> str:
        name = f"{self.base}_{uuid.uuid4().hex[:6]}"
        if POSTGRES:
            self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.base}"')
        else:
            shutil.copy(self.tmp / f"{self.base}.sqlite3", self.tmp / f"{name}.sqlite3")
        return name

    def empty(self) -> str:
        name = f"{self.base}_empty"
        if POSTGRES:
            self.admin(f'CREATE DATABASE "{name}"')
        return name


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    c = Corpus(tmp_path_factory.mktemp("corpus"))
    if POSTGRES:
        c.admin(f'CREATE DATABASE "{c.base}"')
    done = c.run(c.base, "migrate", "-v0")
    assert done.returncode == 0, done.stderr
    seeded = c.run(c.base, "shell", "-c", SEED)
    assert seeded.returncode == 0, seeded.stderr
    yield c
    if POSTGRES:
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            names = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                                (c.base + "%",))]  # fmt: skip
            for name in names:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


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
    enforced = POSTGRES or case != "long-email"
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

"""The migration test harness: data at X, migrate to Y and back, snapshots, bad input, signals.

Runs on the pass's backend (SQLite, then PostgreSQL) in pytest-django's test
database of each xdist worker. The roster app's history is the guide's:
0001 first/last name, 0002 adds ``name``, 0003 ``combine_names`` (reversible),
0004 removes the two parts.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import sys
from pathlib import Path

import pytest
from django.db import connection, connections
from django.db.migrations.exceptions import (
    AmbiguityError,
    InvalidMigrationPlan,
    IrreversibleError,
    NodeNotFoundError,
)
from django.db.models.signals import post_migrate, pre_migrate

from helpers.testing import pytest_plugin
from helpers.testing.migration_harness import (
    HarnessStateError,
    MigrationHarness,
    MigrationTargetError,
    MigrationTestCase,
    ReplacedMigrationError,
    UnknownAppError,
    UnknownMigrationError,
)

migration_harness = pytest_plugin.migration_harness  # the fixture, as a project gets it

ROSTER = Path(__file__).resolve().parent.parent / "tutorial_project" / "roster" / "migrations"
X = ("roster", "0002_person_name")
Y = ("roster", "0003_combine_names")
LAST = ("roster", "0004_remove_person_first_name_last_name")
PEOPLE = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing")]


def checksum(rows) -> str:
    return hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()


def columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        return [c.name for c in connection.introspection.get_table_description(cursor, table)]


@pytest.fixture
def roster_copy(tmp_path, settings, monkeypatch):
    """The roster migrations copied to a private package that the test may edit."""
    package = f"mh_roster_{secrets.token_hex(4)}"
    folder = tmp_path / package / "migrations"
    shutil.copytree(ROSTER, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.MIGRATION_MODULES = {"roster": f"{package}.migrations"}
    yield folder
    for name in [m for m in sys.modules if m.startswith(package)]:
        del sys.modules[name]


# --- forwards, backwards, round trip ----------------------------------------------------------


def test_data_created_at_x_is_combined_at_y(migration_harness):
    old = migration_harness.start(X)
    Person = old.get_model("roster", "Person")
    assert {f.name for f in Person._meta.fields} == {"id", "first_name", "last_name", "name"}
    for first, last in PEOPLE:
        Person.objects.create(first_name=first, last_name=last)
    assert set(Person.objects.values_list("name", flat=True)) == {""}

    new = migration_harness.forwards(Y)
    Person = new.get_model("roster", "Person")
    assert sorted(Person.objects.values_list("name", flat=True)) == [
        "Ada Lovelace", "Alan Turing", "Grace Hopper",
    ]
    assert migration_harness.applied("roster") == [
        ("roster", "0001_initial"), ("roster", "0002_person_name"), ("roster", "0003_combine_names"),
    ]


def test_backwards_splits_the_names_again(migration_harness):
    new = migration_harness.start(LAST)
    Person = new.get_model("roster", "Person")
    assert {f.name for f in Person._meta.fields} == {"id", "name"}
    Person.objects.create(name="Ada Lovelace")
    Person.objects.create(name="Grace Brewster Hopper")

    old = migration_harness.backwards(X)
    Person = old.get_model("roster", "Person")
    assert sorted(Person.objects.values_list("first_name", "last_name")) == [
        ("Ada", "Lovelace"), ("Grace", "Brewster Hopper"),
    ]
    assert "first_name" in columns("roster_person")
    assert migration_harness.applied("roster")[-1] == ("roster", "0002_person_name")


@pytest.mark.parametrize("isolation", ["auto", "copy"])
def test_forward_backward_forward_keeps_every_row_and_value(db, isolation):
    with MigrationHarness(isolation=isolation) as harness:
        round_trip(harness)
        round_trip(harness)  # again, from the snapshot (PostgreSQL: rolled back, or a new copy)


def round_trip(migration_harness):
    Person = migration_harness.start(X).get_model("roster", "Person")
    assert Person.objects.count() == 0
    Person.objects.bulk_create(Person(first_name=f"F{i}", last_name=f"L{i}") for i in range(25))
    before = checksum(Person.objects.values_list("id", "first_name", "last_name"))

    Person = migration_harness.forwards(LAST).get_model("roster", "Person")
    combined = checksum(Person.objects.values_list("id", "name"))
    assert Person.objects.filter(name="F7 L7").count() == 1

    Person = migration_harness.backwards(X).get_model("roster", "Person")
    assert checksum(Person.objects.values_list("id", "first_name", "last_name")) == before

    Person = migration_harness.forwards(LAST).get_model("roster", "Person")
    assert checksum(Person.objects.values_list("id", "name")) == combined


# --- the test database is never touched ----------------------------------------------------


def test_test_database_is_untouched_and_alias_restored(db):
    original = connections["default"]
    with MigrationHarness() as harness:
        harness.start(X)
        assert connections["default"] is not original
        assert connection.introspection.table_names() == ["django_migrations", "roster_person"]
        harness.forwards(Y)
    assert connections["default"] is original
    assert columns("roster_person") == ["id", "name"]
    assert "ledger_entry" in connection.introspection.table_names()


# --- snapshots --------------------------------------------------------------------------------


def test_second_start_restores_the_snapshot_without_the_first_tests_rows(db):
    with MigrationHarness() as harness:
        harness.start(X)
        first_built = harness.snapshot_built
        harness.apps.get_model("roster", "Person").objects.create(first_name="A", last_name="B")
        harness.forwards(Y)
        Person = harness.start(X).get_model("roster", "Person")
        assert harness.snapshot_built is False
        assert Person.objects.count() == 0
        assert harness.applied("roster")[-1] == X
    assert first_built in (True, False)  # True unless an earlier test of this worker built it


def test_snapshot_is_rebuilt_when_a_migration_file_changes(db, roster_copy):
    with MigrationHarness() as harness:
        harness.start(X)
        assert harness.snapshot_built is True  # a new migration package: a new fingerprint
        harness.start(X)
        assert harness.snapshot_built is False
        assert "nickname" not in columns("roster_person")

        path = roster_copy / "0002_person_name.py"
        text = path.read_text()
        added = (
            "        migrations.AddField(\n            model_name='person',\n            name='nickname',\n"
            "            field=models.CharField(default='', max_length=20),\n        ),\n    ]\n"
        )
        path.write_text(text[: text.rindex("    ]")] + added)
        old = harness.start(X)
        assert harness.snapshot_built is True
        assert "nickname" in columns("roster_person")
        assert "nickname" in {f.name for f in old.get_model("roster", "Person")._meta.fields}


def test_edited_data_migration_runs_its_new_code(db, roster_copy):
    with MigrationHarness() as harness:
        harness.start(X).get_model("roster", "Person").objects.create(first_name="Ada", last_name="Lovelace")
        Person = harness.forwards(Y).get_model("roster", "Person")
        assert Person.objects.get().name == "Ada Lovelace"

        path = roster_copy / "0003_combine_names.py"
        path.write_text(path.read_text().replace(
            'f"{person.first_name} {person.last_name}"', 'f"{person.last_name}, {person.first_name}"'
        ))
        with pytest.raises(HarnessStateError, match=r"changed since start\(\) \(0003_combine_names.py\)"):
            harness.backwards(X)  # it would run the edited file's split_names: start() again first
        harness.start(X).get_model("roster", "Person").objects.create(first_name="Ada", last_name="Lovelace")
        Person = harness.forwards(Y).get_model("roster", "Person")
        assert Person.objects.get().name == "Lovelace, Ada"


def test_a_failing_migration_leaves_the_database_restorable(db, roster_copy):
    path = roster_copy / "0003_combine_names.py"
    path.write_text(path.read_text().replace("person.first_name}", "person.first}"))
    with MigrationHarness() as harness:
        harness.start(X).get_model("roster", "Person").objects.create(first_name="Ada", last_name="Lovelace")
        with pytest.raises(AttributeError, match="first"):
            harness.forwards(Y)
        with pytest.raises(HarnessStateError, match="call start"):
            harness.forwards(Y)
        Person = harness.start(X).get_model("roster", "Person")
        assert harness.snapshot_built is False
        assert Person.objects.count() == 0
        assert harness.applied("roster") == [("roster", "0001_initial"), X]
        assert "0003_combine_names" not in str(harness.applied())
    with MigrationHarness() as again:  # the next test
        again.start(X)
        assert again.applied("roster")[-1] == X


# --- bad input: a clear error, nothing changed ---------------------------------------------


def test_unknown_app_and_migration_are_refused(migration_harness):
    with pytest.raises(LookupError, match=r"No installed app with label 'rooster'.*roster"):
        migration_harness.start(("rooster", "0001"))
    with pytest.raises(NodeNotFoundError, match=r"Cannot find a migration matching '0009' from app 'roster'.*0001_initial"):
        migration_harness.start(("roster", "0009"))
    with pytest.raises(AmbiguityError, match="More than one migration"):
        migration_harness.start(("roster", "000"))
    with pytest.raises(HarnessStateError, match="call start"):
        migration_harness.forwards(Y)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (None, r"No migration target given \(None\): a target is \(app_label, migration_name\)"),
        ("roster.", r"'roster\.' is incomplete: the migration name after the dot is missing"),
        (".0002", r"'\.0002' is incomplete: the app label is missing"),
        (("roster",), r"\('roster',\) has 1 part, not 2"),
        ("roster", r"'roster' names an app, not a migration: write 'roster\.<migration name>'"),
        (["roster"], r"'roster' names an app, not a migration"),
        (("roster", ""), r"the migration name must be a non-empty string \(or None for zero\)"),
        (("roster", 2), r"the migration name must be a non-empty string"),
        ([], r"No migration target given \(an empty list\)"),
        (42, r"Migration targets 42 are not targets"),
        ([X, Y], r"More than one target for app 'roster': give one migration per app"),
    ],
)
def test_malformed_targets_are_refused_with_what_to_write(migration_harness, target, message):
    with pytest.raises(MigrationTargetError, match=message) as raised:
        migration_harness.start(target)
    assert not isinstance(raised.value, TypeError)
    assert "('roster', '0002_person_name')" in str(raised.value) or "per app" in str(raised.value)
    with pytest.raises(HarnessStateError, match="call start"):
        migration_harness.forwards(Y)  # nothing was started, silently or not


def test_well_formed_targets_of_every_shape_are_accepted(migration_harness):
    assert migration_harness.start("roster.0002").get_model("roster", "Person")
    assert migration_harness.applied("roster")[-1] == X
    migration_harness.start([("roster", "0001"), "ledger.0001_initial"])
    assert migration_harness.applied("roster") == [("roster", "0001_initial")]
    assert migration_harness.applied("ledger") == [("ledger", "0001_initial")]
    for zero in [("roster", None), ("roster", "zero"), "roster.zero"]:
        migration_harness.start([zero, ("ledger", "0001")])
        assert migration_harness.applied("roster") == []


def test_unknown_names_raise_the_kits_types_that_are_also_djangos(migration_harness):
    with pytest.raises(UnknownAppError) as app:
        migration_harness.start(("roster.0002", "ledger.0001"))  # two targets, not in a list
    assert isinstance(app.value, LookupError) and "several targets go in a list" in str(app.value)
    with pytest.raises(UnknownMigrationError) as migration:
        migration_harness.start(("roster", "0009"))
    assert isinstance(migration.value, NodeNotFoundError) and migration.value.node == ("roster", "0009")


@pytest.fixture
def catalog_squashed(tmp_path, settings, monkeypatch):
    """Chapter 14's catalog app in a private package, with 0001-0004 squashed by Django's squashmigrations."""
    from django.core.management import call_command

    source = ROSTER.parent.parent / "catalog" / "migrations"
    package = f"mh_catalog_{secrets.token_hex(4)}"
    folder = tmp_path / package / "migrations"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.MIGRATION_MODULES = {"catalog": f"{package}.migrations"}
    call_command("squashmigrations", "catalog", "0004", interactive=False, verbosity=0)
    squashed = sorted(p.stem for p in folder.glob("0001_squashed_*.py"))
    assert squashed == ["0001_squashed_0004_product_sku"]
    yield squashed[0]
    for name in [m for m in sys.modules if m.startswith(package)]:
        del sys.modules[name]


def test_a_target_replaced_by_a_squashed_migration_says_which_to_use(db, catalog_squashed):
    with MigrationHarness() as harness:
        with pytest.raises(ReplacedMigrationError) as last:
            harness.start(("catalog", "0004"))
        message = str(last.value)
        assert "Migration catalog.0004_product_sku is replaced by the squashed migration " \
               "catalog.0001_squashed_0004_product_sku (which replaces 0001_initial, 0002_product_price, " \
               "0003_tag, 0004_product_sku)" in message
        assert "use ('catalog', '0001_squashed_0004_product_sku') instead: it ends where " \
               "0004_product_sku ends" in message
        assert isinstance(last.value, NodeNotFoundError) and last.value.node == ("catalog", "0004_product_sku")

        with pytest.raises(ReplacedMigrationError, match=r"catalog\.0002_product_price is replaced by the "
                           r"squashed migration catalog\.0001_squashed_0004_product_sku.*start at "
                           r"\('catalog', '0001_squashed_0004_product_sku'\) \(where 0004_product_sku ends\)"):
            harness.start(("catalog", "0002_product_price"))
        harness.start(("catalog", None))
        with pytest.raises(ReplacedMigrationError):  # also as the target of forwards()
            harness.forwards(("catalog", "0003_tag"))
        assert harness.applied("catalog") == []

        # What the message says to use works, forwards past the squash too.
        harness.start(("catalog", "0001_squashed"))
        applied = [name for _, name in harness.applied("catalog")]
        assert applied == [  # Django records the squashed migration and each one it replaces
            "0001_initial", "0001_squashed_0004_product_sku", "0002_product_price", "0003_tag",
            "0004_product_sku",
        ]
        harness.forwards(("catalog", "0005"))
        assert harness.applied("catalog")[-1] == ("catalog", "0005_fill_sku")


def test_wrong_direction_or_unreachable_target_changes_nothing(migration_harness):
    Person = migration_harness.start(Y).get_model("roster", "Person")
    Person.objects.create(first_name="Ada", last_name="Lovelace", name="Ada Lovelace")
    applied = migration_harness.applied()
    with pytest.raises(InvalidMigrationPlan, match=r"roster.0002_person_name is not reachable forwards.*"
                                                   r"unapply roster.0003_combine_names.*backwards\(\)"):
        migration_harness.forwards(X)
    with pytest.raises(InvalidMigrationPlan, match=r"not reachable backwards.*apply roster.0004"):
        migration_harness.backwards(LAST)
    with pytest.raises(InvalidMigrationPlan, match="Nothing to migrate forwards"):
        migration_harness.forwards(Y)
    assert migration_harness.applied() == applied
    assert list(migration_harness.apps.get_model("roster", "Person").objects.values_list("name")) == [
        ("Ada Lovelace",)
    ]


def test_irreversible_migration_is_refused_before_anything_runs(db, roster_copy):
    path = roster_copy / "0003_combine_names.py"
    path.write_text(path.read_text().replace("RunPython(combine_names, split_names)", "RunPython(combine_names)"))
    with MigrationHarness() as harness:
        harness.start(LAST).get_model("roster", "Person").objects.create(name="Ada Lovelace")
        applied = harness.applied()
        with pytest.raises(IrreversibleError, match=r"roster.0003_combine_names is not reversible"):
            harness.backwards(X)
        assert harness.applied() == applied
        assert "first_name" not in columns("roster_person")


def test_bad_options_are_refused():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="No database 'other'"):
        MigrationHarness("other")
    with pytest.raises(ImproperlyConfigured, match="isolation='fast'"):
        MigrationHarness(isolation="fast")


# --- signals ----------------------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, signal, sender, **kwargs):
        self.calls.append((signal, sender.label, kwargs["using"], [m.name for m, _ in kwargs["plan"]],
                           kwargs["apps"]))


@pytest.mark.parametrize("signals", [True, False])
def test_migrate_signals_are_sent_like_migrate_or_muted(db, signals):
    recorder = Recorder()
    pre_migrate.connect(recorder, dispatch_uid="mh-test-pre")
    post_migrate.connect(recorder, dispatch_uid="mh-test-post")
    try:
        with MigrationHarness(signals=signals) as harness:
            harness.start(X)
            recorder.calls.clear()
            new_apps = harness.forwards(Y)
    finally:
        pre_migrate.disconnect(dispatch_uid="mh-test-pre")
        post_migrate.disconnect(dispatch_uid="mh-test-post")
    if not signals:
        assert recorder.calls == []
        return
    roster = [c for c in recorder.calls if c[1] == "roster"]
    assert [c[0] for c in roster] == [pre_migrate, post_migrate]
    assert all(c[2] == "default" and c[3] == ["0003_combine_names"] for c in roster)
    assert roster[1][4] is new_apps
    assert {c[1] for c in recorder.calls} >= {"auth", "contenttypes", "roster", "ledger"}


def test_post_migrate_receivers_write_into_the_scratch_database(migration_harness):
    migration_harness.start(("auth", "0001_initial"))
    ContentType = migration_harness.apps.get_model("contenttypes", "ContentType")
    assert ContentType.objects.filter(app_label="auth", model="permission").exists()


# --- the unittest / Django TestCase base class: several methods per class ------------------


class CombineNamesTests(MigrationTestCase):
    migrate_from = X
    migrate_to = Y

    def test_one_person(self):
        Person = self.old_apps.get_model("roster", "Person")
        Person.objects.create(first_name="Ada", last_name="Lovelace")
        Person = self.migrate_forwards().get_model("roster", "Person")
        assert list(Person.objects.values_list("name", flat=True)) == ["Ada Lovelace"]

    def test_starts_empty_again_and_goes_back(self):
        Person = self.old_apps.get_model("roster", "Person")
        assert Person.objects.count() == 0
        Person.objects.create(first_name="Grace", last_name="Hopper")
        self.migrate_forwards()
        Person = self.migrate_backwards().get_model("roster", "Person")
        assert Person.objects.get().first_name == "Grace"

    def test_the_test_database_is_back_after_each_test(self):
        self.harness.close()
        assert columns("roster_person") == ["id", "name"]


# --- PostgreSQL and MySQL: snapshots belong to their process ---------------------------------

HARNESS_PROCESS = '''
import os, sys
sys.path[:0] = [os.environ["MH_PROJECT"], os.environ["MH_ROOT"]]  # this checkout's helpers
os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
import django
django.setup()
from helpers.testing.migration_harness import MigrationHarness

harness = MigrationHarness()
harness.start(("roster", "0002_person_name"))
print("ready", flush=True)
for line in sys.stdin:  # one more test per line, as a long test run does
    if line.strip() == "quit":
        break
    Person = harness.start(("roster", "0002_person_name")).get_model("roster", "Person")
    Person.objects.create(first_name="Ada", last_name="Lovelace")
    Person = harness.forwards(("roster", "0003_combine_names")).get_model("roster", "Person")
    print("ok" if Person.objects.get().name == "Ada Lovelace" else "wrong", flush=True)
harness.close()
'''


def _server_databases() -> dict[str, str]:
    """Every database on the server (PostgreSQL, MySQL): name -> its comment (or '')."""
    with connection._nodb_cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("SELECT schema_name, schema_comment FROM information_schema.schemata")
        else:
            cursor.execute("SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database")
        return {name: comment or "" for name, comment in cursor.fetchall()}


def _marked_databases() -> dict[str, str]:
    """Every harness database on the server: name -> owner mark."""
    from helpers.testing.migration_harness import OWNER_MARK

    return {name: mark for name, mark in _server_databases().items() if mark.startswith(f"{OWNER_MARK} ")}


def _owned_by(pid: int) -> list[str]:
    return sorted(name for name, mark in _marked_databases().items() if f" pid={pid} " in mark)


def test_a_second_harness_process_keeps_the_first_ones_snapshots(db, tmp_path):
    """Two real harness processes at once on one test database name, and a third killed one.

    The second's start-up sweep removes the killed process's snapshot databases and
    leaves the first's alone: the first goes on testing against its snapshot.
    """
    if connection.vendor == "sqlite":
        pytest.skip("snapshot databases of a server (SQLite snapshots live in the process's memory)")
    import subprocess
    from urllib.parse import urlsplit

    script = tmp_path / "harness_process.py"
    script.write_text(HARNESS_PROCESS)
    server = urlsplit(os.environ["DATABASE_URL"])
    same_name = f"test_mh_owner_{secrets.token_hex(3)}"  # the "test database" of all three runs
    env = {
        **os.environ,
        "DATABASE_URL": server._replace(path=f"/{same_name}").geturl(),
        "MH_PROJECT": str(ROSTER.parent.parent),
        "MH_ROOT": str(ROSTER.parent.parent.parent),
    }

    def launch() -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, str(script)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        return proc

    def one_more_test(proc: subprocess.Popen) -> str:
        proc.stdin.write("test\n")
        proc.stdin.flush()
        return proc.stdout.readline().strip()

    first = launch()
    killed = launch()
    try:
        first_dbs, killed_dbs = _owned_by(first.pid), _owned_by(killed.pid)
        assert first_dbs and killed_dbs and not set(first_dbs) & set(killed_dbs)
        assert all(name.startswith(f"{same_name}_mh") for name in first_dbs + killed_dbs)
        assert one_more_test(first) == "ok"
        killed.kill()  # as a killed test run: no clean-up at exit
        killed.wait(timeout=60)
        assert _owned_by(killed.pid) == killed_dbs  # left behind

        second = launch()  # its start-up sweeps
        try:
            assert _owned_by(killed.pid) == []  # the dead process's leftovers are gone
            assert _owned_by(first.pid) == first_dbs  # the living one's are kept
            assert _owned_by(second.pid)
            for _ in range(3):  # both keep testing, at once
                assert one_more_test(first) == "ok", first.stderr.read()
                assert one_more_test(second) == "ok", second.stderr.read()
        finally:
            second.communicate("quit\n", timeout=60)
        assert second.returncode == 0
    finally:
        first.communicate("quit\n", timeout=60)
        killed.kill()
    assert first.returncode == 0
    assert _owned_by(first.pid) == [] and _owned_by(second.pid) == []  # each dropped its own at exit


def test_owner_marks_tell_a_gone_process_from_a_running_one():
    import socket
    import subprocess

    from helpers.testing import migration_harness as mh

    mine = mh._owner_mark()
    assert mine.startswith(f"{mh.OWNER_MARK} pid={os.getpid()} ")
    assert mh.owner_alive(mine)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    assert not mh.owner_alive(mine.replace(f"pid={os.getpid()} ", f"pid={gone.stdout.strip()} "))
    start = mine.rsplit("start=", 1)[1]
    if start != "-":  # Linux: a reused pid (same pid, another start time) is another process
        assert not mh.owner_alive(mine.replace(f"start={start}", "start=1"))
    boot = mine.split("boot=", 1)[1].split()[0]
    if boot != "-":  # a mark from before this machine's last restart
        assert not mh.owner_alive(mine.replace(f"boot={boot}", "boot=another-boot"))
    other_host = mine.replace(f"host={mh._safe(socket.gethostname())}", "host=elsewhere.example")
    assert mh.owner_alive(other_host.replace(f"pid={os.getpid()} ", "pid=999999999 "))  # cannot know: kept


# --- snapshots kept across runs (in this process; whole runs: test_migration_harness_runs.py) --


def _kept_exists(location: str) -> bool:
    if connection.vendor == "sqlite":
        return Path(location).is_file()
    return location in _server_databases()


def _drop_kept(location: str) -> None:
    if connection.vendor != "sqlite":
        force = " WITH (FORCE)" if connection.vendor == "postgresql" else ""
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(location)}{force}")


@pytest.fixture
def kept_dir(tmp_path, settings):
    settings.MIGRATION_HARNESS_DIR = str(tmp_path / "kept")
    return tmp_path / "kept"


def test_a_kept_snapshot_is_used_by_a_new_process_state_and_published_twice_safely(db, roster_copy, kept_dir):
    from helpers.testing import migration_harness as mh

    mh.drop_snapshots()  # only this test's snapshot in memory
    with MigrationHarness(reuse=True) as harness:
        harness.start(X)
        assert harness.snapshot_source == "built"
        location = harness.kept_location
        try:
            assert _kept_exists(location)
            if connection.vendor == "sqlite":
                assert Path(location).parent == kept_dir  # MIGRATION_HARNESS_DIR
                assert (kept_dir / ".gitignore").read_text() == "*\n"
            # A second process publishing the same snapshot at the same moment: no error, one copy.
            snapshot = next(iter(mh._snapshots.values()))
            fingerprint = mh.migration_fingerprint()
            plan = mh._fresh_plan(mh._disk_loader(fingerprint), [X])
            kept = mh._kept_for(harness._original, fingerprint, [X], [(m.app_label, m.name) for m, _ in plan],
                                True)  # fmt: skip
            assert harness._backend.kept_location(kept) == location
            harness.close()  # publishing happens before a test connects to the snapshot
            harness._backend.publish(snapshot.handle, kept)
            assert _kept_exists(location)
            mh.drop_snapshots()  # as a new process: nothing in memory
            with MigrationHarness(reuse=True) as again:
                Person = again.start(X).get_model("roster", "Person")
                assert again.snapshot_source == "kept" and again.snapshot_built is False
                assert again.kept_location == location
                Person.objects.create(first_name="Ada", last_name="Lovelace")  # the restored tables work
                Person = again.forwards(Y).get_model("roster", "Person")
                assert Person.objects.get().name == "Ada Lovelace"
                assert again.applied("roster") == [("roster", "0001_initial"), X, Y]
        finally:
            harness.close()
            mh.drop_snapshots()
            _drop_kept(location)


def test_reuse_false_neither_uses_nor_keeps(db, roster_copy, kept_dir, settings):
    from helpers.testing import migration_harness as mh

    with MigrationHarness(reuse=False) as harness:
        harness.start(X)
        assert harness.snapshot_source == "built" and harness.kept_location == ""
    assert not kept_dir.exists() or not list(kept_dir.glob("*.sqlite3"))
    mh.drop_snapshots()
    settings.MIGRATION_HARNESS_REUSE = False
    assert mh.reuse_enabled() is False and mh.reuse_enabled(True) is True
    with MigrationHarness() as harness:
        harness.start(X)
        assert harness.kept_location == ""
    mh.drop_snapshots()


def test_a_stale_or_damaged_kept_snapshot_is_never_used(db, roster_copy, kept_dir):
    from helpers.testing import migration_harness as mh

    if connection.vendor != "sqlite":
        pytest.skip("the damaged-file case is SQLite's (PostgreSQL checks the database's mark)")
    with MigrationHarness(reuse=True) as harness:
        harness.start(X)
        location = Path(harness.kept_location)
        mh.drop_snapshots()
        location.write_bytes(b"not a database")  # damaged: rebuilt, not used
        harness.start(X)
        assert harness.snapshot_source == "built" and location.stat().st_size > 100
        mh.drop_snapshots()
        path = roster_copy / "0002_person_name.py"  # an edit: a new key; the old file removed
        path.write_text(path.read_text() + "\n# edited\n")
        harness.start(X)
        assert harness.snapshot_source == "built"
        assert not location.exists() and Path(harness.kept_location).is_file()
    mh.drop_snapshots()


def test_clear_kept_snapshots_removes_them(db, roster_copy, kept_dir):
    from helpers.testing import migration_harness as mh

    if connection.vendor != "sqlite":
        pytest.skip("on PostgreSQL it clears the whole server's: tested by a whole run with --harness-clear")
    with MigrationHarness(reuse=True) as harness:
        harness.start(X)
        location = harness.kept_location
    mh.drop_snapshots()
    assert mh.clear_kept_snapshots() == [location]
    assert not Path(location).exists()
    with pytest.raises(Exception, match="No database 'nope'"):
        mh.clear_kept_snapshots("nope")


def test_the_dead_owner_sweep_keeps_kept_snapshots(db, roster_copy):
    from helpers.testing import migration_harness as mh

    if connection.vendor == "sqlite":
        pytest.skip("the sweep of snapshot databases on a server")
    with MigrationHarness(reuse=True) as harness:
        harness.start(X)
        location = harness.kept_location
    try:
        mh._pg_swept.clear()
        mh._mysql_swept.clear()
        mh._backend_for(connection, "auto")  # sweeps again, as the first harness of a new process
        assert _kept_exists(location)
    finally:
        mh.drop_snapshots()
        _drop_kept(location)


# --- MySQL (MariaDB): no transactional DDL; the work database is repaired from the snapshot --------

mysql_only = pytest.mark.skipif(
    os.environ.get("KIT_BACKEND") != "mysql", reason="MySQL's own snapshot strategy (the MySQL pass)"
)


def _mysql_state(schema: str) -> dict[str, tuple[str, list[tuple]]]:
    """Every table of ``schema``: its SHOW CREATE TABLE (its AUTO_INCREMENT counter aside) and all its rows."""
    import re

    qn = connection.ops.quote_name
    state = {}
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = %s",
                       [schema])  # fmt: skip
        for table, kind in cursor.fetchall():
            if kind != "BASE TABLE":
                state[table] = (kind, [])
                continue
            cursor.execute(f"SHOW CREATE TABLE {qn(schema)}.{qn(table)}")
            create = re.sub(r" AUTO_INCREMENT=\d+", "", cursor.fetchone()[1])
            cursor.execute(f"SELECT * FROM {qn(schema)}.{qn(table)}")
            state[table] = (create, sorted(cursor.fetchall(), key=repr))
    return state


def _innodb_ids(schema: str) -> dict[str, int]:
    """InnoDB's id of each table: a new one when a table is created again or truncated."""
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT name, table_id FROM information_schema.innodb_sys_tables WHERE name LIKE %s",
                       [f"{schema}/%"])  # fmt: skip
        return {name.split("/", 1)[1]: table_id for name, table_id in cursor.fetchall()}


def _only_snapshot() -> str:
    from helpers.testing import migration_harness as mh

    (snapshot,) = mh._snapshots.values()
    return snapshot.handle


@mysql_only
def test_mysql_a_half_applied_failed_migration_does_not_poison_the_next_restore(db, roster_copy):
    """MySQL commits each ALTER at once: a migration failing after its AddField leaves the column.

    The next start() must give the snapshot back exactly (schema, rows, counters), and the
    snapshot itself must not have changed.
    """
    from helpers.testing import migration_harness as mh

    path = roster_copy / "0003_combine_names.py"
    text = path.read_text().replace("person.first_name}", "person.first}")  # fails at its first row
    text = text.replace("from django.db import migrations\n", "from django.db import migrations, models\n")
    added = ("        migrations.AddField(\n            model_name='person',\n            name='nickname',\n"
             "            field=models.CharField(default='', max_length=20),\n        ),\n")  # fmt: skip
    path.write_text(text.replace("    operations = [\n", "    operations = [\n" + added, 1))
    mh.drop_snapshots()
    with MigrationHarness() as harness:
        harness.start(X).get_model("roster", "Person").objects.create(first_name="Ada", last_name="Lovelace")
        snapshot, work = _only_snapshot(), harness._backend.work_name
        pristine = _mysql_state(snapshot)
        with pytest.raises(AttributeError, match="first"):
            harness.forwards(Y)
        assert "nickname" in columns("roster_person")  # half-applied: MySQL kept the AddField
        with connection.cursor() as cursor:  # and did not record it
            cursor.execute("SELECT name FROM django_migrations WHERE app = 'roster' ORDER BY name")
            assert [row[0] for row in cursor.fetchall()] == ["0001_initial", X[1]]
        Person = harness.start(X).get_model("roster", "Person")
        assert harness.snapshot_built is False
        assert "nickname" not in columns("roster_person")
        assert Person.objects.count() == 0
        assert harness.applied("roster") == [("roster", "0001_initial"), X]
        assert _mysql_state(work) == pristine == _mysql_state(snapshot)
    mh.drop_snapshots()


@mysql_only
def test_mysql_restore_repairs_exactly_what_the_test_changed(db):
    """Every kind of change a test can make is undone, and a table the test did not touch is kept.

    Rows added, a row updated in place, a column added, a table renamed, a table dropped, a
    table created: after start(), every table of the work database equals the snapshot's (SHOW
    CREATE TABLE and every row; AUTO_INCREMENT counters are not put back, as on PostgreSQL), and
    the tables whose rows only changed are refilled, not created again. Then a view: the work
    database is made again, with no view left.
    """
    from helpers.testing import migration_harness as mh

    mh.drop_snapshots()
    targets = [("auth", "0012_alter_user_first_name_max_length"), X]  # foreign keys, post_migrate rows
    with MigrationHarness() as harness:
        harness.start(targets)
        snapshot, work = _only_snapshot(), harness._backend.work_name
        pristine = _mysql_state(snapshot)
        assert pristine["auth_permission"][1] and pristine["django_content_type"][1]  # post_migrate's rows
        assert _mysql_state(work) == pristine
        ids = _innodb_ids(work)
        with harness.connection.cursor() as cursor:
            cursor.execute("INSERT INTO auth_group (name) VALUES ('editors'), ('readers')")
            cursor.execute("UPDATE auth_permission SET name = 'changed' WHERE codename = 'add_user'")
            cursor.execute("ALTER TABLE roster_person ADD COLUMN nickname varchar(20) NOT NULL DEFAULT ''")
            cursor.execute("RENAME TABLE auth_user_groups TO auth_user_groups_old")
            cursor.execute("SET foreign_key_checks = 0")
            cursor.execute("DROP TABLE auth_user_user_permissions")
            cursor.execute("SET foreign_key_checks = 1")
            cursor.execute("CREATE TABLE scratch_extra (id int PRIMARY KEY)")
        assert _mysql_state(work) != pristine
        harness.start(targets)
        assert harness.snapshot_built is False
        assert _mysql_state(work) == pristine
        after = _innodb_ids(work)
        assert after["django_content_type"] == ids["django_content_type"]  # untouched: not copied again
        assert after["auth_permission"] == ids["auth_permission"]  # rows only: refilled, same table
        assert after["auth_group"] == ids["auth_group"]
        assert after["roster_person"] != ids["roster_person"]  # another shape: created again
        assert harness.apps.get_model("auth", "Group").objects.count() == 0
        with harness.connection.cursor() as cursor:  # a RunSQL's view: the work database is made again
            cursor.execute("CREATE VIEW scratch_view AS SELECT id FROM auth_group")
        assert "scratch_view" in _mysql_state(work)
        harness.start(targets)
        assert _mysql_state(work) == pristine
    mh.drop_snapshots()


def _same_snapshot(one: dict, other: dict) -> bool:
    """Two states of snapshot databases built apart: the same but for the migrations' ``applied`` times."""
    def applied(state: dict) -> tuple:
        create, rows = state["django_migrations"]
        return create, sorted(row[:3] for row in rows)

    rest = [{k: v for k, v in state.items() if k != "django_migrations"} for state in (one, other)]
    return rest[0] == rest[1] and applied(one) == applied(other)


@mysql_only
def test_mysql_a_stale_or_half_published_kept_snapshot_is_rebuilt(db, roster_copy):
    """A kept snapshot whose rows do not hold its plan, or whose publisher died, is never used."""
    from helpers.testing import migration_harness as mh

    qn = connection.ops.quote_name
    mh.drop_snapshots()
    with MigrationHarness(reuse=True) as harness:
        harness.start(X)
        kept = harness.kept_location
        try:
            assert _server_databases()[kept].startswith(f"{mh.KEPT_MARK} ")
            good = _mysql_state(kept)
            with connection._nodb_cursor() as cursor:  # damaged: 0002 no longer recorded
                cursor.execute(f"DELETE FROM {qn(kept)}.django_migrations WHERE name = %s", [X[1]])
            mh.drop_snapshots()  # as a new process
            Person = harness.start(X).get_model("roster", "Person")
            assert harness.snapshot_source == "built"  # not used: rebuilt and published again
            assert Person.objects.count() == 0 and harness.applied("roster")[-1] == X
            assert _same_snapshot(_mysql_state(kept), good)

            import subprocess

            gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                  capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
            dead = mh._owner_mark().replace(f"pid={os.getpid()} ", f"pid={gone} ")
            with connection._nodb_cursor() as cursor:  # as if its publisher was killed halfway
                cursor.execute(f"ALTER DATABASE {qn(kept)} COMMENT %s", [dead])
                cursor.execute(f"DELETE FROM {qn(kept)}.roster_person")
            mh.drop_snapshots()
            harness.start(X)
            assert harness.snapshot_source == "built"
            assert _server_databases()[kept].startswith(f"{mh.KEPT_MARK} ")  # replaced, then published
            assert _same_snapshot(_mysql_state(kept), good)
            mh.drop_snapshots()
            harness.start(X)
            assert harness.snapshot_source == "kept"
        finally:
            harness.close()
            mh.drop_snapshots()
            _drop_kept(kept)


def test_harness_database_names_fit_the_servers_limit(db, monkeypatch):
    """MySQL names a database in 64 characters at most (PostgreSQL 63): a 64-character test database too."""
    from helpers.testing import migration_harness as mh

    if connection.vendor == "sqlite":
        pytest.skip("a server's database names")
    monkeypatch.setitem(connection.settings_dict, "NAME", "t" * 64)
    mh.drop_snapshots()
    try:
        with MigrationHarness(reuse=False) as harness:
            Person = harness.start(X).get_model("roster", "Person")
            Person.objects.create(first_name="Ada", last_name="Lovelace")
            assert harness.forwards(Y).get_model("roster", "Person").objects.get().name == "Ada Lovelace"
            mine = [name for name in _owned_by(os.getpid()) if name.startswith("t" * 30 + "_mh")]
            assert mine and all(len(name) <= 63 for name in mine), mine  # the snapshot (MySQL: and the work)
    finally:
        mh.drop_snapshots()


def test_mysql_refuses_isolation_transaction():
    from django.core.exceptions import ImproperlyConfigured

    if connection.vendor != "mysql":
        pytest.skip("MySQL has no transactional DDL")
    with pytest.raises(ImproperlyConfigured, match="isolation='transaction' cannot work on MySQL: it has no "
                       "transactional DDL"), MigrationHarness(isolation="transaction") as harness:  # fmt: skip
        harness.start(X)


@mysql_only
def test_mysql_a_snapshot_holding_a_view_is_refused_not_copied_without_it(db, roster_copy):
    """The MySQL snapshot copies tables: a view made before X would be lost, so it is refused."""
    from helpers.testing import migration_harness as mh

    path = roster_copy / "0002_person_name.py"
    text = path.read_text()
    view = ('        migrations.RunSQL("CREATE VIEW roster_names AS SELECT id, first_name FROM roster_person", '
            '"DROP VIEW roster_names"),\n    ]\n')  # fmt: skip
    path.write_text(text[: text.rindex("    ]")] + view)
    before = _owned_by(os.getpid())
    with MigrationHarness(reuse=False) as harness:
        with pytest.raises(mh.SnapshotError, match=r"create view roster_names: the MySQL snapshot copies "
                           r"tables .* would lose them"):  # fmt: skip
            harness.start(X)
        with pytest.raises(HarnessStateError, match="call start"):
            harness.forwards(Y)
        assert connections["default"] is harness._original  # the alias was given back
    assert _owned_by(os.getpid()) == before  # neither the build nor a snapshot was left behind

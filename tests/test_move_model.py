"""move_model: a model moves to another app with every row, foreign key and generic relation.

Every test runs on the pass's backend (SQLite, then PostgreSQL), in a sandbox of
the tutorial project with oldapp (Car, its Feature many-to-many, Rental),
newapp (empty) and garage (a foreign key and a generic foreign key to Car).
"""

from __future__ import annotations

import ast
import hashlib
import json
import re

import pytest

from helpers.notebook.sandbox import Sandbox
from helpers.writers.move_model import _renamed

APPS = ["oldapp", "newapp", "garage"]
NEW_FILES = {
    "oldapp": ["0001_initial", "0002_car_to_newapp_rename_tables", "0003_car_to_newapp_finish"],
    "newapp": ["0001_car_from_oldapp"],
    "garage": ["0001_initial", "0002_car_moved_to_newapp"],
}
MORE_ROWS = """
from django.contrib.contenttypes.models import ContentType
from garage.models import Note, Service
from oldapp.models import Car, Feature, Rental
features = list(Feature.objects.order_by("pk"))
car_type = ContentType.objects.get(app_label="oldapp", model="car")
for i in range(40):
    car = Car.objects.create(name=f"car {i}", color=["red", "blue"][i % 2])
    car.features.set(features[: i % 4])
    Rental.objects.create(car=car, customer=f"customer {i}")
    Service.objects.create(car=car, work=f"service {i}")
    Note.objects.create(content_type=car_type, object_id=car.pk, text=f"note {i}")
"""


NO_KIT = '''
import sys


class _NoKit:
    """The kit is gone: every import of helpers fails, as in a project that removed it."""

    def find_spec(self, name, path=None, target=None):
        if name == "helpers" or name.startswith("helpers."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoKit())
'''


def without_kit(sb: Sandbox) -> dict[str, str]:
    """Take helpers out of INSTALLED_APPS and make it unimportable; return the env for sb.run."""
    sb.edit("mysite/settings.py", '    "helpers",\n', "")
    sb.write("_nokit/sitecustomize.py", NO_KIT)
    env = {"PYTHONPATH": str(sb.path("_nokit"))}
    blocked = sb.run("shell", "-c", "import helpers", env=env)
    assert blocked.returncode == 1 and "No module named 'helpers'" in blocked.stderr, blocked
    return env


def imported_modules(text: str) -> set[str]:
    """The top-level modules a Python file imports (anywhere in it, functions included)."""
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add((node.module or "").split(".")[0])
    return found


def move_car_in_code(sb: Sandbox) -> None:
    """What the developer does before move_model: cut Car to newapp, fix the references."""
    move_car_in_code_without_garage(sb)
    sb.edit("garage/models.py", '"oldapp.Car"', '"newapp.Car"')


def prepared(backend: str | None = None) -> Sandbox:
    sb = Sandbox(APPS, backend=backend)
    sb.run("migrate", "-v0").check()
    sb.run("loaddata", "oldapp", "garage").check()
    sb.shell(MORE_ROWS).check()
    return sb


@pytest.fixture
def moved():
    """A migrated sandbox with rows, the class moved in the code, move_model not run yet."""
    sb = prepared()
    move_car_in_code(sb)
    yield sb
    sb.close()


@pytest.fixture
def moved_empty():
    """Like ``moved``, without rows: for the refusals, which must change nothing."""
    with Sandbox(APPS) as sb:
        sb.run("migrate", "-v0").check()
        move_car_in_code(sb)
        yield sb


def table_digest(sb: Sandbox, table: str) -> tuple[int, str]:
    rows = [tuple(map(str, r)) for r in sb.rows(table).rows]
    return len(rows), hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def snapshot(sb: Sandbox, prefix: str) -> dict:
    """Every row of the moved data, by role (the table names depend on the side of the move)."""
    car_type = sb.query(
        "SELECT id, app_label FROM django_content_type WHERE model = 'car' ORDER BY id"
    ).rows
    return {
        "car": table_digest(sb, f"{prefix}_car"),
        "car_features": table_digest(sb, f"{prefix}_car_features"),
        "feature": table_digest(sb, "oldapp_feature"),
        "rental": table_digest(sb, "oldapp_rental"),
        "service": table_digest(sb, "garage_service"),
        "note": table_digest(sb, "garage_note"),
        "car_type_ids": [r[0] for r in car_type],
        "car_permissions": sb.query(
            "SELECT p.id, p.codename, p.content_type_id FROM auth_permission p"
            " JOIN django_content_type c ON c.id = p.content_type_id WHERE c.model = 'car' ORDER BY p.id"
        ).rows,
        "content_types": sb.query("SELECT id, app_label, model FROM django_content_type ORDER BY id").rows,
        "migrations": sb.query("SELECT app, name FROM django_migrations ORDER BY app, name").rows,
    }


def same_data(a: dict, b: dict) -> dict:
    """The parts of two snapshots that must not change with the side of the move."""
    return {k: v for k, v in a.items() if k not in ("content_types", "migrations")} == {
        k: v for k, v in b.items() if k not in ("content_types", "migrations")
    }


def integrity_problems(sb: Sandbox) -> list:
    """The database's own foreign key check: SQLite's PRAGMA, or every PostgreSQL FK re-verified."""
    if sb.backend == "sqlite":
        return list(sb.query("PRAGMA foreign_key_check").rows)
    if sb.backend == "mysql":  # every foreign key of the database, its orphans counted
        fks = sb.query(
            "SELECT table_name, column_name, referenced_table_name, referenced_column_name "
            "FROM information_schema.key_column_usage "
            "WHERE table_schema = DATABASE() AND referenced_table_name IS NOT NULL"
        ).rows
        problems = []
        for child, column, parent, ref in fks:
            orphans = sb.query(
                f"SELECT COUNT(*) FROM `{child}` c LEFT JOIN `{parent}` p ON c.`{column}` = p.`{ref}` "
                f"WHERE c.`{column}` IS NOT NULL AND p.`{ref}` IS NULL"
            ).rows[0][0]
            if orphans:
                problems.append((child, column, orphans))
        assert len(fks) > 10, "the foreign keys were not found"
        return problems
    fks = sb.query(
        """
        SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, f.attname, c.convalidated
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
        """
    ).rows
    problems = []
    for child, column, parent, ref, validated in fks:
        if not validated:
            problems.append((child, column, "not validated"))
        orphans = sb.query(
            f'SELECT COUNT(*) FROM {child} c LEFT JOIN {parent} p ON c."{column}" = p."{ref}" '
            f'WHERE c."{column}" IS NOT NULL AND p."{ref}" IS NULL'
        ).rows[0][0]
        if orphans:
            problems.append((child, column, orphans))
    assert len(fks) > 10, "the foreign keys were not found"
    return problems


def notes_resolve(sb: Sandbox, env: dict | None = None) -> list:
    result = sb.shell(
        "from garage.models import Note\n"
        "print([(n.pk, n.content_type.app_label, n.content_object.name) for n in Note.objects.order_by('pk')])",
        env=env,
    ).check()
    return eval(result.stdout.strip().splitlines()[-1])


def test_the_move_keeps_every_row_forwards_backwards_forwards_without_the_kit(moved):
    """The written migrations import only Django: they run with helpers uninstalled and unimportable."""
    sb = moved
    before = snapshot(sb, "oldapp")
    assert before["car"][0] == 43 and before["car_features"][0] > 40 and before["note"][0] == 42
    assert len(before["car_permissions"]) == 4
    assert integrity_problems(sb) == []

    made = sb.run("move_model", "oldapp.Car", "newapp")
    assert made.ok, made
    assert "Delete model Car" in made.stdout  # what makemigrations would have done, named
    assert {app: sb.migration_files(app) for app in APPS} == NEW_FILES
    for app, names in NEW_FILES.items():
        for name in names[1:] if app != "newapp" else names:
            assert imported_modules(sb.read(f"{app}/migrations/{name}.py")) <= {"django"}, (app, name)

    env = without_kit(sb)
    assert sb.run("makemigrations", "--check", "--dry-run", env=env).ok
    forward = sb.run("migrate", env=env)
    assert forward.ok, forward
    forwards = snapshot(sb, "newapp")
    assert same_data(forwards, before)
    assert forwards["car_type_ids"] == before["car_type_ids"]  # the same row, now newapp's
    assert sb.query("SELECT app_label FROM django_content_type WHERE model = 'car'").rows == [("newapp",)]
    assert "oldapp_car" not in sb.tables().column("table")
    assert integrity_problems(sb) == []
    notes = notes_resolve(sb, env)
    assert len(notes) == 42 and notes[0] == (1, "newapp", "Volga") and notes[2][2] == "car 0"

    back = sb.run("migrate", "oldapp", "0001_initial", env=env)
    assert back.ok, back
    assert {k: v for k, v in snapshot(sb, "oldapp").items() if k != "migrations"} == {
        k: v for k, v in before.items() if k != "migrations"
    }
    assert "newapp_car" not in sb.tables().column("table")
    assert integrity_problems(sb) == []

    again = sb.run("migrate", env=env)
    assert again.ok, again
    assert snapshot(sb, "newapp") == forwards
    assert notes_resolve(sb, env) == notes
    assert integrity_problems(sb) == []
    assert sb.run("makemigrations", "--check", "--dry-run", env=env).ok


def test_foreign_keys_follow_the_renamed_table_without_a_rebuild(moved):
    sb = moved
    assert sb.run("move_model", "oldapp.Car", "newapp").ok
    sql = sb.run("sqlmigrate", "oldapp", "0003").stdout + sb.run("sqlmigrate", "garage", "0002").stdout
    assert "CREATE TABLE" not in sql and "CONSTRAINT" not in sql  # state only: nothing rebuilt
    renamed = sb.run("sqlmigrate", "oldapp", "0002").stdout
    if sb.backend == "mysql":  # MySQL's own statement; its foreign keys follow the table
        assert "RENAME TABLE `oldapp_car` TO `newapp_car`;" in renamed
        assert "RENAME TABLE `oldapp_car_features` TO `newapp_car_features`;" in renamed
    else:
        assert 'ALTER TABLE "oldapp_car" RENAME TO "newapp_car"' in renamed
        assert 'ALTER TABLE "oldapp_car_features" RENAME TO "newapp_car_features"' in renamed
    assert sb.run("migrate").ok
    if sb.backend == "sqlite":
        schema = sb.query("SELECT sql FROM sqlite_master WHERE name = 'garage_service'").rows[0][0]
        assert 'REFERENCES "newapp_car"' in schema
    if sb.backend == "mysql":
        parents = sb.query(
            "SELECT referenced_table_name FROM information_schema.key_column_usage "
            "WHERE table_schema = DATABASE() AND table_name = 'garage_service' AND referenced_table_name IS NOT NULL"
        ).rows
        assert ("newapp_car",) in parents, parents


def test_content_type_survives_a_row_recreated_by_post_migrate(moved):
    sb = moved
    original = snapshot(sb, "oldapp")["car_type_ids"]
    assert sb.run("move_model", "oldapp.Car", "newapp").ok
    assert sb.run("migrate").ok
    # Rolling back only the last step lets post_migrate create a fresh newapp.car row.
    assert sb.run("migrate", "oldapp", "0002").ok
    rows = sb.query("SELECT id, app_label FROM django_content_type WHERE model = 'car' ORDER BY id").rows
    assert [r[1] for r in rows] == ["oldapp", "newapp"] and rows[0][0] == original[0]
    assert sb.run("migrate").ok
    assert sb.query("SELECT id, app_label FROM django_content_type WHERE model = 'car'").rows == [
        (original[0], "newapp")
    ]
    assert notes_resolve(sb)[0] == (1, "newapp", "Volga")
    # The other way round: a stale oldapp.car row (and a permission) appear; the reverse still works.
    sb.query("INSERT INTO django_content_type (app_label, model) VALUES ('oldapp', 'car')")
    fresh = sb.query("SELECT id FROM django_content_type WHERE app_label = 'oldapp' AND model = 'car'").rows[0][0]
    sb.query(
        "INSERT INTO auth_permission (name, content_type_id, codename) VALUES ('x', %s, 'stale_car')", [fresh]
    )
    back = sb.run("migrate", "oldapp", "0001")
    assert back.ok, back
    assert sb.query("SELECT id, app_label FROM django_content_type WHERE model = 'car'").rows == [
        (original[0], "oldapp")
    ]
    assert sb.query("SELECT COUNT(*) FROM auth_permission WHERE codename = 'stale_car'").rows == [(0,)]
    assert integrity_problems(sb) == []


def test_function_returns_the_plan_and_writes_the_same_files(moved_empty):
    sb = moved_empty
    code = (
        "from helpers.writers.move_model import plan_move, move_model\n"
        "plan = plan_move('oldapp.Car', 'newapp')\n"
        "print([m.migration.name for m in plan.migrations], plan.tables)\n"
        "move_model('oldapp.Car', 'newapp')\n"
    )
    result = sb.shell(code).check()
    assert result.stdout.strip().splitlines()[-1] == (
        "['0002_car_to_newapp_rename_tables', '0001_car_from_oldapp', '0002_car_moved_to_newapp', "
        "'0003_car_to_newapp_finish'] [('oldapp_car', 'newapp_car'), ('oldapp_car_features', 'newapp_car_features')]"
    )
    assert {app: sb.migration_files(app) for app in APPS} == NEW_FILES
    assert "helpers" not in sb.read("oldapp/migrations/0003_car_to_newapp_finish.py")


def tree(sb: Sandbox) -> dict[str, bytes]:
    """Every file of the three apps, with its bytes."""
    return {
        str(p.relative_to(sb.root)): p.read_bytes()
        for app in APPS for p in sorted(sb.path(app).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def state_of(sb: Sandbox) -> tuple:
    files = {app: (sb.migration_files(app), sb.read(f"{app}/models.py")) for app in APPS}
    return files, list(sb.tables().rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["oldapp.Truck", "newapp"], "oldapp has no model Truck in its migrations (its models: Car, Employee, Feature, Rental)"),
        (["nosuch.Car", "newapp"], "No installed app 'nosuch'"),
        (["oldapp.Car", "nosuch"], "No installed app 'nosuch'"),
        (["Car", "newapp"], "Give the model as app_label.ModelName"),
        (["auth.User", "newapp"], "auth.User is swappable (settings.AUTH_USER_MODEL)"),
        (["oldapp.Rental", "newapp"], "newapp defines no model Rental: move the class into newapp's models first"),
        (["oldapp.Car", "oldapp"], "oldapp.Car is already in oldapp"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(moved_empty, args, message):
    before = state_of(moved_empty)
    result = moved_empty.run("move_model", *args)
    assert result.returncode == 1
    assert f"CommandError: {message}" in result.stderr
    assert state_of(moved_empty) == before


def test_refused_when_the_target_app_already_has_the_model():
    with Sandbox(APPS) as sb:
        sb.write("newapp/models.py", "from django.db import models\n\n\nclass Car(models.Model):\n    plate = models.CharField(max_length=9)\n")
        sb.run("makemigrations", "newapp").check()
        sb.run("migrate", "-v0").check()
        before = state_of(sb)
        result = sb.run("move_model", "oldapp.Car", "newapp")
        assert result.returncode == 1
        assert "newapp already has a model Car (in its migrations); nothing was written." in result.stderr
        assert state_of(sb) == before


def test_refused_when_the_source_app_has_unapplied_migrations():
    with Sandbox(APPS) as sb:
        sb.run("migrate", "oldapp", "zero", "-v0").check()
        move_car_in_code(sb)
        before = state_of(sb)
        result = sb.run("move_model", "oldapp.Car", "newapp")
        assert result.returncode == 1
        assert "oldapp has unapplied migrations (0001_initial): run migrate first" in result.stderr
        assert state_of(sb) == before


def test_refused_when_other_changes_are_pending(moved_empty):
    moved = moved_empty
    moved.edit("oldapp/models.py", "customer = models.CharField(max_length=60)", "customer = models.CharField(max_length=80)")
    before = state_of(moved)
    result = moved.run("move_model", "oldapp.Car", "newapp")
    assert result.returncode == 1
    assert "Besides the move, the code has changes no migration records (oldapp: Alter field customer on rental)" in result.stderr
    assert state_of(moved) == before


def test_refused_when_the_class_was_copied_not_moved():
    with Sandbox(APPS) as sb:
        sb.run("migrate", "-v0").check()
        source = sb.read("oldapp/models.py")
        car = source[source.index("class Car("):source.index("class Rental(")]
        sb.write("newapp/models.py", "from django.db import models\n\nfrom oldapp.models import Feature\n\n\n" + car.replace("features = models.ManyToManyField(Feature, blank=True)", "features = models.ManyToManyField(Feature, blank=True, related_name='+')"))
        result = sb.run("move_model", "oldapp.Car", "newapp")
        assert result.returncode == 1
        assert "oldapp still defines Car: remove the class from oldapp (cut, not copy)." in result.stderr


def test_object_names_are_renamed_as_whole_parts_only():
    mapping = {"oldapp_car": "newapp_car", "oldapp_car_features": "newapp_car_features"}
    assert _renamed("oldapp_car_pkey", mapping) == "newapp_car_pkey"
    assert _renamed("oldapp_car_features_car_id_796d32f9_fk_oldapp_car_id", mapping) == (
        "newapp_car_features_car_id_796d32f9_fk_newapp_car_id"
    )
    assert _renamed("oldapp_rental_car_id_1c18a11c_fk_oldapp_car_id", mapping) == (
        "oldapp_rental_car_id_1c18a11c_fk_newapp_car_id"
    )
    assert _renamed("xoldapp_carpet_pkey", mapping) == "xoldapp_carpet_pkey"


# Every index, sequence and constraint of the sandbox's schema, by name.
PG_OBJECT_NAMES = (
    "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
    "AND relkind IN ('i', 'S') UNION SELECT conname FROM pg_constraint "
    "WHERE connamespace = current_schema()::regnamespace ORDER BY 1"
)


def test_postgresql_objects_named_after_the_old_table_are_renamed_and_back():
    from helpers.notebook.sandbox import postgres_available

    if not postgres_available():
        pytest.skip("needs a PostgreSQL server: set DATABASE_URL or KIT_POSTGRES_URL")
    names = PG_OBJECT_NAMES
    sb = prepared("postgresql")
    try:
        move_car_in_code(sb)
        before = sb.query(names).column("relname")
        assert "oldapp_car_pkey" in before and "oldapp_car_id_seq" in before
        assert sb.run("move_model", "oldapp.Car", "newapp", "--rename-db-objects").ok
        data = snapshot(sb, "oldapp")
        assert sb.run("migrate").ok
        after = sb.query(names).column("relname")
        assert not [n for n in after if "oldapp_car" in n]
        assert {"newapp_car_pkey", "newapp_car_id_seq", "newapp_car_features_pkey"} <= set(after)
        assert any(n.endswith("_fk_newapp_car_id") and n.startswith("oldapp_rental_car_id_") for n in after)
        assert same_data(snapshot(sb, "newapp"), data)
        assert integrity_problems(sb) == []
        # The renamed sequence still numbers new cars.
        sb.shell("from newapp.models import Car\nCar.objects.create(name='new', color='green')").check()
        assert sb.run("migrate", "oldapp", "0001").ok
        assert sb.query(names).column("relname") == before
        assert integrity_problems(sb) == []
    finally:
        sb.close()


def test_a_faked_rollback_keeps_the_older_content_type_row_the_data_points_at(moved):
    """post_migrate made a fresh oldapp.car row (and its permissions) after a faked rollback:
    the forward move keeps the older newapp row, which notes and permissions point at."""
    sb = moved
    assert sb.run("move_model", "oldapp.Car", "newapp").ok
    assert sb.run("migrate").ok
    forwards = snapshot(sb, "newapp")
    original = forwards["car_type_ids"]
    assert sb.run("migrate", "oldapp", "0002", "--fake").ok
    rows = sb.query("SELECT id, app_label FROM django_content_type WHERE model = 'car' ORDER BY id").rows
    assert [r[1] for r in rows] == ["newapp", "oldapp"] and [rows[0][0]] == original
    fresh = rows[1][0]
    assert sb.query("SELECT COUNT(*) FROM auth_permission WHERE content_type_id = %s", [fresh]).rows == [(4,)]
    assert sb.run("migrate").ok
    assert sb.query("SELECT id, app_label FROM django_content_type WHERE model = 'car'").rows == [
        (original[0], "newapp")
    ]
    assert sb.query("SELECT COUNT(*) FROM auth_permission WHERE content_type_id = %s", [fresh]).rows == [(0,)]
    assert snapshot(sb, "newapp") == forwards  # every note and permission still there, same ids
    assert notes_resolve(sb)[0] == (1, "newapp", "Volga")


def test_a_migrations_folder_that_cannot_be_written_leaves_no_file_and_the_next_attempt_works(moved):
    sb = moved
    sb.delete("newapp/migrations/__init__.py")
    sb.path("newapp/migrations").rmdir()
    sb.write("newapp/migrations", "a file where the folder should be\n")
    before = tree(sb)
    failed = sb.run("move_model", "oldapp.Car", "newapp")
    assert failed.returncode == 1
    assert "CommandError: Cannot write" in failed.stderr and "nothing was written" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert tree(sb) == before  # oldapp's and garage's files were not written either, no temporary file
    sb.delete("newapp/migrations")
    again = sb.run("move_model", "oldapp.Car", "newapp")
    assert again.ok, again
    assert {app: sb.migration_files(app) for app in APPS} == NEW_FILES
    data = snapshot(sb, "oldapp")
    assert sb.run("migrate").ok
    assert same_data(snapshot(sb, "newapp"), data)


def test_an_unknown_database_alias_is_a_clear_error(moved_empty):
    before = state_of(moved_empty)
    result = moved_empty.run("move_model", "oldapp.Car", "newapp", "--database", "nosuch")
    assert result.returncode == 1
    assert "CommandError: No database 'nosuch' in settings.DATABASES (known aliases: default)." in result.stderr
    assert "Traceback" not in result.stderr
    assert state_of(moved_empty) == before


def test_postgresql_names_over_63_characters_are_shortened_like_django_and_listed():
    """A longer table name makes some object names too long: truncate_name with a hash, every one listed."""
    from django.db.backends.utils import truncate_name

    from helpers.notebook.sandbox import postgres_available

    if not postgres_available():
        pytest.skip("needs a PostgreSQL server: set DATABASE_URL or KIT_POSTGRES_URL")
    names = PG_OBJECT_NAMES
    sb = prepared("postgresql")
    try:
        move_car_in_code(sb)
        sb.edit("newapp/models.py", '        verbose_name_plural = "cars"\n',
                '        verbose_name_plural = "cars"\n        db_table = "newapp_vehicle_fleet_car"\n')
        before = set(sb.query(names).column("relname"))
        made = sb.run("move_model", "oldapp.Car", "newapp", "--rename-db-objects")
        assert made.ok, made
        listed = dict(re.findall(r"^  (?:constraint|index|sequence) (\S+) -> (\S+)", made.stdout, re.M))
        long_fk = next(n for n in before if n.startswith("oldapp_car_features_car_id_") and "_fk_" in n)
        plain = long_fk.replace("oldapp_car", "newapp_vehicle_fleet_car")
        assert len(plain) > 63 and listed[long_fk] == truncate_name(plain, 63)
        assert f"{long_fk} -> {truncate_name(plain, 63)} (shortened the way Django does" in made.stdout
        data = snapshot(sb, "oldapp")
        assert sb.run("migrate").ok
        after = set(sb.query(names).column("relname"))
        assert not [n for n in after if "oldapp_car" in n]  # nothing left under its old name
        assert before - after == set(listed) and after - before == set(listed.values())
        assert all(len(n) <= 63 for n in after)
        assert same_data(snapshot(sb, "newapp_vehicle_fleet"), data)
        assert integrity_problems(sb) == []
        assert sb.run("migrate", "oldapp", "0001").ok
        assert set(sb.query(names).column("relname")) == before
        assert same_data(snapshot(sb, "oldapp"), data)
    finally:
        sb.close()


def test_a_fresh_database_migrates_through_the_move():
    """On a fresh database the rename must wait for garage's foreign key to the old table."""
    with Sandbox(APPS) as sb:
        sb.run("migrate", "-v0").check()
        move_car_in_code(sb)
        assert sb.run("move_model", "oldapp.Car", "newapp").ok
        assert "('garage', '0001_initial')" in sb.read("oldapp/migrations/0002_car_to_newapp_rename_tables.py")
        assert sb.run("migrate", "oldapp", "zero").ok
        assert not [t for t in sb.tables().column("table") if t.startswith(("oldapp_", "newapp_", "garage_"))]
        fresh = sb.run("migrate")
        assert fresh.ok, fresh
        assert integrity_problems(sb) == []
        assert sb.run("makemigrations", "--check", "--dry-run").ok


def test_the_rename_works_inside_a_squashed_migration_on_a_fresh_database():
    """Squashed with oldapp's first migration, the rename runs in the schema editor that still holds
    the statements Django deferred (indexes, and on PostgreSQL the foreign keys) for the old table
    names: they must follow the rename, or migrating a fresh database fails."""
    with Sandbox(["oldapp", "newapp"]) as sb:
        sb.run("migrate", "-v0").check()
        move_car_in_code_without_garage(sb)
        assert sb.run("move_model", "oldapp.Car", "newapp").ok
        assert sb.run("migrate").ok
        squashed = sb.run("squashmigrations", "oldapp", "0002", "--noinput")
        assert squashed.ok, squashed
        assert "0001_squashed_0002_car_to_newapp_rename_tables" in sb.migration_files("oldapp")
        assert sb.run("migrate", "oldapp", "zero").ok
        assert not [t for t in sb.tables().column("table") if t.startswith(("oldapp_", "newapp_"))]
        fresh = sb.run("migrate")
        assert fresh.ok, fresh
        assert "Applying oldapp.0001_squashed_0002_car_to_newapp_rename_tables... OK" in fresh.stdout
        tables = sb.tables().column("table")
        assert {"newapp_car", "newapp_car_features"} <= set(tables) and "oldapp_car" not in tables
        assert integrity_problems(sb) == []
        assert sb.run("makemigrations", "--check", "--dry-run").ok


def move_car_in_code_without_garage(sb: Sandbox) -> None:
    """Cut Car from oldapp into newapp and point Rental at it (garage, if there, is left alone)."""
    source = sb.read("oldapp/models.py")
    start, end = source.index("class Car("), source.index("class Rental(")
    sb.write("oldapp/models.py", source[:start] + source[end:])
    sb.edit("oldapp/models.py", "models.ForeignKey(Car,", 'models.ForeignKey("newapp.Car",')
    sb.write("newapp/models.py", "from django.db import models\n\nfrom oldapp.models import Feature\n\n\n" + source[start:end])


# Every foreign key, check and index of the sandbox's MariaDB database: (kind, table, name, definition).
MYSQL_OBJECTS = """
    SELECT 'foreign key', r.TABLE_NAME, r.CONSTRAINT_NAME,
           CONCAT(k.COLUMN_NAME, '->', r.REFERENCED_TABLE_NAME, '.', k.REFERENCED_COLUMN_NAME, ' ',
                  r.UPDATE_RULE, '/', r.DELETE_RULE)
    FROM information_schema.REFERENTIAL_CONSTRAINTS r
    JOIN information_schema.KEY_COLUMN_USAGE k ON k.CONSTRAINT_SCHEMA = r.CONSTRAINT_SCHEMA
      AND k.TABLE_NAME = r.TABLE_NAME AND k.CONSTRAINT_NAME = r.CONSTRAINT_NAME
    WHERE r.CONSTRAINT_SCHEMA = DATABASE()
    UNION ALL SELECT 'check', TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
    WHERE CONSTRAINT_SCHEMA = DATABASE()
    UNION ALL SELECT 'index', TABLE_NAME, INDEX_NAME,
           CONCAT(GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX), ' unique=', 1 - MIN(NON_UNIQUE))
    FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() GROUP BY TABLE_NAME, INDEX_NAME
    ORDER BY 1, 2, 3
"""


def mysql_objects(sb: Sandbox) -> set[tuple]:
    """Every foreign key, check and index of the database, with its definition."""
    return set(sb.query(MYSQL_OBJECTS).rows)


def test_mysql_names_over_64_characters_are_shortened_like_django_renamed_and_back():
    """MariaDB: foreign keys (dropped and added again, same definition), their indexes and the
    m2m table's unique index renamed after the new tables, the too-long ones with truncate_name."""
    from django.db.backends.utils import truncate_name

    from helpers.notebook.sandbox import mysql_available

    if not mysql_available():
        pytest.skip("needs a MySQL server: set KIT_MYSQL_URL (.ci/mysql start prints one)")
    sb = prepared("mysql")
    try:
        move_car_in_code(sb)
        sb.edit("newapp/models.py", '        verbose_name_plural = "cars"\n',
                '        verbose_name_plural = "cars"\n        db_table = "newapp_vehicle_fleet_car"\n')
        before = mysql_objects(sb)
        old_names = {name for _, _, name, _ in before if "oldapp_car" in name}
        assert len(old_names) == 5, old_names  # 4 foreign keys (2 with an index of their name), 1 unique
        made = sb.run("move_model", "oldapp.Car", "newapp", "--rename-db-objects")
        assert made.ok, made
        print(made.stdout)
        assert "MySQL objects renamed after the new tables (8):" in made.stdout
        listed = dict(re.findall(r"^  (?:foreign key|check|index) (\S+) -> (\S+)", made.stdout, re.M))
        assert set(listed) == old_names
        long_fk = next(n for n in old_names if n.startswith("oldapp_car_features_car_id_") and "_fk_" in n)
        plain = long_fk.replace("oldapp_car", "newapp_vehicle_fleet_car")
        assert len(plain) > 64 and listed[long_fk] == truncate_name(plain, 64)
        assert f"{long_fk} -> {truncate_name(plain, 64)} (shortened the way Django does" in made.stdout
        data = snapshot(sb, "oldapp")
        migrated = sb.run("migrate")
        assert migrated.ok, migrated
        after = mysql_objects(sb)
        assert not [n for _, _, n, _ in after if "oldapp_car" in n]  # nothing left under its old name
        assert all(len(n) <= 64 for _, _, n, _ in after)
        renamed_back = {(k, t, {v: o for o, v in listed.items()}.get(n, n), d) for k, t, n, d in after}
        tables = {"newapp_vehicle_fleet_car": "oldapp_car",
                  "newapp_vehicle_fleet_car_features": "oldapp_car_features"}
        assert mysql_objects_renamed(renamed_back, tables) == before  # same objects, same definitions
        assert same_data(snapshot(sb, "newapp_vehicle_fleet"), data)
        assert integrity_problems(sb) == []
        assert sb.run("migrate", "oldapp", "0001").ok
        assert mysql_objects(sb) == before
        assert same_data(snapshot(sb, "oldapp"), data)
        assert integrity_problems(sb) == []
    finally:
        sb.close()


def mysql_objects_renamed(objects: set[tuple], tables: dict[str, str]) -> set[tuple]:
    out = set()
    for kind, table, name, definition in objects:
        for new, old in tables.items():
            definition = definition.replace(f">{new}.", f">{old}.")
        out.add((kind, tables.get(table, table), name, definition))
    return out

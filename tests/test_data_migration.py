"""make_data_migration: a reversible RunPython skeleton, proven forward, backward, forward."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from helpers.notebook.sandbox import Sandbox
from helpers.writers.data_migration import (
    DataMigrationError,
    plan_data_migration,
    render_data_migration,
    write_data_migration,
)
from helpers.writers.file_writer import WriteError

NAME_FIELD = "    last_name = models.CharField(max_length=50)\n"


def checksum(sb: Sandbox, table: str) -> tuple[int, str]:
    rows = sb.rows(table).rows
    digest = hashlib.sha256(repr([tuple(map(str, r)) for r in rows]).encode()).hexdigest()
    return len(rows), digest


# -- planning and rendering, on the committed project (nothing is written) --------------


def test_plan_numbers_the_next_migration_and_depends_on_every_app_used():
    plan = plan_data_migration("members", "combine_names", ["members.Person", "authors.Author"])
    assert plan.name == "0002_combine_names"
    assert plan.dependencies == [("members", "0001_initial"), ("authors", "0001_initial")]
    assert [(m.app_label, m.object_name) for m in plan.models] == [("members", "Person"), ("authors", "Author")]
    assert plan.path.as_posix().endswith("tutorial_project/members/migrations/0002_combine_names.py")
    assert not plan.path.exists()
    assert plan_data_migration("catalog", "x").name == "0008_x"


def test_rendered_file_uses_historical_models_and_reverse_code():
    text = render_data_migration(plan_data_migration("members", "combine_names", ["members.Person"]))
    compile(text, "0002_combine_names.py", "exec")
    assert 'Person = apps.get_model("members", "Person")' in text
    assert "import members" not in text and "from members" not in text
    assert "migrations.RunPython(forwards, backwards)," in text
    assert "('members', '0001_initial')," in text
    assert text.count("raise NotImplementedError") == 2
    elidable = render_data_migration(plan_data_migration("members", "x", elidable=True))
    assert "RunPython(forwards, backwards, elidable=True)" in elidable


def test_a_model_named_twice_is_looked_up_once():
    plan = plan_data_migration("members", "x", ["members.Person", "members.Person"])
    assert len(plan.models) == 1
    assert render_data_migration(plan).count('Person = apps.get_model("members", "Person")') == 2  # forwards, backwards


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("members", "combine names"), "must be a valid Python identifier"),
        (("members", "class"), "must be a valid Python identifier"),
        (("nope", "x"), "No installed app with label 'nope'"),
        (("members", "x", ["members.Persn"]), r"No model 'members.Persn'.*members.Person"),
        (("members", "x", ["Person"]), "app_label.ModelName"),
        (("members", "x", ["helpers.Thing"]), "No model 'helpers.Thing'"),
        (("helpers", "x"), "App 'helpers' has no migrations"),
        (("members", "n" * 300), r"300 bytes long; .* at most 247\. Give a shorter name, e\.g\. 'nnnn"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(args, message):
    with pytest.raises(DataMigrationError, match=message):
        plan_data_migration(*args)


def test_write_never_overwrites_and_leaves_no_partial_file(tmp_path):
    plan = plan_data_migration("members", "combine_names", ["members.Person"])
    target = tmp_path / "members" / "migrations" / "0002_combine_names.py"
    plan = dataclasses.replace(plan, path=target)
    assert write_data_migration(plan) == target
    assert "def forwards(apps, schema_editor):" in target.read_text()
    assert sorted(p.name for p in target.parent.iterdir()) == ["0002_combine_names.py", "__init__.py"]
    target.write_text("# mine\n")
    with pytest.raises(WriteError, match="already exists; nothing was written"):
        write_data_migration(plan)
    assert target.read_text() == "# mine\n"


# -- the command, in a sandbox, on the pass's backend --------------------------------------

FORWARDS = '''
    for person in Person.objects.using(db_alias).all():
        person.name = f"{person.first_name} {person.last_name}"
        person.save(update_fields=["name"])
'''
BACKWARDS = '''
    Person.objects.using(db_alias).update(name="")
'''


def test_generated_migration_runs_forward_backward_forward_with_every_row_compared():
    with Sandbox(["members"]) as sb:
        sb.edit("members/models.py", NAME_FIELD, NAME_FIELD + '    name = models.CharField(max_length=101, default="")\n')
        sb.run("makemigrations", "members", "--name", "person_name").check()
        made = sb.run("make_data_migration", "members", "combine_names", "--model", "members.Person")
        assert made.ok, made
        assert "members/migrations/0003_combine_names.py" in made.stdout
        assert "depends on members.0002_person_name" in made.stdout
        path = "members/migrations/0003_combine_names.py"
        sb.run("migrate", "members", "0002").check()
        sb.run("loaddata", "people").check()
        before = checksum(sb, "members_person")

        # The stubs fail loudly: nothing is recorded as applied.
        stub = sb.run("migrate", "members")
        assert stub.returncode == 1 and "NotImplementedError: Write forwards()" in stub.stderr
        assert "0003_combine_names" not in sb.applied("members").column("name")
        assert checksum(sb, "members_person") == before

        text = sb.read(path)
        forwards, backwards = text.split("def backwards")
        forwards = forwards.replace(
            '    raise NotImplementedError("Write forwards() in members/migrations/0003_combine_names.py")\n',
            FORWARDS.lstrip("\n"))
        backwards = backwards.replace(
            '    raise NotImplementedError("Write backwards() in members/migrations/0003_combine_names.py")\n',
            BACKWARDS.lstrip("\n"))
        sb.write(path, forwards + "def backwards" + backwards)

        sb.run("migrate", "members").check()
        names = sb.query("SELECT first_name, last_name, name FROM members_person ORDER BY id").rows
        assert names and all(name == f"{first} {last}" for first, last, name in names)
        after = checksum(sb, "members_person")
        assert after != before

        sb.run("migrate", "members", "0002").check()
        assert checksum(sb, "members_person") == before
        sb.run("migrate", "members").check()
        assert checksum(sb, "members_person") == after


def test_cross_app_dependency_prevents_the_lookup_error():
    with Sandbox(["authors", "members"]) as sb:
        sb.run("make_data_migration", "members", "copy_authors", "-m", "authors.Author", "-m", "members.Person").check()
        path = "members/migrations/0002_copy_authors.py"
        assert "('authors', '0001_initial')," in sb.read(path)
        text = sb.read(path).replace(
            '    raise NotImplementedError("Write forwards() in members/migrations/0002_copy_authors.py")\n',
            "    for a in Author.objects.using(db_alias).order_by('pk'):\n"
            "        first, _, last = a.name.partition(' ')\n"
            "        Person.objects.using(db_alias).create(first_name=first, last_name=last)\n",
        )
        sb.write(path, text)
        sb.run("migrate", "authors").check()
        sb.run("loaddata", "authors").check()
        assert sb.run("migrate", "members").ok
        assert sb.count("members_person") == sb.count("authors_author") > 0
        # Without the dependency, migrating members alone on a fresh database fails.
        sb2_text = sb.read(path).replace("        ('authors', '0001_initial'),\n", "")
        sb.reset()
        sb.run("make_data_migration", "members", "copy_authors", "-m", "authors.Author").check()
        sb.write(path, sb2_text)
        failed = sb.run("migrate", "members")
        assert failed.returncode == 1
        assert "LookupError: No installed app with label 'authors'." in failed.stderr


def test_command_errors_change_nothing():
    with Sandbox(["members"]) as sb:
        files = sb.migration_files("members")
        for args in (("members", "bad name"), ("members", "x", "-m", "members.Nobody"), ("nope", "x")):
            result = sb.run("make_data_migration", *args)
            assert result.returncode == 1 and "CommandError" in result.stderr
        assert sb.migration_files("members") == files
        # Two leaves in one app: refused until they are merged.
        sb.write("members/migrations/0002_a.py", "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = [('members', '0001_initial')]\n")
        sb.write("members/migrations/0002_b.py", "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = [('members', '0001_initial')]\n")
        conflict = sb.run("make_data_migration", "members", "x")
        assert "conflicting migrations (0002_a, 0002_b)" in conflict.stderr
        assert sb.migration_files("members") == ["0001_initial", "0002_a", "0002_b"]
        dry = sb.run("make_data_migration", "members", "y", "--dry-run")
        assert "conflicting" in dry.stderr


def test_dry_run_prints_and_writes_nothing():
    with Sandbox(["members"]) as sb:
        dry = sb.run("make_data_migration", "members", "combine_names", "-m", "members.Person", "--dry-run")
        assert dry.ok, dry
        assert dry.stdout.startswith("# members/migrations/0002_combine_names.py (dry run: not written)")
        assert "migrations.RunPython(forwards, backwards)" in dry.stdout
        assert sb.migration_files("members") == ["0001_initial"]


# -- hostile input, failing disks, swapped models, same-named models ------------------------


def test_a_name_too_long_for_a_file_is_refused_and_the_longest_one_works(tmp_path):
    longest = "n" * 247  # "0002_" + 247 + ".py" = 255 bytes, the file system's limit
    plan = dataclasses.replace(
        plan_data_migration("members", longest), path=tmp_path / "migrations" / f"0002_{longest}.py"
    )
    assert write_data_migration(plan).name == f"0002_{longest}.py"
    with pytest.raises(DataMigrationError, match="248 bytes long"):
        plan_data_migration("members", longest + "n")
    with Sandbox(["members"]) as sb:
        result = sb.run("make_data_migration", "members", "x" * 300)
        assert result.returncode == 1
        assert "CommandError: The migration name is 300 bytes long" in result.stderr
        assert "Traceback" not in result.stderr and "OSError" not in result.stderr
        assert sb.migration_files("members") == ["0001_initial"]


def _immutable(path, on: bool) -> bool:
    """``chattr +i``/``-i``: a folder even root cannot write into. False where unsupported."""
    import subprocess

    return subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True).returncode == 0


def test_a_folder_that_cannot_be_written_leaves_nothing_and_the_next_attempt_works():
    with Sandbox(["members"]) as sb:
        folder = sb.path("members/migrations")
        before = sorted(p.name for p in folder.iterdir())
        if not _immutable(folder, True):
            pytest.skip("chattr +i is not supported here")
        try:
            if (folder / "probe").exists() or _writable(folder):
                pytest.skip("chattr +i does not stop writes here")
            failed = sb.run("make_data_migration", "members", "combine_names", "-m", "members.Person")
        finally:
            _immutable(folder, False)
        assert failed.returncode == 1
        assert "CommandError: Cannot write" in failed.stderr and "nothing was written" in failed.stderr
        assert "Traceback" not in failed.stderr
        assert sorted(p.name for p in folder.iterdir()) == before  # no temporary file either
        again = sb.run("make_data_migration", "members", "combine_names", "-m", "members.Person")
        assert again.ok, again
        assert sb.migration_files("members") == ["0001_initial", "0002_combine_names"]


def _writable(folder) -> bool:
    try:
        (folder / ".probe").write_text("")
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


CUSTOM_USER = """from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    pass
"""


def test_a_swapped_user_model_is_looked_up_through_its_setting():
    """auth.User under a custom user model: the file uses settings.AUTH_USER_MODEL, and it runs."""
    with Sandbox(["members"]) as sb:
        sb.write("accounts/__init__.py", "")
        sb.write("accounts/models.py", CUSTOM_USER)
        sb.edit("mysite/settings.py", "    *KIT_APPS,\n", '    *KIT_APPS,\n    "accounts",\n')
        sb.edit("mysite/settings.py", "DEFAULT_AUTO_FIELD", 'AUTH_USER_MODEL = "accounts.User"\nDEFAULT_AUTO_FIELD')
        sb.run("makemigrations", "accounts").check()
        made = sb.run("make_data_migration", "members", "seed_users", "--model", "auth.User")
        assert made.ok, made
        path = "members/migrations/0002_seed_users.py"
        text = sb.read(path)
        assert "    User = apps.get_model(settings.AUTH_USER_MODEL)  # accounts.User here\n" in text
        assert "migrations.swappable_dependency(settings.AUTH_USER_MODEL)," in text
        assert '"auth", "User"' not in text and "from django.conf import settings\n" in text
        body = "    User.objects.using(db_alias).create(username='ada')\n"
        undo = "    User.objects.using(db_alias).filter(username='ada').delete()\n"
        text = text.replace(f'    raise NotImplementedError("Write forwards() in {path}")\n', body)
        sb.write(path, text.replace(f'    raise NotImplementedError("Write backwards() in {path}")\n', undo))
        # On a fresh database, migrating members alone must bring the user model's table first.
        forwards = sb.run("migrate", "members")
        assert forwards.ok, forwards
        assert sb.query("SELECT username FROM accounts_user").rows == [("ada",)]
        sb.run("migrate", "members", "0001").check()
        assert sb.count("accounts_user") == 0
        sb.run("migrate", "members").check()
        assert sb.query("SELECT username FROM accounts_user").rows == [("ada",)]


def test_same_named_models_of_two_apps_get_two_variables_that_run():
    with Sandbox(["members", "roster"]) as sb:
        made = sb.run("make_data_migration", "members", "copy_roster", "-m", "members.Person", "-m", "roster.Person")
        assert made.ok, made
        path = "members/migrations/0002_copy_roster.py"
        text = sb.read(path)
        assert 'MembersPerson = apps.get_model("members", "Person")' in text
        assert 'RosterPerson = apps.get_model("roster", "Person")' in text
        body = (
            "    for p in RosterPerson.objects.using(db_alias).order_by('pk'):\n"
            "        first, _, last = p.name.partition(' ')\n"
            "        MembersPerson.objects.using(db_alias).create(first_name=first, last_name=last)\n"
        )
        undo = "    MembersPerson.objects.using(db_alias).all().delete()\n"
        text = text.replace(f'    raise NotImplementedError("Write forwards() in {path}")\n', body)
        sb.write(path, text.replace(f'    raise NotImplementedError("Write backwards() in {path}")\n', undo))
        sb.run("migrate", "members", "0001").check()
        sb.run("migrate", "roster").check()
        sb.shell("from roster.models import Person\nfor n in ['Ada Lovelace', 'Alan Turing']:\n"
                 "    Person.objects.create(name=n)").check()
        sb.run("migrate", "members").check()
        rows = sb.query("SELECT first_name, last_name FROM members_person ORDER BY id").rows
        assert rows == [("Ada", "Lovelace"), ("Alan", "Turing")]
        assert sb.count("roster_person") == 2
        sb.run("migrate", "members", "0001").check()
        assert sb.count("members_person") == 0 and sb.count("roster_person") == 2

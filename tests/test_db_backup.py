"""backup_database / restore_database: the whole database back, schema and rows, on the pass's backend."""

from __future__ import annotations

import hashlib
import json

import pytest

from helpers.sandbox import Sandbox


def everything(sb: Sandbox) -> dict:
    tables = sb.tables().column("table")
    return {
        t: hashlib.sha256(json.dumps([list(map(str, r)) for r in sb.rows(t).rows]).encode()).hexdigest()
        for t in tables
    }


@pytest.fixture
def loaded():
    with Sandbox(["oldapp", "newapp", "garage"]) as sb:
        sb.run("migrate", "-v0").check()
        sb.run("loaddata", "oldapp", "garage").check()
        yield sb


def test_restore_brings_back_schema_and_rows_and_can_be_repeated(loaded):
    sb = loaded
    before = everything(sb)
    made = sb.run("backup_database", "before_move")
    assert made.ok, made
    for _ in range(2):
        sb.run("migrate", "garage", "zero", "-v0").check()
        sb.query("DELETE FROM oldapp_rental")
        assert "garage_note" not in sb.tables().column("table")
        restored = sb.run("restore_database", "before_move")
        assert restored.ok, restored
        assert everything(sb) == before
    # The restored database keeps working: new rows get new ids.
    sb.shell("from oldapp.models import Feature\nFeature.objects.create(name='GPS')").check()
    assert sb.count("oldapp_feature") == 4
    assert sb.run("backup_database", "before_move", "--delete").ok
    assert sb.run("restore_database", "before_move").returncode == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["restore_database", "nothing"], "No backup named 'nothing'"),
        (["backup_database", "Bad-Name"], "Backup name 'Bad-Name' is not allowed"),
        (["restore_database", "x; DROP TABLE oldapp_car"], "is not allowed"),
    ],
)
def test_bad_names_are_refused_and_nothing_changes(loaded, args, message):
    before = everything(loaded)
    result = loaded.run(*args)
    assert result.returncode == 1
    assert message in result.stderr
    assert everything(loaded) == before


def test_an_existing_backup_is_not_overwritten_unless_asked(loaded):
    sb = loaded
    sb.run("backup_database", "snap").check()
    sb.query("DELETE FROM oldapp_rental")
    again = sb.run("backup_database", "snap")
    assert again.returncode == 1 and "already exists" in again.stderr
    sb.run("restore_database", "snap").check()
    assert sb.count("oldapp_rental") == 3  # the first backup was kept
    sb.query("DELETE FROM oldapp_rental")
    sb.run("backup_database", "snap", "--replace").check()
    sb.run("restore_database", "snap").check()
    assert sb.count("oldapp_rental") == 0
    sb.run("backup_database", "snap", "--delete").check()

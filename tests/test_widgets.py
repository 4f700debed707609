"""The migration explorer (driven from code, on a real sandbox) and progress bars."""

from __future__ import annotations

import pytest

from helpers.sandbox import SandboxError
from helpers.widgets import MigrationExplorer, parse_plan, progress

FORWARDS = """Planned operations:
authors.0001_initial
    Create model Author
books.0002_longer
    Alter field title on book
    Raw SQL operation
"""
BACKWARDS = """Planned operations:
books.0002_longer
    Undo Alter field title on book
"""


def test_parse_plan():
    steps = parse_plan(FORWARDS)
    assert [(s.app, s.name, s.backwards) for s in steps] == [
        ("authors", "0001_initial", False),
        ("books", "0002_longer", False),
    ]
    assert steps[1].operations == ("Alter field title on book", "Raw SQL operation")
    assert parse_plan(BACKWARDS)[0].backwards is True
    assert parse_plan("Planned operations:\n  No planned migration operations.\n") == []


def test_explorer_plans_shows_sql_and_runs_both_ways(sandbox):
    sandbox.edit("books/models.py", "max_length=100", "max_length=200")
    sandbox.run("makemigrations", "books", "--name", "longer").check()
    explorer = MigrationExplorer(sandbox, "books")
    assert explorer.target == "0002_longer"
    assert [s.name for s in explorer.plan()] == ["0001_initial", "0001_initial", "0002_longer"]
    assert explorer.run().ok
    assert explorer.plan() == []
    assert "varchar(200)" in explorer.tables().column("type")

    explorer.select("books", "0001")
    assert explorer.target == "0001_initial"
    assert [(s.name, s.backwards) for s in explorer.plan()] == [("0002_longer", True)]
    sql = explorer.sql()
    assert sql[0].command.endswith("sqlmigrate books 0002_longer --backwards")
    assert "varchar(100)" in sql[0].stdout
    explorer.run()
    assert "varchar(100)" in explorer.tables().column("type")
    assert repr(explorer).startswith("Migration explorer: books -> 0001_initial")
    # What the widget shows is the same text, in its HTML parts.
    assert "nothing to do" in explorer._plan_out.value


def test_explorer_refuses_unknown_or_ambiguous_targets(sandbox):
    sandbox.edit("books/models.py", "max_length=100", "max_length=200")
    sandbox.run("makemigrations", "books", "--name", "longer").check()
    explorer = MigrationExplorer(sandbox, "books")
    with pytest.raises(SandboxError, match="matches none"):
        explorer.select("books", "0009")
    with pytest.raises(SandboxError, match="matches 0001_initial, 0002_longer"):
        explorer.select("books", "000")
    with pytest.raises(SandboxError, match="Unknown app 'nope'"):
        explorer.select("nope", "zero")
    assert explorer.target == "0002_longer"


def test_progress_outside_a_notebook_writes_to_stderr(capsys):
    with progress(1000, "Copying rows") as bar:
        for _ in range(10):
            bar.advance(100)
    err = capsys.readouterr().err
    assert err.endswith("Copying rows: 100% (1,000/1,000)\n")
    assert err.count("100%") == 1

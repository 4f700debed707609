"""The migration explorer (driven from code, on a real sandbox) and progress bars."""

from __future__ import annotations

import pytest

from helpers.notebook.sandbox import SandboxError
from helpers.notebook.widgets import MigrationExplorer, parse_plan, progress

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


@pytest.mark.django_db(transaction=True)
def test_model_designer_changes_the_table_and_the_admin(client, django_user_model):
    from django.db import connection
    from surveys.dynamic import response_model
    from surveys.models import Question, Survey

    from helpers.notebook.widgets import ModelDesigner

    def columns():
        with connection.cursor() as cursor:
            return [c.name for c in connection.introspection.get_table_description(cursor, "surveys_response_designed")]

    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.com", "pw"))
    survey = Survey.objects.create(name="designed")
    try:
        Question.objects.create(survey=survey, name="rating", field_type="integer", position=1)
        response_model("designed").objects.create(rating=3)
        designer = ModelDesigner(survey, client)
        assert designer.changelist() == (200, ["id", "rating"])

        designer.add_field("visits", "integer")
        assert designer.changelist() == (200, ["id", "rating", "visits"])
        assert "visits" in columns()
        response_model("designed").objects.update(visits=7)

        designer.rename_field("visits", "visit_count")
        assert designer.changelist()[1][-1] == "visit_count"
        assert list(response_model("designed").objects.values_list("visit_count", flat=True)) == [7]

        designer.press("Add field", "select", "text")
        assert designer.message.startswith("refused: Field name 'select' is an SQL keyword")
        assert designer.fields() == [("rating", "integer"), ("visit_count", "integer")]
        assert "select" not in columns()

        with pytest.raises(SandboxError, match="No field 'nope'.*rating, visit_count"):
            designer.remove_field("nope")
        designer.press("Remove", "visit_count")
        assert designer.fields() == [("rating", "integer")]
        assert columns() == ["id", "rating"]
        assert 'id="result_list"' in designer._admin.value
        assert repr(designer).splitlines()[-1] == "  admin changelist: HTTP 200, columns ['id', 'rating']"
    finally:
        survey.delete()

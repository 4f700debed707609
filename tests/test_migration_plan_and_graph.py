"""Migration introspection (plans, leaves, conflicts, history) and the graph picture."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from helpers.analysis.migration_graph import GraphNode, MigrationGraphPicture, migration_graph
from helpers.notebook.sandbox import Sandbox

BRANCH = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("books", "0001_initial")]
    operations = [migrations.AddField("book", "{field}", models.IntegerField(null=True))]
"""

MERGE = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("books", "0002_pages"), ("books", "0002_rating")]
    operations = []
"""

API = """
import json
from helpers.analysis import migration_plan as mp
out = {{}}
try:
    out["result"] = {expr}
except Exception as exc:
    out["error"] = [type(exc).__name__, str(exc)]
print(json.dumps(out, default=str))
"""


def api(sb: Sandbox, expr: str) -> dict:
    result = sb.shell(API.format(expr=expr))
    assert result.ok, result
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def branched():
    with Sandbox(["authors", "books"]) as sb:
        sb.write("books/migrations/0002_pages.py", BRANCH.format(field="pages"))
        sb.write("books/migrations/0002_rating.py", BRANCH.format(field="rating"))
        yield sb


def test_conflicts_and_leaves_are_found_without_a_database(branched):
    assert api(branched, "mp.conflicts()")["result"] == {"books": ["0002_pages", "0002_rating"]}
    assert api(branched, "mp.leaf_nodes()['books']")["result"] == ["0002_pages", "0002_rating"]
    refused = api(branched, "mp.migration_plan('books')")["error"]
    assert refused[0] == "ConflictingMigrationsError"
    assert "multiple leaf nodes in the migration graph: (0002_pages, 0002_rating in books)" in refused[1]
    health = branched.run("migration_plan", "--health")
    assert "Conflicts: books: 0002_pages, 0002_rating" in health.stdout


def test_plans_forwards_and_backwards_after_a_merge(branched):
    branched.write("books/migrations/0003_merge.py", MERGE)
    try:
        assert api(branched, "mp.conflicts()")["result"] == {}
        forwards = api(branched, "str(mp.migration_plan('books'))")["result"]
        assert forwards.splitlines()[1:] == [
            "  Apply authors.0001_initial", "      Create model Author",
            "  Apply books.0001_initial", "      Create model Book",
            "  Apply books.0002_rating", "      Add field rating to book",  # Django's own order
            "  Apply books.0002_pages", "      Add field pages to book",
            "  Apply books.0003_merge",
        ]
        branched.run("migrate", "-v0").check()
        back = api(branched, "mp.migration_plan('books', '0002_p').names")["result"]
        assert back == ["books.0003_merge"]  # the sibling branch 0002_rating stays, as with migrate
        django_plan = branched.run("migrate", "books", "0002_p", "--plan").stdout
        assert "books.0003_merge" in django_plan and "0002_rating" not in django_plan
        assert api(branched, "mp.migration_plan('books', '0003').steps")["result"] == []
        status = api(branched, "[str(s) for s in mp.migration_status('books')]")["result"]
        assert status == ["[X] books.0001_initial", "[X] books.0002_rating", "[X] books.0002_pages", "[X] books.0003_merge"]
        assert api(branched, "[s.initial for s in mp.migration_status('books')]")["result"] == [True, False, False, False]
        # Nothing ran: the plan for zero is still all there, and everything is still applied.
        assert len(api(branched, "mp.migration_plan('books', 'zero').steps")["result"]) == 4
        assert len(branched.applied("books")) == 4
    finally:
        branched.run("migrate", "books", "zero", "-v0").check()
        branched.delete("books/migrations/0003_merge.py")


def test_bad_targets_name_the_candidates(branched):
    branched.write("books/migrations/0003_merge.py", MERGE)
    before = (repr(branched.tables()), repr(branched.applied()))
    try:
        unknown_app = api(branched, "mp.migration_plan('bookz')")["error"][1]
        assert unknown_app.startswith("No installed app with label 'bookz'. Apps with migrations: admin, auth")
        ambiguous = api(branched, "mp.migration_plan('books', '0002')")["error"][1]
        assert ambiguous == "More than one migration matches '0002' in app 'books': 0002_pages, 0002_rating. Please be more specific."
        missing = api(branched, "mp.migration_plan('books', '0007')")["error"][1]
        assert "Its migrations are: 0001_initial, 0002_pages, 0002_rating, 0003_merge (or zero)." in missing
        assert (repr(branched.tables()), repr(branched.applied())) == before  # nothing ran
    finally:
        branched.delete("books/migrations/0003_merge.py")


def test_history_problems_lists_applied_migrations_whose_parents_are_not():
    with Sandbox(["authors", "books"]) as sb:
        sb.run("migrate", "-v0").check()
        assert api(sb, "mp.history_problems()")["result"] == []
        sb.write("books/migrations/0002_pages.py", BRANCH.format(field="pages"))
        sb.run("migrate", "books", "-v0").check()
        sb.write("books/migrations/0002_rating.py", BRANCH.format(field="rating"))
        sb.edit("books/migrations/0002_pages.py", '("books", "0001_initial")', '("books", "0002_rating")')
        assert api(sb, "mp.history_problems()")["result"] == [
            "Migration books.0002_pages is applied before its dependency books.0002_rating."
        ]
        assert "InconsistentMigrationHistory" in sb.run("migrate").stderr


def test_graph_picture_marks_conflicts_cross_app_edges_and_is_deterministic(branched):
    shown = branched.run("migration_graph", "books", "--format", "json", "--no-database")
    picture = MigrationGraphPicture.from_json(shown.stdout)
    assert picture.conflicts == {"books": ["0002_pages", "0002_rating"]}
    assert picture.cross_app_edges == [(("authors", "0001_initial"), ("books", "0001_initial"))]
    assert [n.key for n in picture.nodes if n.external] == [("authors", "0001_initial")]
    svg = picture.svg()
    assert svg == MigrationGraphPicture.from_json(picture.to_json()).svg()
    assert svg == branched.run("migration_graph", "books", "--format", "svg", "--no-database").stdout
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg")
    assert svg.count('stroke="#cc0000" stroke-width="3"') == 2 + 1  # two conflicting leaves + legend
    assert svg.count('stroke-dasharray="5,3"') == 1 + 1  # one cross-app edge + legend
    text = picture.text()
    assert "  0002_pages  <- 0001_initial  [CONFLICT: one of several leaves]" in text
    assert "  0001_initial  <- authors.0001_initial" in text
    assert repr(picture) == text and picture._repr_svg_() == svg


def test_graph_in_process_on_the_committed_project_and_unknown_apps():
    picture = migration_graph(["authors", "books"], using=None)
    assert [n.key for n in picture.nodes] == [("authors", "0001_initial"), ("books", "0001_initial")]
    assert picture.conflicts == {}
    assert all(n.applied is None for n in picture.nodes)
    with pytest.raises(LookupError, match=r"No migrations for app 'bookz'\. Apps with migrations: .*authors, books"):
        migration_graph(["bookz"], using=None)


def test_merge_node_is_marked():
    picture = MigrationGraphPicture(
        ["books"],
        [
            GraphNode("books", "0001_initial"),
            GraphNode("books", "0002_a", (("books", "0001_initial"),)),
            GraphNode("books", "0002_b", (("books", "0001_initial"),)),
            GraphNode("books", "0003_merge", (("books", "0002_a"), ("books", "0002_b")), merge=True),
        ],
    )
    assert "  0003_merge  <- 0002_a, 0002_b  [merge]" in picture.text()
    assert picture.svg().count('fill="#e8dcf5"') == 1 + 1  # the merge node + legend


def test_graph_shows_what_a_squashed_migration_replaces_without_a_false_conflict():
    from helpers.notebook.sandbox import Sandbox

    with Sandbox(["catalog"]) as sb:
        sb.run("squashmigrations", "catalog", "0006", "--noinput").check()
        shown = sb.run("migration_graph", "catalog", "--format", "json", "--no-database")
        picture = MigrationGraphPicture.from_json(shown.check().stdout)
        squashed = [n for n in picture.nodes if n.replaces]
        assert [n.name for n in squashed] == ["0001_squashed_0006_delete_tag"]
        assert squashed[0].replaces[0] == ("catalog", "0001_initial")
        assert len(squashed[0].replaces) == 6
        assert picture.conflicts == {}  # a squash beside its run is not a second leaf
        assert "squashed: replaces 0001_initial" in picture.text()
        assert "dotted bracket: what it replaces" in picture.svg()
        assert MigrationGraphPicture.from_json(picture.to_json()).svg() == picture.svg()

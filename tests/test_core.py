"""helpers.core (targets, graph checks) and migration_plan, in process on the tutorial project's files.

Fast: no sandbox, no database (``MigrationLoader(None)``, ``using=None``); the
mutation run (README, "Mutation testing") uses these with the serialization tests.
"""

from __future__ import annotations

import pytest
from django.db.migrations.exceptions import AmbiguityError, NodeNotFoundError
from django.db.migrations.loader import MigrationLoader
from django.utils.connection import ConnectionDoesNotExist

from helpers.analysis.migration_plan import migration_plan, migration_status
from helpers.core import graph
from helpers.core.exceptions import (
    AmbiguousMigrationError,
    MigrationTargetError,
    UnknownAppError,
    UnknownDatabaseAliasError,
    UnknownMigrationError,
)
from helpers.core.targets import matching_names, resolve_target

ROSTER = ["0001_initial", "0002_person_name", "0003_combine_names", "0004_remove_person_first_name_last_name"]


@pytest.fixture(scope="module")
def loader() -> MigrationLoader:
    return MigrationLoader(None, ignore_no_migrations=True)


def test_a_target_is_a_full_name_a_unique_prefix_or_zero(loader):
    assert resolve_target(loader, "roster", "0002_person_name") == ("roster", "0002_person_name")
    assert resolve_target(loader, "roster", "0003") == ("roster", "0003_combine_names")
    assert resolve_target(loader, "roster", "zero") == ("roster", None)
    assert resolve_target(loader, "roster", None) == ("roster", None)


def test_a_full_name_wins_over_a_longer_name_it_prefixes():
    assert matching_names(["0001_initial_x", "0001_initial"], "0001_initial") == ["0001_initial"]
    assert matching_names(["0002_b", "0001_a", "0002_a"], "0002") == ["0002_a", "0002_b"]
    assert matching_names(["0001_a"], "0009") == []


def test_bad_targets_raise_the_kits_types_that_are_djangos_too(loader):
    with pytest.raises(UnknownAppError, match=r"^No installed app with label 'rooster'\. Apps with migrations: .*roster") as app:
        resolve_target(loader, "rooster", "0001")
    assert isinstance(app.value, LookupError) and isinstance(app.value, MigrationTargetError)
    with pytest.raises(UnknownAppError, match=r"\(several targets go in a list\)"):
        resolve_target(loader, "roster.0002", "x")
    with pytest.raises(UnknownAppError, match=r"^App 'helpers' does not have migrations\. Apps with migrations: admin"):
        resolve_target(loader, "helpers", "0001")
    with pytest.raises(UnknownMigrationError) as missing:
        resolve_target(loader, "roster", "0009")
    assert str(missing.value) == (
        f"Cannot find a migration matching '0009' from app 'roster'. Its migrations are: {', '.join(ROSTER)} (or zero)."
    )
    assert isinstance(missing.value, NodeNotFoundError) and missing.value.node == ("roster", "0009")
    with pytest.raises(AmbiguousMigrationError) as ambiguous:
        resolve_target(loader, "roster", "000")
    assert str(ambiguous.value) == (
        f"More than one migration matches '000' in app 'roster': {', '.join(ROSTER)}. Please be more specific."
    )
    assert isinstance(ambiguous.value, AmbiguityError)


def test_graph_checks_leaf_next_number_unapplied(loader):
    assert graph.leaves(loader, "roster") == [("roster", ROSTER[-1])]
    assert graph.leaf(loader, "roster") == ("roster", ROSTER[-1])
    assert graph.next_number(loader, "roster") == 5
    assert graph.next_number(loader, "roster", taken=7) == 8
    assert graph.next_number(loader, "roster", taken=2) == 5
    assert graph.leaf(loader, "helpers") is None and graph.leaves(loader, "helpers") == []
    assert graph.next_number(loader, "helpers") == 1
    applied = {("roster", "0001_initial"), ("roster", "0002_person_name"), ("ledger", "0001_initial")}
    assert graph.unapplied(loader, "roster", applied) == ROSTER[2:]
    assert graph.unapplied(loader, "roster") == ROSTER  # the loader read no database: nothing applied


def test_migration_plan_forwards_from_an_empty_database():
    plan = migration_plan("roster", "0002", using=None)
    assert plan.names == ["roster.0001_initial", "roster.0002_person_name"] and not plan.backwards
    assert plan.target == "roster 0002" and not plan.assumed_all_applied
    assert plan.steps[0].operations == ("Create model Person",)
    assert str(plan).splitlines()[:3] == ["Plan for roster 0002:", "  Apply roster.0001_initial", "      Create model Person"]
    assert migration_plan("roster", "zero", using=None).steps == ()
    assert str(migration_plan("roster", "zero", using=None)) == "Plan for roster zero: nothing to do."
    latest = migration_plan("roster", using=None)
    assert latest.target == "roster (latest)" and latest.names[-1] == f"roster.{ROSTER[-1]}"


def test_migration_plan_backwards_when_everything_is_applied():
    plan = migration_plan("roster", "0002_person_name", using=None, assume_all_applied=True)
    assert plan.names == [f"roster.{ROSTER[3]}", f"roster.{ROSTER[2]}"] and plan.backwards
    assert str(plan).startswith("Plan for roster 0002_person_name (assuming every migration is applied):\n  Unapply roster.")
    assert all(step.backwards for step in plan.steps)
    assert migration_plan("roster", using=None, assume_all_applied=True).steps == ()
    whole = migration_plan(using=None)
    assert whole.target == "every app (latest)" and f"roster.{ROSTER[-1]}" in whole.names


def test_migration_plan_refuses_bad_input_with_the_kits_types():
    with pytest.raises(MigrationTargetError, match=r"^Name the app of migration '0002'\.$"):
        migration_plan(None, "0002", using=None)
    with pytest.raises(UnknownDatabaseAliasError, match=r"^Unknown database alias 'nosuch'\. The aliases of this project: default") as alias:
        migration_plan("roster", using="nosuch")
    assert isinstance(alias.value, ConnectionDoesNotExist)
    with pytest.raises(UnknownAppError):
        migration_plan("rooster", using=None)


def test_migration_status_reads_the_applied_records(db):
    status = migration_status("roster")
    assert [str(s) for s in status] == [f"[X] roster.{n}" for n in ROSTER]
    assert [s.initial for s in status] == [True, False, False, False]
    assert status[1].dependencies == (("roster", "0001_initial"),) and status[1].replaces == ()


def test_a_backwards_step_lists_its_operations_in_undo_order():
    # mutmut survivors: the reversal in _in_run_order and the "undo: " prefix of the text
    plan = migration_plan("roster", "0003", using=None, assume_all_applied=True)
    assert plan.steps[0].operations == (
        "Remove field last_name from person", "Remove field first_name from person",
        "Alter field last_name on person", "Alter field first_name on person",
    )  # 0004 runs AlterField, AlterField, RemoveField, RemoveField: undone last first
    assert str(plan).splitlines()[2:4] == [
        "      undo: Remove field last_name from person", "      undo: Remove field first_name from person"
    ]
    forwards = migration_plan("roster", "0004", using=None)
    assert str(forwards).splitlines()[-1] == "      Remove field last_name from person"


def test_migration_status_without_a_database_is_all_unapplied_and_covers_every_app():
    # mutmut survivors: MigrationStatus.__str__'s blank mark, migration_status(None)'s app list
    status = migration_status("roster", using=None)
    assert [str(s) for s in status] == [f"[ ] roster.{n}" for n in ROSTER]
    every = migration_status(using=None)
    apps = {s.app_label for s in every}
    assert {"roster", "ledger", "books", "auth", "contenttypes"} <= apps and "helpers" not in apps
    assert len(every) == len(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)

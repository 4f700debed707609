"""pytest support for :mod:`helpers.testing.migration_harness`: the ``migration_harness`` fixture.

Installed with the ``[pytest]`` extra, pytest loads it through the package's
``pytest11`` entry point: no conftest line is needed. From a checkout that is
not installed, enable it in the root ``conftest.py`` (``pytest_plugins =
["helpers.testing.pytest_plugin"]``) or with ``pytest -p
helpers.testing.pytest_plugin``. It needs pytest-django. A test then reads::

    def test_combine_names(migration_harness):
        old = migration_harness.start(("roster", "0002_person_name"))
        old.get_model("roster", "Person").objects.create(first_name="Ada", last_name="Lovelace")
        new = migration_harness.forwards(("roster", "0003_combine_names"))
        assert new.get_model("roster", "Person").objects.get().name == "Ada Lovelace"

Options come from the ``migration_harness`` mark:
``@pytest.mark.migration_harness(signals=False, database="other")``.

pytest-django's test database
    The harness works on a scratch database of its own, so the fixture does
    **not** ask for pytest-django's ``db``: a run of harness tests only never
    creates (and migrates) the test database. A test that also uses the test
    database asks for ``db`` (or ``transactional_db``, or carries the
    ``django_db`` mark); the fixture then sets that up first, so that the
    harness gives the alias its connection back before ``db`` rolls back.

Snapshots kept across runs
    Each snapshot is kept for the next run (SQLite: a file in
    ``.migration_harness/`` next to the database file, or in the system's
    temporary folder for a database in memory; PostgreSQL: a template database
    ``mh_kept_...``; MariaDB: a database ``mh_kept_...``), keyed on the migration files' contents, the Django
    version, the backend, the targets and the signals setting; a changed file
    makes a new key, and the old snapshot is removed when the new one is kept.
    ``--harness-no-reuse`` (or ``MIGRATION_HARNESS_REUSE = False`` in the
    settings) neither uses nor keeps them; ``--harness-clear`` removes the kept
    ones before the run (see also
    :func:`~helpers.testing.migration_harness.clear_kept_snapshots`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.testing.migration_harness import MigrationHarness, clear_kept_snapshots

__all__ = ["migration_harness"]

#: pytest-django fixtures that set up its test database; requested first when a test uses one.
_TEST_DATABASE_FIXTURES = (
    "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "db",
)  # fmt: skip


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--harness-no-reuse`` and ``--harness-clear``."""
    group = parser.getgroup("migration_harness")
    group.addoption(
        "--harness-no-reuse", action="store_true", default=False,
        help="migration harness: neither use nor keep snapshots across runs (settings: "
        "MIGRATION_HARNESS_REUSE = False)",
    )  # fmt: skip
    group.addoption(
        "--harness-clear", action="store_true", default=False,
        help="migration harness: remove the snapshots kept by earlier runs before this one",
    )  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``migration_harness`` mark."""
    config.addinivalue_line(
        "markers",
        "migration_harness(database='default', signals=True, isolation='auto', reuse=None): "
        "options of the migration_harness fixture",
    )


_cleared = pytest.StashKey[bool]()


def _clear_once(config: pytest.Config) -> None:
    """With ``--harness-clear``, remove the kept snapshots once, before the first harness test."""
    if config.getoption("--harness-clear", default=False) and not config.stash.get(_cleared, False):
        from django.db import connections

        config.stash[_cleared] = True
        for alias in connections:
            if connections[alias].vendor in ("sqlite", "postgresql", "mysql"):
                clear_kept_snapshots(alias)


@pytest.fixture
def migration_harness(
    request: pytest.FixtureRequest, django_db_blocker: object
) -> Iterator[MigrationHarness]:
    """A :class:`MigrationHarness`, closed after the test (options from its mark)."""
    for name in _TEST_DATABASE_FIXTURES:  # only when the test uses the test database itself
        if name in request.fixturenames:
            request.getfixturevalue(name)
    marker = request.node.get_closest_marker("migration_harness")
    options = dict(marker.kwargs) if marker else {}
    if request.config.getoption("--harness-no-reuse", default=False):
        options["reuse"] = False
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        _clear_once(request.config)
        with MigrationHarness(**options) as harness:
            yield harness

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
The fixture asks for pytest-django's ``db`` (the test database is set up and
database access allowed); the harness itself works on a scratch database and
gives the alias its connection back before ``db`` rolls back.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.testing.migration_harness import MigrationHarness

__all__ = ["migration_harness"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``migration_harness`` mark."""
    config.addinivalue_line(
        "markers",
        "migration_harness(database='default', signals=True): options of the migration_harness fixture",
    )


@pytest.fixture
def migration_harness(request: pytest.FixtureRequest, db: None, django_db_blocker: object) -> Iterator[
    MigrationHarness
]:
    """A :class:`MigrationHarness`, closed after the test (options from its mark)."""
    marker = request.node.get_closest_marker("migration_harness")
    options = dict(marker.kwargs) if marker else {}
    with django_db_blocker.unblock(), MigrationHarness(**options) as harness:  # type: ignore[attr-defined]
        yield harness

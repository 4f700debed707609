"""Test-session configuration shared by the helpers' tests and the notebooks.

The suite runs twice (see ``kit.py test``): on SQLite, then with
``KIT_BACKEND=postgresql`` on PostgreSQL. Without a server, the second pass
marks every test skipped with the reason, so that it is never silently absent.
Notebook cells tagged ``postgresql`` (side-by-side demonstrations that need a
PostgreSQL server even on the SQLite pass) are skipped, with the reason, when
no server is configured.
"""

from __future__ import annotations

import os

import pytest

from helpers.sandbox import postgres_available


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = os.environ.get("KIT_POSTGRES_SKIP_REASON")
    if os.environ.get("KIT_BACKEND") == "postgresql" and reason:
        marker = pytest.mark.skip(reason=f"PostgreSQL pass: {reason}; set DATABASE_URL to run it")
        for item in items:
            item.add_marker(marker)
        return
    pg_cells = [i for i in items if "postgresql" in _cell_tags(i)]
    if pg_cells and not postgres_available():
        marker = pytest.mark.skip(
            reason="cell needs a PostgreSQL server: set DATABASE_URL or KIT_POSTGRES_URL"
        )
        for item in pg_cells:
            item.add_marker(marker)


def _cell_tags(item: pytest.Item) -> list[str]:
    cell = getattr(item, "cell", None)
    if cell is None:
        return []
    return list(cell.get("metadata", {}).get("tags", []))


@pytest.fixture(autouse=True)
def _sandbox_databases_are_allowed(django_db_blocker):
    """Sandboxes own private databases: pytest-django's guard is for its test database only.

    Tests that use the test database itself still ask for it with the ``db``
    fixture or the ``django_db`` mark.
    """
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def sandbox():
    """A sandbox with the default apps on the pass's backend, closed afterwards."""
    from helpers.sandbox import Sandbox

    with Sandbox() as sb:
        yield sb

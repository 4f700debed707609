"""Test-session configuration shared by the helpers' tests and the notebooks.

The suite runs twice (see ``kit.py test``): on SQLite, then with
``KIT_BACKEND=postgresql`` on PostgreSQL. Without a server, the second pass
marks every test skipped with the reason, so that it is never silently absent.
Cells tagged ``django6`` (the same file loaded by a second Django) are skipped
likewise where kit.py has not prepared the Django 6.1 venv. Notebook cells tagged ``postgresql`` (side-by-side demonstrations that need a
PostgreSQL server even on the SQLite pass) are skipped, with the reason, when
no server is configured. Cells tagged ``sqlite`` show SQLite's own behaviour (what
PostgreSQL refuses) and are skipped, with the reason, in the PostgreSQL pass.
A third pass, ``KIT_BACKEND=mysql``, runs on MySQL/MariaDB when kit.py finds a
server (``KIT_MYSQL_URL``), and is likewise all skipped with the reason otherwise;
cells tagged ``mysql`` need such a server on every pass, as ``postgresql`` ones do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import django
import pytest

from helpers.notebook.sandbox import mysql_available, postgres_available

COMPATIBILITY = Path(__file__).with_name("compatibility.json")


def known_broken() -> list[dict]:
    """The entries of compatibility.json that apply to the running Django series."""
    series = f"{django.VERSION[0]}.{django.VERSION[1]}"
    entries = json.loads(COMPATIBILITY.read_text(encoding="utf-8"))["libraries"]
    return [e for e in entries if series in e["broken_on"]]


def _mark_known_broken(items: list[pytest.Item]) -> None:
    for entry in known_broken():
        marker = pytest.mark.xfail(
            reason=f"{entry['library']} fails on Django {django.get_version()}: {entry['error']} "
            "(documented in tests/compatibility.json)",
            strict=True,  # a listed test that passes fails the run: the entry is out of date
        )
        for item in items:
            if any(item.nodeid == listed or item.nodeid.startswith(listed + "::") for listed in entry["tests"]):
                item.add_marker(marker)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _mark_known_broken(items)
    reason = os.environ.get("KIT_POSTGRES_SKIP_REASON")
    if os.environ.get("KIT_BACKEND") == "postgresql" and reason:
        marker = pytest.mark.skip(reason=f"PostgreSQL pass: {reason}; set DATABASE_URL to run it")
        for item in items:
            item.add_marker(marker)
        return
    reason = os.environ.get("KIT_MYSQL_SKIP_REASON")
    if os.environ.get("KIT_BACKEND") == "mysql" and reason:
        marker = pytest.mark.skip(reason=f"MySQL pass: {reason}; set KIT_MYSQL_URL to run it")
        for item in items:
            item.add_marker(marker)
        return
    if os.environ.get("KIT_BACKEND") in ("postgresql", "mysql"):  # cells that show SQLite's own behaviour
        for item in items:
            if "sqlite" in _cell_tags(item):
                item.add_marker(pytest.mark.skip(reason="cell shows SQLite's own behaviour (tagged sqlite)"))
    django6_cells = [i for i in items if "django6" in _cell_tags(i)]
    if django6_cells:
        from helpers.notebook.django_versions import SKIP_REASON, second_django_python

        if second_django_python() is None:
            for item in django6_cells:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
    pg_cells = [i for i in items if "postgresql" in _cell_tags(i)]
    if pg_cells and not postgres_available():
        marker = pytest.mark.skip(
            reason="cell needs a PostgreSQL server: set DATABASE_URL or KIT_POSTGRES_URL"
        )
        for item in pg_cells:
            item.add_marker(marker)
    mysql_cells = [i for i in items if "mysql" in _cell_tags(i)]
    if mysql_cells and not mysql_available():
        marker = pytest.mark.skip(reason="cell needs a MySQL server: set KIT_MYSQL_URL (.ci/mysql start prints one)")
        for item in mysql_cells:
            item.add_marker(marker)


def _cell_tags(item: pytest.Item) -> list[str]:
    cell = getattr(item, "cell", None)
    if cell is None:
        return []
    return list(cell.get("metadata", {}).get("tags", []))


@pytest.fixture(autouse=True, scope="session")
def _kept_harness_snapshots_outside_the_repository(tmp_path_factory):
    """The harness keeps snapshots next to the database file by default: here, in a temp folder.

    Otherwise a test run would leave ``tutorial_project/.migration_harness/`` in the checkout.
    """
    from django.conf import settings

    if getattr(settings, "MIGRATION_HARNESS_DIR", None) is None:
        settings.MIGRATION_HARNESS_DIR = str(tmp_path_factory.mktemp("kept-harness-snapshots"))


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
    from helpers.notebook.sandbox import Sandbox

    with Sandbox() as sb:
        yield sb

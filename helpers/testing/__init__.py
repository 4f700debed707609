"""Testing migrations: the harness and its pytest plugin.

:class:`~helpers.testing.migration_harness.MigrationHarness` migrates a test
database to any state; :mod:`~helpers.testing.pytest_plugin` gives it to pytest
as the ``migration_harness`` fixture.
"""

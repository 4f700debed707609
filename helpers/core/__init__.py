"""Shared library code of the helpers: migration targets, graph checks, exception types.

Every module of :mod:`helpers` that names a migration resolves it with
:func:`helpers.core.targets.resolve_target` (built on Django's
``MigrationLoader``), asks the graph with :mod:`helpers.core.graph`, and
raises the types of :mod:`helpers.core.exceptions`. Only Django is imported.
"""

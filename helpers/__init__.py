"""The teaching kit's reusable helpers, in sub-packages by role.

``helpers`` is a Django app (add ``"helpers"`` to ``INSTALLED_APPS`` to get its
management commands, thin wrappers around the modules below):

- :mod:`helpers.analysis`: read-only answers about migrations (plan,
  reversibility, rehearsal on a copy, graph, diagram, serialization);
- :mod:`helpers.writers`: tools that write migration files (data migration,
  moving a model, breakdown), all through one all-or-nothing writer;
- :mod:`helpers.testing`: the migration test harness and its pytest plugin;
- :mod:`helpers.dynamic`: models defined at run time, and their admin;
- :mod:`helpers.backups`: database backups and restores;
- :mod:`helpers.notebook`: the teaching kit's notebook plumbing, which library
  users never need.

Each technique module depends on Django (and the library it serves) only.
Importing this package imports nothing else, so that it is cheap and safe
before Django is configured.
"""

__all__: list[str] = []

"""Tools that write migration files into a project.

A data migration (:mod:`~helpers.writers.data_migration`), moving a model
between apps (:mod:`~helpers.writers.move_model`) and splitting a model into
partial parents (:mod:`~helpers.writers.breakdown`). Every one of them writes
through :func:`helpers.writers.file_writer.write_all`, so a write of several
files is all-or-nothing, and the files written import only Django (and the
library they serve).
"""

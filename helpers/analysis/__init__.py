"""Read-only analysis of a project's migrations.

What ``migrate`` would run (:mod:`~helpers.analysis.migration_plan`), whether it
can be reversed on the rows the database holds
(:mod:`~helpers.analysis.reversibility`), a rehearsal of it on a throwaway copy
of the database (:mod:`~helpers.analysis.rehearse`), the graph and the model
diagram (:mod:`~helpers.analysis.migration_graph`,
:mod:`~helpers.analysis.model_diagram`) and the values a migration file can
serialize (:mod:`~helpers.analysis.serialization`). Nothing here writes a file
or changes the project's database.
"""

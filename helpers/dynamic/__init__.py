"""Models defined at run time from rows of the database, and their admin.

:mod:`~helpers.dynamic.dynamic_models` builds the model classes and changes
their tables; :mod:`~helpers.dynamic.dynamic_admin` registers them in the admin
and keeps every process's registry fresh.
"""

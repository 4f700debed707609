"""The project's WSGI application, with the survey response models loaded at start.

Serve with ``gunicorn surveys.wsgi:application``: each worker builds the
response models and their admin from the database before its first request.
"""

import contextlib

from django.db import DatabaseError, connection
from mysite.wsgi import application

from . import dynamic

with contextlib.suppress(DatabaseError):  # before `migrate` there is nothing to load
    dynamic.refresh()
connection.close()

__all__ = ["application"]

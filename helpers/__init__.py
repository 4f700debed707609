"""The teaching kit's reusable helpers.

``helpers`` is a Django app (add ``"helpers"`` to ``INSTALLED_APPS`` to get its
management commands) and a plain package of modules, one per technique. Each
technique module depends on Django (and the library it serves) only, so it can
be copied into a real project on its own.

The notebook plumbing lives in :mod:`helpers.sandbox` (a throwaway copy of the
tutorial project per notebook) and :mod:`helpers.display` (how results look in
a notebook). Importing this package imports nothing else, so that it is cheap
and safe before Django is configured.
"""

__all__: list[str] = []

"""The teaching kit's notebook plumbing; library users never need to import it.

A throwaway copy of the tutorial project per notebook
(:mod:`~helpers.notebook.sandbox`), how results look in a notebook
(:mod:`~helpers.notebook.display`), the interactive explorers
(:mod:`~helpers.notebook.widgets`) and the second Django prepared by ``kit.py``
(:mod:`~helpers.notebook.django_versions`). A notebook's first cell is::

    from helpers.notebook import start; sb = start("authors", "books")
"""

from helpers.notebook.sandbox import start

__all__ = ["start"]

"""The ``Person`` of Django's guide (*Data Migrations*), used by chapter 18 (testing migrations).

History: 0001 first/last name, 0002 adds ``name``, 0003 is the guide's ``combine_names``
data migration (reversible), 0004 removes the two parts.
"""

from django.db import models


class Person(models.Model):
    """The person of Django's guide, after its data migration combined the names."""

    name = models.CharField(max_length=101, blank=True, default="")

    def __str__(self):
        return self.name

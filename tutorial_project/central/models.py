"""The wide, central model of the broken-down-models chapter (before the split).

Its fields follow the library's own example: ``a``-``d`` are the core fields
read everywhere, ``e``-``g`` and ``h``-``j`` are the groups that the chapter
moves into the partial parents ``Group1`` and ``Group2``.
"""

from django.db import models


class Central(models.Model):
    a = models.IntegerField()
    b = models.CharField(max_length=100)
    c = models.DateTimeField()
    d = models.DateField()
    e = models.BooleanField()
    f = models.TextField()
    g = models.DecimalField(max_digits=8, decimal_places=2)
    h = models.UUIDField(null=True)
    i = models.IntegerField(default=0)
    j = models.CharField(max_length=20)

    def __str__(self):
        return f"Central {self.pk}: {self.b}"

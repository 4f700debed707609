"""The Django guide's ``Person`` (data migrations): first and last names, no ``name`` yet."""

from django.db import models


class Person(models.Model):
    first_name = models.CharField(max_length=50)
    last_name = models.CharField(max_length=50)

    def __str__(self):
        return f"{self.first_name} {self.last_name}"

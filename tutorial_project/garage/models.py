from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Service(models.Model):
    """A third app with a foreign key to the car."""

    car = models.ForeignKey("oldapp.Car", on_delete=models.CASCADE)
    work = models.CharField(max_length=60)

    def __str__(self):
        return self.work


class Note(models.Model):
    """A generic relation: it points at a car through its ContentType row."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    content_object = GenericForeignKey("content_type", "object_id")
    text = models.CharField(max_length=100)

    def __str__(self):
        return self.text

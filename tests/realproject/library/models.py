"""The corpus's own app: shelves of documents tagged with taggit, files from filer, versioned."""

from django.conf import settings
from django.db import models
from taggit.managers import TaggableManager


class Shelf(models.Model):
    """A named shelf owned by a user."""

    name = models.CharField(max_length=80)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)


class Document(models.Model):
    """A document on a shelf, with an optional filer file and taggit tags."""

    shelf = models.ForeignKey(Shelf, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=100)
    code = models.CharField(max_length=20, null=True, blank=True)  # noqa: DJ001 (a NULL case for the tools)
    pages = models.IntegerField(default=0)
    attachment = models.ForeignKey("filer.File", null=True, blank=True, on_delete=models.SET_NULL)
    tags = TaggableManager(blank=True)

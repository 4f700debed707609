"""The corpus's custom user model (AUTH_USER_MODEL = "people.User")."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A user with a display name."""

    display_name = models.CharField(max_length=60, blank=True)

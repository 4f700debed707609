from django.db import models  # noqa: F401  (models moved here from oldapp go below)

"""Register Document with django-reversion so that its versions are kept."""

import reversion

from .models import Document

reversion.register(Document)

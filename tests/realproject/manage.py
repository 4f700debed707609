#!/usr/bin/env python
"""manage.py of the real-app corpus project (tests only): allauth, filer, taggit, reversion."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

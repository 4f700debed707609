"""Settings of the real-app corpus: pinned third-party apps from PyPI, a custom user, two apps.

The database comes from ``REALPROJECT_DATABASE_URL`` (a ``dj-database-url``
URL); without it, a SQLite file named by ``REALPROJECT_SQLITE`` (default
``db.sqlite3`` next to this project). A second alias, ``other``, exists so that
``--database other`` is a valid alias in the tests.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "realproject-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "easy_thumbnails",
    "filer",
    "taggit",
    "reversion",
    "helpers",
    "people",
    "library",
]
AUTH_USER_MODEL = "people.User"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
ROOT_URLCONF = "realproject.urls"

_url = os.environ.get("REALPROJECT_DATABASE_URL")
if _url:
    DATABASES = {"default": dj_database_url.parse(_url)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":  # the whole of Unicode
        DATABASES["default"]["OPTIONS"] = {"charset": "utf8mb4", **DATABASES["default"].get("OPTIONS", {})}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("REALPROJECT_SQLITE", str(BASE_DIR / "db.sqlite3")),
        }
    }
DATABASES["other"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}

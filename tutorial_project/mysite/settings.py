"""Settings of the kit's tutorial project.

A plain Django 5.2 project. The database is read from the environment so
that the same project can run in many throwaway copies at once (one per
notebook and per test worker):

``DATABASE_URL``
    The database, in URL form (``sqlite:///path/to/db.sqlite3`` or
    ``postgres://user@127.0.0.1:5432/kit`` or ``mysql://user:pass@127.0.0.1:3306/kit``
    for MySQL/MariaDB through ``mysqlclient``). Default: ``db.sqlite3`` next to
    ``manage.py``.

On MySQL the connection uses ``utf8mb4`` (the whole of Unicode, which MySQL's
``utf8`` is not) and strict mode (``sql_mode=STRICT_TRANS_TABLES``): a value too
long for its column is an error, as on PostgreSQL, instead of MySQL's silent
truncation, so that what the kit shows about MySQL is its real, documented
behaviour. Django's test database gets the same character set.

Each chapter's sandbox copies only the apps that chapter uses, so that what
you see (``showmigrations``, ``migrate`` output) is about that chapter only:
an app of ``KIT_APPS`` whose folder is not next to ``manage.py`` is simply
not installed.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

# A development-only key: this project never runs outside the kit.
SECRET_KEY = "django-insecure-teaching-kit-not-for-production"
# On for manage.py in the notebooks (a learner reads its errors); the kit's gunicorn servers
# run with DJANGO_DEBUG=0: a visitor's bad input gets a plain error page, never a traceback
# with this machine's paths (errors are still logged: see LOGGING).
DEBUG = os.environ.get("DJANGO_DEBUG", "1") != "0"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

# The kit's apps. A chapter's sandbox copies only some of them; those present are installed.
# One app per line, alphabetically.
ALL_KIT_APPS = [
    "authors",
    "books",
    "catalog",
    "central",
    "garage",
    "ledger",
    "members",
    "newapp",
    "oldapp",
    "roster",
    "surveys",
]
KIT_APPS = [app for app in ALL_KIT_APPS if (BASE_DIR / app / "apps.py").is_file()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # The kit's management commands (check_reversible, move_model, ...).
    "helpers",
    *KIT_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's styles) served by the application itself, as real
    # deployments do with gunicorn; from the apps' folders, no collectstatic needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mysite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "mysite.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=0,
    )
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes write (gunicorn workers, a shell changing the schema): wait for a
    # lock instead of failing at once, and take the write lock at BEGIN, so that a
    # transaction that read cannot be refused the lock later (SQLite's deadlock rule).
    # Options given in DATABASE_URL win.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE",
                                       **DATABASES["default"].get("OPTIONS", {})}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # utf8mb4 and strict mode (see the docstring); options given in DATABASE_URL win.
    DATABASES["default"]["OPTIONS"] = {
        "charset": "utf8mb4",
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        **DATABASES["default"].get("OPTIONS", {}),
    }
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}

AUTH_PASSWORD_VALIDATORS = []

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files (the admin's styles) served by WhiteNoise from the apps' folders: no
# collectstatic needed in a throwaway copy of the project.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

if not DEBUG:
    # Django logs to the console only with DEBUG on: keep server errors in gunicorn's log.
    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"stderr": {"class": "logging.StreamHandler"}},
        "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False}},
    }

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

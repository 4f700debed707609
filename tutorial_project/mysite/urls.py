"""URLconf of the tutorial project: the admin (and the survey maker's URLs when installed)."""

from django.apps import apps
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
]

# The survey maker's hook URL and submit endpoint (chapters 20-21), when its app is installed.
if apps.is_installed("surveys"):
    urlpatterns.append(path("surveys/", include("surveys.urls")))

"""Opt-in: add "surveys.middleware.SurveySchemaMiddleware" to MIDDLEWARE to keep every
process's response models, admin and URLs fresh (see helpers.dynamic.dynamic_admin)."""

import os

from django.urls import NoReverseMatch, reverse

from helpers.dynamic.dynamic_admin import SchemaFreshnessMiddleware

from . import dynamic


class SurveySchemaMiddleware(SchemaFreshnessMiddleware):
    def current_version(self, *, lock=False):
        return dynamic.current_version(lock=lock)

    def loaded_version(self):
        return dynamic.loaded_version()

    def rebuild(self):
        dynamic.refresh()

    def uses_lock(self, request):
        # Editing a survey in the admin changes the schema itself (its own transaction).
        try:
            prefix = reverse("admin:surveys_survey_changelist")
        except NoReverseMatch:
            return True
        return not request.path.startswith(prefix)

    def __call__(self, request):
        response = super().__call__(request)
        response["X-Schema-Version"] = str(dynamic.loaded_version())
        response["X-Worker-Pid"] = str(os.getpid())
        return response

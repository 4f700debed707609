# ruff: noqa: PT009, PT027 - a Django (unittest) test case, run by manage.py test, not pytest
"""Canary: the private Django APIs the dynamic-models workaround relies on still behave.

The source asks for it: "a unit test proving the workaround works on the installed Django".
Run it after every Django upgrade: ``python manage.py test surveys``. Each failure says what
changed. No database is needed (``SimpleTestCase``).
"""

import warnings

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.sites import NotRegistered
from django.db import models
from django.test import SimpleTestCase
from django.urls import NoReverseMatch, reverse

from helpers.dynamic import dynamic_admin, dynamic_models

SPEC = dynamic_models.ModelSpec("surveys", "response_canary", "surveys_response_canary",
                                (dynamic_models.FieldSpec("1", "note", "text"),))


class PrivateApisCanary(SimpleTestCase):
    def tearDown(self):
        dynamic_admin.unregister_by_table(admin.site, SPEC.db_table)
        dynamic_models.remove_model(SPEC.app_label, SPEC.model_name)
        dynamic_admin.reload_urlconf()

    def test_admin_registry_is_a_dict_keyed_by_class(self):
        old = dynamic_models.build_model(SPEC)
        admin.site.register(old)
        new = dynamic_models.build_model(SPEC)  # same table, new class
        self.assertIsInstance(admin.site._registry, dict, "AdminSite._registry is no longer a dict")
        with self.assertRaises(NotRegistered):
            admin.site.unregister(new)  # why the workaround matches db_table
        self.assertEqual(dynamic_admin.unregister_by_table(admin.site, SPEC.db_table), [old],
                         "removing a class from AdminSite._registry by its table no longer works")

    def test_reloading_the_urlconf_publishes_a_new_admin(self):
        reverse("admin:index")  # the URL patterns are built and cached
        admin.site.register(dynamic_models.build_model(SPEC))
        with self.assertRaises(NoReverseMatch):
            reverse("admin:surveys_response_canary_changelist")  # still the cached patterns
        dynamic_admin.reload_urlconf()
        self.assertEqual(reverse("admin:surveys_response_canary_changelist"),
                         "/admin/surveys/response_canary/",
                         "reloading the root URLconf + clear_url_caches() no longer publish it")

    def test_app_registry_replaces_a_class_without_warning(self):
        self.assertIs(apps.get_app_config("surveys").models, apps.all_models["surveys"],
                      "AppConfig.models is no longer Apps.all_models[label]")
        dynamic_models.build_model(SPEC)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            second = dynamic_models.build_model(SPEC)  # removes the first one first
        self.assertEqual([str(w.message) for w in caught], [])
        self.assertIs(apps.get_model("surveys", "response_canary"), second)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            type("response_canary", (models.Model,),  # without removing: Django warns
                 {"__module__": "surveys.dynamic_models", "Meta": type("Meta", (), {"app_label": "surveys"})})
        self.assertTrue(any("was already registered" in str(w.message) for w in caught),
                        "Django no longer warns when a model class is registered twice")

    def test_model_admin_still_has_the_private_changeform_view(self):
        # surveys/admin.py calls it to run the admin's form in schema_change()
        self.assertTrue(callable(getattr(admin.ModelAdmin, "_changeform_view", None)),
                        "ModelAdmin._changeform_view is gone: surveys/admin.py must change")

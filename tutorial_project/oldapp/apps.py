from django.apps import AppConfig


class OldappConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "oldapp"

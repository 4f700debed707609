from django.apps import AppConfig


class GarageConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "garage"

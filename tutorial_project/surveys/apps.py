from django.apps import AppConfig


class SurveysConfig(AppConfig):
    """A survey maker: each Survey's Questions define a table of responses, built at run time."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "surveys"

    def ready(self):
        from . import dynamic

        dynamic.connect_signals()

from django.apps import AppConfig


class HelpersConfig(AppConfig):
    """The kit's helpers as a Django app: it has no models, only commands."""

    name = "helpers"
    verbose_name = "Migration teaching kit helpers"

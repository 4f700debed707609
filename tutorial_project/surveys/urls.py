from django.urls import path

from helpers.dynamic.dynamic_admin import SchemaHookView

from . import dynamic, views

app_name = "surveys"
urlpatterns = [
    path(
        "refresh/",
        SchemaHookView.as_view(rebuild=dynamic.refresh, loaded_version=dynamic.loaded_version,
                              key=dynamic.hook_key, redeem=dynamic.redeem_hook_nonce),
        name="refresh",
    ),
    path("status/", views.status, name="status"),
    path("<slug:name>/submit/", views.submit, name="submit"),
]

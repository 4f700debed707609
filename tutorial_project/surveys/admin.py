from django.contrib import admin

from helpers.dynamic_models import schema_change

from .models import Question, Survey


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 1


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    """Editing a survey changes a table: the whole request is one schema transaction."""

    list_display = ["name", "title"]
    inlines = [QuestionInline]

    # ModelAdmin wraps these views in transaction.atomic(); SQLite's schema editor cannot
    # run inside one, so the schema transaction is opened first (private _changeform_view).
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with schema_change():
            return self._changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        with schema_change():
            return self._delete_view(request, object_id, extra_context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a bulk delete would bypass the schema transaction
        return actions

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect

from helpers.dynamic.dynamic_models import schema_change

from . import dynamic
from .models import Question, Survey


class QuestionFormSet(BaseInlineFormSet):
    """Check the survey's questions together (duplicates), before anything is saved."""

    def clean(self):
        super().clean()
        questions = [
            form.instance for form in self.forms
            if form.is_valid() and form.cleaned_data and not form.cleaned_data.get("DELETE")
            and (form.instance.pk or form.has_changed())
        ]  # fmt: skip
        try:
            dynamic.validate_spec(dynamic.spec_for(self.instance, questions))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class QuestionInline(admin.TabularInline):
    model = Question
    formset = QuestionFormSet
    extra = 1


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    """Editing a survey changes a table: the whole request is one schema transaction."""

    list_display = ["name", "title"]
    inlines = [QuestionInline]

    # ModelAdmin wraps these views in transaction.atomic(); SQLite's schema editor cannot
    # run inside one, so the schema transaction is opened first (private _changeform_view).
    # A change the database refuses (a text column with rows turned into a relation) rolls
    # back whole and comes back as an error message on the form, not a 500.
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            with schema_change():
                return self._changeform_view(request, object_id, form_url, extra_context)
        except DatabaseError as exc:
            if request.method != "POST":
                raise
            dynamic.refresh()  # this process's classes as the database has them
            self.message_user(request, f"The database refused this change; nothing was saved: {exc}",
                              messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        with schema_change():
            return self._delete_view(request, object_id, extra_context)

    def get_actions(self, request, action_location=None):  # Django 6.1 passes action_location
        actions = super().get_actions(request, *(() if action_location is None else (action_location,)))
        actions.pop("delete_selected", None)  # a bulk delete would bypass the schema transaction
        return actions

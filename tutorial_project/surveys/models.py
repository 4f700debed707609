"""The definitions (Survey, Question) and the version stamp every process compares.

The response models themselves are not here: ``surveys.dynamic`` builds one
per survey, at run time, from these rows.
"""

from django.core.exceptions import ValidationError
from django.db import models

from helpers.dynamic.dynamic_models import FIELD_TYPES, schema_change


class Survey(models.Model):
    name = models.CharField(
        max_length=60, unique=True, help_text="Names the response model and its table."
    )
    title = models.CharField(max_length=200, blank=True)
    # The definition the database's table matches now (written by surveys.dynamic).
    applied_spec = models.JSONField(null=True, blank=True, editable=False)

    def __str__(self):
        return self.title or self.name

    # Definition rows and DDL in one transaction: see helpers.dynamic.dynamic_models.schema_change.
    def save(self, *args, **kwargs):
        if not self._state.adding and not kwargs.get("update_fields"):
            # applied_spec is written by surveys.dynamic only: never overwrite it with a stale copy.
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields if not f.primary_key and f.name != "applied_spec"
            ]
        with schema_change():
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with schema_change():
            return super().delete(*args, **kwargs)

    def clean(self):
        """Refuse a name that would make a bad model or table (a form error, not a 500)."""
        from .dynamic import spec_for, validate_spec

        try:
            validate_spec(spec_for(self, questions=[]))
        except ValidationError as exc:
            raise ValidationError({"name": exc.messages}) from None


class Question(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    name = models.CharField(max_length=100, help_text="The column's name.")
    label = models.CharField(max_length=200, blank=True)
    field_type = models.CharField(max_length=20, choices=[(t, t) for t in FIELD_TYPES], default="text")
    required = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.survey.name}.{self.name}"

    def save(self, *args, **kwargs):
        with schema_change():
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with schema_change():
            return super().delete(*args, **kwargs)

    def clean(self):
        """Refuse a bad column name or type (a form error, not a 500)."""
        from helpers.dynamic.dynamic_models import FieldSpec, ModelSpec, validate_spec

        spec = ModelSpec("surveys", "response_check", "surveys_response_check",
                         (FieldSpec("1", self.name, self.field_type, self.required, self.label),))
        try:
            validate_spec(spec)
        except ValidationError as exc:
            raise ValidationError({"name": exc.messages}) from None


class SchemaStamp(models.Model):
    """One row per family of dynamic models: its version, bumped by every schema change."""

    name = models.CharField(max_length=50, primary_key=True)
    version = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.name} v{self.version}"


class HookSecret(models.Model):
    """The secret hook tokens are signed with: made by this project's database, not the repository."""

    name = models.CharField(max_length=50, primary_key=True)
    key = models.CharField(max_length=100)

    def __str__(self):
        return self.name


class HookNonce(models.Model):
    """The nonce of every hook token used: a token works once, in every process."""

    nonce = models.CharField(max_length=64, primary_key=True)
    used_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.nonce

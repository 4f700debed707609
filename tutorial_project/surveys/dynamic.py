"""The survey maker's dynamic models: one response model per Survey, built from its Questions.

Glue between the survey definitions (``surveys.models``) and the kit's
reusable helpers:

* ``spec_for(survey)``: the definition of a survey's response model;
* signals: a Survey or Question saved or deleted changes the table in the
  same transaction (DDL, ``applied_spec``, version stamp), and on commit
  refreshes this process's model classes and admin;
* ``refresh()``: rebuild this process's classes, admin and URLs from the
  database (used at start, by the hook URL and by the middleware);
* ``current_version()`` / ``loaded_version()``: the stamp in the database,
  and the one this process last built from.
"""

import contextvars
import secrets

from django.contrib import admin
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from helpers.dynamic import dynamic_admin
from helpers.dynamic.dynamic_admin import (
    ensure_permissions,
    refresh_admin,
    remove_permissions,
    rename_permissions,
)
from helpers.dynamic.dynamic_models import (
    DynamicModelCache,
    FieldSpec,
    ModelSpec,
    apply_schema,
    isolated_model,
    validate_spec,
)

APP_LABEL = "surveys"
STAMP = "surveys"

cache = DynamicModelCache()
_loaded = {"version": None}
_deleting = contextvars.ContextVar("surveys_deleting", default=frozenset())


# --- definitions -----------------------------------------------------------------------


def model_name_for(survey_name):
    return f"response_{survey_name}"


def spec_for(survey, questions=None):
    """The response model of ``survey`` (its questions from the database unless given)."""
    from .models import Question

    if questions is None:
        questions = list(Question.objects.filter(survey_id=survey.pk)) if survey.pk else []
    return ModelSpec(
        app_label=APP_LABEL,
        name=model_name_for(survey.name),
        db_table=f"{APP_LABEL}_{model_name_for(survey.name)}",
        verbose_name=f"{survey.name} response",
        fields=tuple(
            FieldSpec(key=str(q.pk) if q.pk else "new", name=q.name, type=q.field_type,
                      required=q.required, label=q.label)
            for q in sorted(questions, key=lambda q: (q.position, q.pk or 0))
        ),
    )


def applied(survey):
    return ModelSpec.from_dict(survey.applied_spec) if survey.applied_spec else None


# --- the version stamp -----------------------------------------------------------------


def current_version(*, lock=False):
    """The stamp in the database; with ``lock``, held (shared) until commit on PostgreSQL and MySQL."""
    from .models import SchemaStamp

    qn = connection.ops.quote_name
    sql = f"SELECT {qn('version')} FROM {qn(SchemaStamp._meta.db_table)} WHERE {qn('name')} = %s"  # noqa: S608
    if lock and connection.vendor in ("postgresql", "mysql"):  # MariaDB 10.11 has no FOR SHARE
        sql += " FOR SHARE" if connection.vendor == "postgresql" else " LOCK IN SHARE MODE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [STAMP])
        row = cursor.fetchone()
    return row[0] if row else 0


def lock_stamp():
    """Hold the stamp row until the transaction ends: schema changes happen one at a time.

    PostgreSQL, MySQL: ``SELECT ... FOR UPDATE`` waits for every transaction holding the row
    (a change, or a request holding it shared) and, in READ COMMITTED, every later statement
    sees what they committed (on MySQL after schema_change()'s GET_LOCK; its DDL runs on a
    connection of its own). SQLite: the project's transactions take the write lock at ``BEGIN``
    (``transaction_mode = "IMMEDIATE"``): a second change waits there; this only makes the row.
    """
    from .models import SchemaStamp

    if not SchemaStamp.objects.select_for_update().filter(name=STAMP).exists():
        SchemaStamp.objects.bulk_create([SchemaStamp(name=STAMP, version=0)], ignore_conflicts=True)
        SchemaStamp.objects.select_for_update().filter(name=STAMP).exists()


def bump_version():
    from .models import SchemaStamp

    if not SchemaStamp.objects.filter(name=STAMP).update(version=F("version") + 1):
        SchemaStamp.objects.create(name=STAMP, version=1)


def loaded_version():
    return _loaded["version"]


# --- the hook URL's secret -------------------------------------------------------------


def hook_key():
    """The secret hook tokens are signed with: random, made once per database (per sandbox)."""
    from .models import HookSecret

    secret, _ = HookSecret.objects.get_or_create(name=STAMP, defaults={"key": secrets.token_urlsafe(48)})
    return secret.key


def hook_token():
    """A single-use token for this project's hook URL (``X-Schema-Hook-Token`` header)."""
    return dynamic_admin.hook_token(key=hook_key())


def redeem_hook_nonce(nonce):
    """Record a token's nonce; False if some process used it already."""
    from .models import HookNonce

    try:
        with transaction.atomic():
            HookNonce.objects.create(nonce=nonce)
    except IntegrityError:
        return False
    return True


# --- this process ----------------------------------------------------------------------


def response_admin(model):
    names = [f.name for f in model._meta.concrete_fields]
    return type(f"{model.__name__}Admin", (admin.ModelAdmin,), {"list_display": names})


def response_model(survey_name):
    """This process's class of a survey's response model (None if it has none)."""
    for model in cache.models():
        if model._meta.model_name == model_name_for(survey_name):
            return model
    return None


def refresh():
    """Rebuild this process's response models, their admin and the URLs from the database."""
    from .models import Survey

    version = current_version()  # read first: a change after this is caught next time
    specs = [applied(s) for s in Survey.objects.filter(applied_spec__isnull=False).order_by("name")]
    live = [cache.get(spec) for spec in specs]
    wanted = {spec.model_name for spec in specs}
    gone = [m for m in cache.models() if m._meta.model_name not in wanted]
    for model in gone:
        cache.discard(APP_LABEL, model._meta.model_name)
    refresh_admin(admin.site, live, admin_class=response_admin,
                  removed_tables=[m._meta.db_table for m in gone], permissions=False)
    _loaded["version"] = version


# --- signals: the process that makes a change -------------------------------------------


def _validate_survey(sender, instance, **kwargs):
    validate_spec(spec_for(instance))


def _validate_question(sender, instance, **kwargs):
    from .models import Question

    others = [q for q in Question.objects.filter(survey_id=instance.survey_id) if q.pk != instance.pk]
    validate_spec(spec_for(instance.survey, [*others, instance]))


def sync_survey(survey_id):
    """Bring a survey's table to its definition (inside the current schema transaction)."""
    from .models import Survey

    # The lock first, then read: a definition read before it could be one that a concurrent
    # change is about to replace (its column would then be missing from applied_spec).
    lock_stamp()
    survey = Survey.objects.get(pk=survey_id)
    old, new = applied(survey), spec_for(survey)
    if old == new:
        return []
    # The stamp moves: on PostgreSQL requests holding it (FOR SHARE) have ended, and new ones
    # wait until this transaction commits.
    bump_version()
    steps = apply_schema(old, new)  # checks old against the table's real columns first
    Survey.objects.filter(pk=survey_id).update(applied_spec=new.to_dict())
    if old is not None and old.model_name != new.model_name:
        rename_permissions(APP_LABEL, old.model_name, new.model_name)
    # A throwaway class for the permissions: this process's classes change on commit only
    # (refresh), so a change that rolls back leaves them as they were.
    ensure_permissions([isolated_model(new)])
    transaction.on_commit(refresh)
    return steps


def _survey_saved(sender, instance, **kwargs):
    sync_survey(instance.pk)
    instance.refresh_from_db(fields=["applied_spec"])


def _question_changed(sender, instance, **kwargs):
    if instance.survey_id not in _deleting.get():
        sync_survey(instance.survey_id)


def _survey_deleting(sender, instance, **kwargs):
    lock_stamp()  # before reading what the table is
    instance.refresh_from_db(fields=["applied_spec"])  # the table as it is, not a stale copy
    _deleting.set(_deleting.get() | {instance.pk})


def _survey_deleted(sender, instance, **kwargs):
    old = applied(instance)
    if old is not None:
        bump_version()
        apply_schema(old, None)
        remove_permissions(APP_LABEL, old.model_name)
        transaction.on_commit(refresh)
    _deleting.set(_deleting.get() - {instance.pk})


def connect_signals():
    from .models import Question, Survey

    pre_save.connect(_validate_survey, sender=Survey, dispatch_uid="surveys.validate_survey")
    pre_save.connect(_validate_question, sender=Question, dispatch_uid="surveys.validate_question")
    post_save.connect(_survey_saved, sender=Survey, dispatch_uid="surveys.survey_saved")
    post_save.connect(_question_changed, sender=Question, dispatch_uid="surveys.question_saved")
    post_delete.connect(_question_changed, sender=Question, dispatch_uid="surveys.question_deleted")
    pre_delete.connect(_survey_deleting, sender=Survey, dispatch_uid="surveys.survey_deleting")
    post_delete.connect(_survey_deleted, sender=Survey, dispatch_uid="surveys.survey_deleted")


__all__ = [
    "cache", "current_version", "hook_key", "hook_token", "loaded_version", "redeem_hook_nonce",
    "refresh", "spec_for", "sync_survey",
]  # fmt: skip

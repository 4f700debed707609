"""Runtime dynamic models: definitions, factory, hash, schema changes, admin, freshness.

In-process tests use the tutorial project's ``surveys`` app on the pass's
backend (pytest-django's test database, ``transactional_db``: DDL needs real
commits). Cross-process tests start real gunicorn servers on a sandbox.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.sites import NotRegistered
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, models
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse

from helpers.dynamic import dynamic_admin as da
from helpers.dynamic import dynamic_models as dm

SPEC = dm.ModelSpec(
    "surveys", "response_demo", "surveys_response_demo",
    (dm.FieldSpec("1", "rating", "integer"), dm.FieldSpec("2", "comment", "text")),
)  # fmt: skip


def tables():
    with connection.cursor() as cursor:
        return sorted(connection.introspection.table_names(cursor))


def columns(table):
    with connection.cursor() as cursor:
        return [c.name for c in connection.introspection.get_table_description(cursor, table)]


def rows(table):
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {qn(table)} ORDER BY {qn('id')}")
        return [tuple(r) for r in cursor.fetchall()]


@pytest.fixture
def surveys(transactional_db):
    """The surveys app with a clean slate: no survey, no dynamic class, admin as shipped."""
    from surveys import dynamic
    from surveys.models import Survey

    yield dynamic
    for survey in Survey.objects.all():
        survey.delete()
    for table in tables():
        if table.startswith("surveys_response_"):
            with connection.schema_editor() as editor:
                editor.execute(f"DROP TABLE {connection.ops.quote_name(table)}")
    dynamic.cache.clear()
    for model in list(admin.site._registry):
        if model._meta.db_table.startswith("surveys_response_"):
            del admin.site._registry[model]
    dm.remove_model("surveys", "response_demo")
    da.reload_urlconf()


def make_survey(name="feedback", questions=(("rating", "integer"), ("comment", "text"))):
    from surveys.models import Question, Survey

    survey = Survey.objects.create(name=name, title=name.title())
    for position, (qname, qtype) in enumerate(questions, 1):
        Question.objects.create(survey=survey, name=qname, field_type=qtype, position=position)
    return survey


def add_row(model):
    """The admin shows a changelist's columns only when there is a row."""
    return model.objects.create()


def staff_client(*, superuser=True, perms=()):
    user = User.objects.create_user("staff", password="pw", is_staff=True, is_superuser=superuser)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


# --- definitions and hash ---------------------------------------------------------------


def test_hash_is_deterministic_across_processes_and_tracks_the_definition():
    here = dm.spec_hash(SPEC)
    code = (
        "from helpers.dynamic.dynamic_models import ModelSpec, spec_hash; import json, sys; "
        "print(spec_hash(ModelSpec.from_dict(json.loads(sys.argv[1]))))"
    )
    import json

    for seed in ("1", "2"):
        other = subprocess.run(
            [sys.executable, "-c", code, json.dumps(SPEC.to_dict())],
            capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout.strip()
        assert other == here
    renamed = dm.ModelSpec("surveys", "response_demo", "surveys_response_demo",
                           (dm.FieldSpec("1", "score", "integer"), dm.FieldSpec("2", "comment", "text")))
    assert dm.spec_hash(renamed) != here
    rekeyed = dm.ModelSpec("surveys", "response_demo", "surveys_response_demo",
                           (dm.FieldSpec("9", "rating", "integer"), dm.FieldSpec("8", "comment", "text")))
    assert dm.spec_hash(rekeyed) == here  # keys only track identity across versions
    assert dm.ModelSpec.from_dict(SPEC.to_dict()) == SPEC


def test_plan_detects_rename_alter_drop_add_and_table_rename():
    new = dm.ModelSpec("surveys", "response_other", "surveys_response_other",
                       (dm.FieldSpec("1", "score", "text"), dm.FieldSpec("3", "email", "email")))
    assert [s.description for s in dm.plan_schema(SPEC, new)] == [
        "surveys_response_demo: rename column rating to score, alter column score (integer -> text)",
        "surveys_response_demo: drop column comment",
        "surveys_response_demo: add column email (email)",
        "rename table surveys_response_demo to surveys_response_other",
    ]
    assert dm.plan_schema(SPEC, SPEC) == []
    assert [s.action for s in dm.plan_schema(None, SPEC)] == ["create_table"]
    assert [s.action for s in dm.plan_schema(SPEC, None)] == ["drop_table"]


BAD_NAMES = [
    ("select", "is an SQL keyword"),
    ("order", "is an SQL keyword"),
    ('na"me', "is not a valid name"),
    ("it's", "is not a valid name"),
    ("first name", "is not a valid name"),
    ("1st", "is not a valid name"),
    ("naïve", "is not a valid name"),
    ("drop-table", "is not a valid name"),
    ("Rating", "is not a valid name"),
    ("x" * 64, "is too long: 64 characters, at most 63"),
    ("a__b", "may not contain '__'"),
    ("id", "is reserved by Django"),
]


@pytest.mark.parametrize(("name", "message"), BAD_NAMES, ids=[n[:12] for n, _ in BAD_NAMES])
def test_bad_question_names_are_refused_before_any_ddl(surveys, name, message):
    from surveys.models import Question

    survey = make_survey()
    before = (tables(), columns("surveys_response_feedback"), Question.objects.count(),
              surveys.current_version())
    with pytest.raises(ValidationError, match=message):
        Question.objects.create(survey=survey, name=name, field_type="text")
    after = (tables(), columns("surveys_response_feedback"), Question.objects.count(),
             surveys.current_version())
    assert after == before


def test_duplicates_unknown_types_and_bad_survey_names_are_refused(surveys):
    from surveys.models import Question, Survey

    survey = make_survey()
    before = (tables(), columns("surveys_response_feedback"), Question.objects.count())
    with pytest.raises(ValidationError, match="'rating' is used twice"):
        Question.objects.create(survey=survey, name="rating", field_type="text")
    with pytest.raises(ValidationError, match="unknown type 'blob': use one of boolean, date"):
        Question.objects.create(survey=survey, name="photo", field_type="blob")
    q = Question.objects.get(name="comment")
    q.name = "rating"
    with pytest.raises(ValidationError, match="used twice"):
        q.save()
    for bad in ("drop table", "x" * 60, "it's"):
        with pytest.raises(ValidationError):
            Survey.objects.create(name=bad)
    assert (tables(), columns("surveys_response_feedback"), Question.objects.count()) == before
    assert Survey.objects.count() == 1


def test_validate_spec_lists_every_problem():
    spec = dm.ModelSpec("surveys", "response_x", "surveys_response_x",
                        (dm.FieldSpec("1", "from", "text"), dm.FieldSpec("1", "a b", "blob")))
    with pytest.raises(ValidationError) as info:
        dm.validate_spec(spec)
    assert len(info.value.messages) == 4  # keyword, key twice, invalid name, unknown type


# --- schema: forward, backward, forward again; transactions ----------------------------------


def test_survey_lifecycle_changes_the_table_and_keeps_every_row(surveys):
    from surveys.models import Question

    survey = make_survey()
    table = "surveys_response_feedback"
    assert columns(table) == ["id", "rating", "comment"]
    model = surveys.response_model("feedback")
    for i in range(5):
        model.objects.create(rating=i, comment=f"c{i}")
    snapshot = rows(table)
    v0 = surveys.current_version()

    email = Question.objects.create(survey=survey, name="email", field_type="email", position=3)  # add
    comment = Question.objects.get(name="comment")
    comment.name = "remarks"  # rename
    comment.save()
    assert columns(table) == ["id", "rating", "remarks", "email"]
    assert rows(table) == [(*r, "") for r in snapshot]
    email.delete()  # remove
    comment.name = "comment"  # and back
    comment.save()
    assert rows(table) == snapshot
    assert surveys.current_version() == v0 + 4  # add, rename, remove, rename back

    survey.name = "opinions"  # rename the table (and the content type, permissions)
    survey.save()
    assert "surveys_response_opinions" in tables() and table not in tables()
    assert rows("surveys_response_opinions") == snapshot
    assert ContentType.objects.filter(app_label="surveys", model="response_opinions").exists()
    assert Permission.objects.filter(codename="view_response_opinions").exists()
    assert not Permission.objects.filter(codename="view_response_feedback").exists()
    survey.delete()  # drop
    assert "surveys_response_opinions" not in tables()
    assert not ContentType.objects.filter(app_label="surveys", model__startswith="response_").exists()


def test_type_changes_the_rows_allow_go_through_and_back(surveys):
    """text -> integer -> user -> text with NULL/convertible rows, on every backend.

    Catches (MySQL): Django's editor keeping the text column's ``DEFAULT ''`` in the ``MODIFY``
    that changes its type (refused with error 1067 even on an empty table).
    """
    from surveys.models import Question

    make_survey()
    model = surveys.response_model("feedback")
    model.objects.create(rating=1, comment="12")
    q = Question.objects.get(name="comment")
    for field_type, column, value in [("integer", "comment", 12), ("text", "comment", "12"),
                                      ("long_text", "comment", "12")]:
        q.field_type = field_type
        q.save()
        assert columns("surveys_response_feedback") == ["id", "rating", column]
        assert rows("surveys_response_feedback") == [(1, 1, value)]
    surveys.response_model("feedback").objects.all().delete()
    for field_type, column in [("user", "comment_id"), ("integer", "comment"), ("user", "comment_id"),
                               ("text", "comment")]:
        q.field_type = field_type
        q.save()
        assert columns("surveys_response_feedback") == ["id", "rating", column]
    assert applied_names() == ["rating", "comment"]


def test_a_failed_ddl_rolls_back_the_definition_too(surveys):
    from surveys.models import Survey

    with connection.schema_editor() as editor:  # a table is in the way
        editor.execute(f"CREATE TABLE {connection.ops.quote_name('surveys_response_demo')} (x integer)")
    version = surveys.current_version()
    with pytest.raises(DatabaseError):
        Survey.objects.create(name="demo")
    assert not Survey.objects.exists()
    assert surveys.current_version() == version
    assert columns("surveys_response_demo") == ["x"]


@pytest.mark.skipif("connection.vendor == 'sqlite'", reason="SQLite copies values without casting")
def test_a_failed_alter_leaves_definition_and_column_as_they_were(surveys):
    from surveys.models import Question

    make_survey()
    surveys.response_model("feedback").objects.create(rating=1, comment="not a number")
    q = Question.objects.get(name="comment")
    q.field_type = "integer"
    with pytest.raises(DatabaseError):
        q.save()
    assert Question.objects.get(name="comment").field_type == "text"
    assert rows("surveys_response_feedback") == [(1, 1, "not a number")]


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="the SQLite-only refusal")
def test_sqlite_refuses_a_schema_change_inside_atomic_with_a_clear_error(surveys):
    from django.db import NotSupportedError, transaction

    with pytest.raises(NotSupportedError, match="SQLite schema editor cannot be used"), transaction.atomic():
        make_survey()


# --- MySQL / MariaDB: DDL commits at once; the change is undone by compensating DDL ---------

mysql_only = pytest.mark.skipif("connection.vendor != 'mysql'", reason="MySQL's compensated schema change")


def applied_names(survey_name="feedback"):
    from surveys.models import Survey

    return [f["name"] for f in Survey.objects.get(name=survey_name).applied_spec["fields"]]


@mysql_only
def test_mysql_a_refused_change_undoes_the_steps_already_done(surveys):
    """Rename ``rating`` (done, committed by MySQL), then ``comment`` text -> user (refused half-way).

    Catches: no undo of the steps done (``rating`` stays ``score``), and no put-back of a step
    done half-way (``comment`` stays renamed ``comment_id``, MySQL's rename ran before the refused
    type change); either leaves the table unlike the definition, which rolls back.
    """
    from surveys.models import Question

    survey = make_survey()
    surveys.response_model("feedback").objects.create(rating=3, comment="some text")
    before = (columns("surveys_response_feedback"), rows("surveys_response_feedback"),
              surveys.current_version(), applied_names())
    with pytest.raises(DatabaseError):
        _rename_rating_and_make_comment_a_user()
    assert before == (["id", "rating", "comment"], [(1, 3, "some text")], before[2], ["rating", "comment"])
    assert (columns("surveys_response_feedback"), rows("surveys_response_feedback"),
            surveys.current_version(), applied_names()) == before
    assert sorted(Question.objects.values_list("name", "field_type")) == [("comment", "text"), ("rating", "integer")]
    Question.objects.create(survey=survey, name="email", field_type="email", position=3)  # the next one works
    assert columns("surveys_response_feedback") == ["id", "rating", "comment", "email"]
    assert applied_names() == ["rating", "comment", "email"]


def _rename_rating_and_make_comment_a_user():
    from surveys.models import Question

    with dm.schema_change():  # one change of two questions
        rating = Question.objects.get(name="rating")
        rating.name = "score"
        rating.save()
        comment = Question.objects.get(name="comment")
        comment.field_type = "user"  # "some text" is no user id
        comment.save()


@mysql_only
def test_mysql_a_type_change_the_data_refuses_is_refused_even_without_strict_mode(surveys, monkeypatch):
    """A project whose sessions run with ``sql_mode=''``: MariaDB would turn 'not a number' into 0.

    Catches: the DDL connection not adding ``STRICT_ALL_TABLES`` (the change then goes through
    and the text is silently lost).
    """
    from surveys.models import Question

    options = connection.settings_dict["OPTIONS"]
    monkeypatch.setitem(options, "init_command", "SET sql_mode=''")
    connection.close()  # the next connection of this process is not strict either
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.sql_mode")
        assert cursor.fetchone()[0] == ""
    make_survey()
    surveys.response_model("feedback").objects.create(rating=1, comment="not a number")
    q = Question.objects.get(name="comment")
    q.field_type = "integer"
    with pytest.raises(DatabaseError, match="Incorrect integer value|Truncated incorrect"):
        q.save()
    assert Question.objects.get(name="comment").field_type == "text"
    assert applied_names() == ["rating", "comment"]
    assert rows("surveys_response_feedback") == [(1, 1, "not a number")]
    connection.close()


@mysql_only
def test_mysql_a_change_waits_for_the_named_lock_then_refuses_clearly(surveys):
    """Another session holds the schema lock: a change waits ``lock_timeout``, then changes nothing.

    Catches: ``GET_LOCK``'s answer ignored (the change would run beside the other one).
    """
    import time

    from django.db import connections
    from surveys.models import Question

    survey = make_survey()
    before = (columns("surveys_response_feedback"), surveys.current_version(), applied_names())
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, 0)", [dm.schema_lock_name()])
            assert cursor.fetchone()[0] == 1
        started = time.monotonic()
        with pytest.raises(dm.SchemaLockTimeout, match="held the lock .* for more than 1 s: nothing was changed"), \
                dm.schema_change(lock_timeout=1):
            Question.objects.create(survey=survey, name="extra", field_type="text", position=3)
        assert time.monotonic() - started >= 0.9
        assert (columns("surveys_response_feedback"), surveys.current_version(), applied_names()) == before
        assert not Question.objects.filter(name="extra").exists()
    finally:
        other.close()  # the lock goes with the session
    with dm.schema_change(lock_timeout=1):
        Question.objects.create(survey=survey, name="extra", field_type="text", position=3)
    assert applied_names() == ["rating", "comment", "extra"] and "extra" in columns("surveys_response_feedback")


@mysql_only
def test_mysql_refuses_a_schema_change_inside_atomic_with_a_clear_error(surveys):
    """Catches: a change entered inside a transaction whose rollback could not undo its DDL."""
    from django.db import transaction

    with pytest.raises(dm.SchemaChangeNotAllowed, match="cannot run inside transaction.atomic"), \
            transaction.atomic():
        make_survey()
    assert "surveys_response_feedback" not in tables()


# --- the factory and the app registry -----------------------------------------------------


def test_rebuilding_replaces_the_class_cleanly(surveys):
    v1 = dm.ModelSpec("surveys", "response_demo", "surveys_response_demo",
                      (dm.FieldSpec("1", "who", "user"),))
    v2 = dm.ModelSpec("surveys", "response_demo", "surveys_response_demo",
                      (dm.FieldSpec("1", "who", "user"), dm.FieldSpec("2", "note", "text")))
    cache = dm.DynamicModelCache()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Model ... was already registered" would fail here
        first = cache.get(v1)
        assert cache.get(v1) is first  # same hash: cached
        second = cache.get(v2)
    assert second is not first and apps.get_model("surveys", "response_demo") is second
    related = [f.model for f in User._meta.get_fields(include_hidden=True)
               if f.is_relation and f.auto_created and f.model.__name__ == "response_demo"]
    assert related == [] or all(m is second for m in related)
    reverse_models = [r.model for r in User._meta._relation_tree]
    assert first not in reverse_models and second in reverse_models
    cache.clear()
    assert "response_demo" not in apps.all_models["surveys"]
    assert second not in [r.model for r in User._meta._relation_tree]


# --- the canary: the private APIs the workaround relies on -----------------------------------


def source_loop(site, model):
    """The source's loop, as written for Python 2 (where keys() returned a list)."""
    for reg_model in site._registry.keys():  # noqa: SIM118
        if model._meta.db_table == reg_model._meta.db_table:
            del site._registry[reg_model]


def test_canary_private_apis_of_the_admin_and_url_caches_still_behave(surveys):
    site = admin.site
    reverse("admin:index")  # the URL patterns are loaded (and cached) before the model exists
    assert isinstance(site._registry, dict), "Django changed AdminSite._registry: it is no longer a dict"
    old = dm.build_model(SPEC)
    site.register(old)
    new = dm.build_model(SPEC)  # same table, new class
    with pytest.raises(NotRegistered):
        site.unregister(new)  # why the source matches db_table
    with pytest.raises(RuntimeError, match="dictionary changed size during iteration"):
        source_loop(site, new)
    # (the loop above may have deleted before failing: put the stale class back)
    site._registry.setdefault(old, admin.ModelAdmin(old, site))
    assert da.unregister_by_table(site, "surveys_response_demo") == [old], (
        "Django changed AdminSite._registry: removing a class by its table no longer works"
    )
    site.register(new)
    with pytest.raises(NoReverseMatch):
        reverse("admin:surveys_response_demo_changelist")  # URL patterns are cached
    da.reload_urlconf()
    assert reverse("admin:surveys_response_demo_changelist") == "/admin/surveys/response_demo/", (
        "Django changed URL caching: reloading the root URLconf and clear_url_caches() no longer "
        "publish a newly registered admin"
    )
    assert apps.get_app_config("surveys").models is apps.all_models["surveys"], (
        "Django changed the app registry: AppConfig.models is no longer Apps.all_models[label]"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dm.build_model(SPEC, validate=False)
        type("response_demo", (models.Model,),  # a second class without removing the first
             {"__module__": "surveys.dynamic_models", "Meta": type("Meta", (), {"app_label": "surveys"})})
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "was already registered" in messages[0], (
        f"Django changed model registration warnings: {messages}"
    )


# --- the admin in this process ----------------------------------------------------------------


def test_admin_changelist_follows_definition_changes(surveys):
    from surveys.models import Question

    survey = make_survey()
    add_row(surveys.response_model("feedback"))
    client = staff_client()
    url = "/admin/surveys/response_feedback/"
    page = client.get(url)
    assert page.status_code == 200
    assert da.changelist_columns(page.content) == ["id", "rating", "comment"]
    Question.objects.create(survey=survey, name="email", field_type="email", position=3)
    assert da.changelist_columns(client.get(url).content) == ["id", "rating", "comment", "email"]


def test_a_survey_never_applied_is_left_out_of_the_rebuild(surveys):
    """A row whose ``applied_spec`` is SQL NULL (never applied) has no model; the others keep theirs."""
    from surveys import dynamic
    from surveys.models import Survey

    make_survey("feedback")
    other = make_survey("other")
    Survey.objects.filter(pk=other.pk).update(applied_spec=None)
    dynamic.refresh()
    assert dynamic.response_model("feedback") is not None
    assert dynamic.response_model("other") is None


def test_the_survey_changelist_offers_no_bulk_delete(surveys):
    """A bulk delete would drop response tables outside ``schema_change()``: the action is removed.

    (Django 6.1 passes ``action_location`` to ``get_actions``; the override takes it on.)
    """
    make_survey()
    page = staff_client().get("/admin/surveys/survey/")
    assert page.status_code == 200
    assert b'name="action"' not in page.content or b'value="delete_selected"' not in page.content
    assert b"/admin/surveys/survey/" in page.content  # the changelist itself, with the survey listed


def test_stale_admin_shows_old_columns_until_reregistered_and_urls_reloaded(surveys):
    dm.apply_schema(None, SPEC)
    old = surveys.cache.get(SPEC)
    add_row(old)
    da.refresh_admin(admin.site, [old])
    client = staff_client()
    url = "/admin/surveys/response_demo/"
    assert da.changelist_columns(client.get(url).content) == ["id", "rating", "comment"]
    new_spec = dm.ModelSpec("surveys", "response_demo", "surveys_response_demo",
                            (*SPEC.fields, dm.FieldSpec("3", "email", "email")))
    dm.apply_schema(SPEC, new_spec)
    new = surveys.cache.get(new_spec)
    assert da.changelist_columns(client.get(url).content) == ["id", "rating", "comment"]  # stale
    admin.site.register(new)  # both registered now; the URLs still point at the old admin
    assert da.changelist_columns(client.get(url).content) == ["id", "rating", "comment"]
    assert da.unregister_by_table(admin.site, "surveys_response_demo") == [old, new]
    admin.site.register(new, surveys.response_admin(new))
    da.reload_urlconf()
    assert da.changelist_columns(client.get(url).content) == ["id", "rating", "comment", "email"]


def test_staff_permissions_follow_dynamic_models(surveys):
    make_survey()
    client = staff_client(superuser=False, perms=["view_response_feedback"])
    assert client.get("/admin/surveys/response_feedback/").status_code == 200
    make_survey("other", [("x", "text")])
    assert client.get("/admin/surveys/response_other/").status_code == 403


# --- the hook URL and the middleware -----------------------------------------------------------


def test_hook_url_needs_a_token_or_staff_with_csrf(surveys):
    url = "/surveys/refresh/"
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post(url).status_code == 403
    assert anonymous.post(url, headers={"X-Schema-Hook-Token": "forged"}).status_code == 403
    assert anonymous.get(url, headers={"X-Schema-Hook-Token": surveys.hook_token()}).status_code == 405
    token = surveys.hook_token()
    ok = anonymous.post(url, headers={"X-Schema-Hook-Token": token})
    assert ok.status_code == 200 and ok.json()["refreshed"] is True
    replay = anonymous.post(url, headers={"X-Schema-Hook-Token": token})
    assert replay.status_code == 403 and replay.json() == {"error": "token already used"}
    staff = staff_client()
    staff.handler.enforce_csrf_checks = True
    assert staff.post(url).status_code == 403  # no CSRF token
    staff.get("/admin/")  # sets the CSRF cookie
    token = staff.cookies["csrftoken"].value
    assert staff.post(url, headers={"X-CSRFToken": token}).status_code == 200
    User.objects.filter(username="staff").update(is_staff=False)
    assert staff.post(url, headers={"X-CSRFToken": token}).status_code == 403


def test_hook_tokens_signed_with_the_public_key_or_malformed_are_refused(surveys):
    from django.core import signing

    url = "/surveys/refresh/"
    client = Client()
    assert surveys.hook_key() != settings_secret_key()  # the project's own secret, not the repository's
    public = da.hook_token()  # signed with the repository's SECRET_KEY: anyone can make it
    malformed = [
        public,
        signing.dumps(["schema-hook"], key=surveys.hook_key(), salt=da.HOOK_SALT),  # a list
        signing.dumps("schema-hook", key=surveys.hook_key(), salt=da.HOOK_SALT),
        signing.dumps({"purpose": "schema-hook"}, key=surveys.hook_key(), salt=da.HOOK_SALT),  # no nonce
        signing.dumps({"purpose": "schema-hook", "nonce": 5}, key=surveys.hook_key(), salt=da.HOOK_SALT),
        signing.dumps({"purpose": "other", "nonce": "x"}, key=surveys.hook_key(), salt=da.HOOK_SALT),
        "",
        "a:b:c",
    ]
    for token in malformed:
        assert client.post(url, headers={"X-Schema-Hook-Token": token}).status_code == 403, token
    assert client.post(url, headers={"X-Schema-Hook-Token": surveys.hook_token()}).status_code == 200


def settings_secret_key():
    from django.conf import settings

    return settings.SECRET_KEY


def make_stale(surveys, spec_dict):
    """Make this process look like one that missed a change: old class in the admin, old version."""
    old = dm.ModelSpec.from_dict(spec_dict)
    model = surveys.cache.get(old)
    da.refresh_admin(admin.site, [model], admin_class=surveys.response_admin, permissions=False)
    surveys._loaded["version"] = -1


MIDDLEWARE_ON = {"append": "surveys.middleware.SurveySchemaMiddleware"}


@pytest.mark.parametrize(("interval", "lock"), [(0, True), (0, False), (30, True)])
def test_middleware_rebuilds_a_stale_process_before_serving(surveys, settings, interval, lock):
    from surveys.models import Question, Survey

    survey = make_survey()
    add_row(surveys.response_model("feedback"))
    old = Survey.objects.get().applied_spec
    Question.objects.create(survey=survey, name="email", field_type="email", position=3)
    url = "/admin/surveys/response_feedback/"
    client = staff_client()
    make_stale(surveys, old)
    assert da.changelist_columns(client.get(url).content) == ["id", "rating", "comment"]  # stale
    settings.DYNAMIC_SCHEMA_CHECK_INTERVAL = interval
    settings.DYNAMIC_SCHEMA_LOCK = lock
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, MIDDLEWARE_ON["append"]]):
        fresh = Client()
        fresh.force_login(User.objects.get(username="staff"))
        page = fresh.get(url)
        assert da.changelist_columns(page.content) == ["id", "rating", "comment", "email"]
        assert page["X-Schema-Version"] == str(surveys.current_version())
        if interval:  # within the interval nothing is checked: a new staleness is not seen yet
            make_stale(surveys, old)
            assert da.changelist_columns(fresh.get(url).content) == ["id", "rating", "comment"]


class _Stamped(da.SchemaFreshnessMiddleware):
    """The middleware on an in-memory stamp, to script a change in the middle of a request."""

    def __init__(self, get_response):
        super().__init__(get_response)
        self.version, self.loaded, self.rebuilds = 1, 1, 0

    def current_version(self, *, lock=False):
        return self.version

    def loaded_version(self):
        return self.loaded

    def rebuild(self):
        self.rebuilds += 1
        self.loaded = self.version


def _view_failing_once_while_the_schema_changes(calls):
    def view(request):
        calls.append(request.method)
        if len(calls) == 1:
            middleware.version += 1  # a change commits while the first attempt runs...
            return HttpResponse(status=500)  # ...and the old class fails on the new table
        return HttpResponse("fresh")

    middleware = _Stamped(view)
    return middleware


@pytest.mark.django_db
def test_a_safe_request_hit_by_a_concurrent_change_is_served_again_after_a_rebuild(rf, settings):
    settings.DYNAMIC_SCHEMA_CHECK_INTERVAL, settings.DYNAMIC_SCHEMA_LOCK = 0, True
    calls: list[str] = []
    middleware = _view_failing_once_while_the_schema_changes(calls)
    response = middleware(rf.get("/admin/surveys/response_x/"))
    assert (response.status_code, response.content) == (200, b"fresh")
    assert calls == ["GET", "GET"] and middleware.rebuilds == 1


class _DdlCommittedFirst(_Stamped):
    """MySQL's order: the change's DDL has committed, its stamp not yet (a plain read sees the old one)."""

    def __init__(self, get_response):
        super().__init__(get_response)
        self.committing = None  # the stamp of the change in progress, seen by a locking read only

    def current_version(self, *, lock=False):
        if lock and self.committing is not None:  # the locking read waits for the change to commit
            self.version, self.committing = self.committing, None
        return self.version


@pytest.mark.django_db
def test_a_safe_request_failing_before_the_changes_stamp_commits_is_served_again(rf, settings):
    settings.DYNAMIC_SCHEMA_CHECK_INTERVAL, settings.DYNAMIC_SCHEMA_LOCK = 0, True
    calls: list[str] = []

    def view(request):
        calls.append(request.method)
        if len(calls) == 1:
            middleware.committing = middleware.version + 1  # the column is gone, the stamp not moved yet
            return HttpResponse(status=500)
        return HttpResponse("fresh")

    middleware = _DdlCommittedFirst(view)
    response = middleware(rf.get("/admin/surveys/response_x/"))
    assert (response.status_code, response.content) == (200, b"fresh")
    assert calls == ["GET", "GET"] and middleware.rebuilds == 1


@pytest.mark.django_db
def test_an_unsafe_request_is_never_repeated(rf, settings):
    settings.DYNAMIC_SCHEMA_CHECK_INTERVAL, settings.DYNAMIC_SCHEMA_LOCK = 0, True
    calls: list[str] = []
    middleware = _view_failing_once_while_the_schema_changes(calls)
    assert middleware(rf.post("/surveys/x/submit/")).status_code == 500
    assert calls == ["POST"]


@pytest.mark.django_db
def test_a_real_error_is_not_masked_when_nothing_changed(rf, settings):
    settings.DYNAMIC_SCHEMA_CHECK_INTERVAL, settings.DYNAMIC_SCHEMA_LOCK = 0, True
    calls: list[str] = []
    middleware = _Stamped(lambda request: calls.append(1) or HttpResponse(status=500))
    assert middleware(rf.get("/")).status_code == 500
    assert calls == [1] and middleware.rebuilds == 0


# --- apply_schema does not trust `old`; validation refuses what would break Django ---------


def test_apply_schema_refuses_when_the_table_differs_from_old(surveys):
    dm.apply_schema(None, SPEC)
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {qn(SPEC.db_table)} ({qn('rating')}, {qn('comment')}) VALUES (7, 'kept')")
    renamed = dm.ModelSpec(SPEC.app_label, SPEC.name, SPEC.db_table,
                           (dm.FieldSpec("1", "score", "integer"), SPEC.fields[1]))
    dm.apply_schema(SPEC, renamed)  # the table has "score" now; the caller still says "rating"
    before = (columns(SPEC.db_table), rows(SPEC.db_table), tables())
    again = dm.ModelSpec(SPEC.app_label, SPEC.name, SPEC.db_table,
                         (dm.FieldSpec("1", "points", "integer"), SPEC.fields[1]))
    with pytest.raises(dm.SchemaMismatch, match="has columns .* the applied definition says"):
        dm.apply_schema(SPEC, again)
    moved = dm.ModelSpec(SPEC.app_label, SPEC.name, "surveys_response_moved", renamed.fields)
    with pytest.raises(dm.SchemaMismatch, match="does not exist"):
        dm.apply_schema(replace_table(SPEC, "surveys_response_gone"), moved)
    with pytest.raises(dm.SchemaMismatch, match="exists already"):
        dm.apply_schema(None, renamed)
    assert (columns(SPEC.db_table), rows(SPEC.db_table), tables()) == before == (
        ["id", "score", "comment"], [(1, 7, "kept")], before[2])
    assert connection.in_atomic_block is False
    dm.apply_schema(renamed, None)


def replace_table(spec, table):
    return dm.ModelSpec(spec.app_label, spec.name, table, spec.fields)


SHADOWING = ["from_db", "save_base", "full_clean", "objects", "refresh_from_db", "validate_unique",
             "serializable_value", "get_next_by_when", "get_color_display", "asave"]


@pytest.mark.parametrize("name", SHADOWING)
def test_names_shadowing_model_attributes_are_refused(surveys, name):
    from surveys.models import Question

    survey = make_survey()
    before = (columns("surveys_response_feedback"), Question.objects.count(), surveys.current_version())
    with pytest.raises(ValidationError, match="is reserved by Django"):
        Question.objects.create(survey=survey, name=name, field_type="text")
    assert (columns("surveys_response_feedback"), Question.objects.count(), surveys.current_version()) == before


@pytest.mark.parametrize("name", ["xmin", "ctid", "tableoid", "cmax", "oid", "rowid"])
def test_column_names_a_backend_reserves_are_refused(name):
    spec = dm.ModelSpec("surveys", "response_x", "surveys_response_x", (dm.FieldSpec("1", name, "text"),))
    with pytest.raises(ValidationError, match="databases reserve"):
        dm.validate_spec(spec)


def test_the_column_of_a_relation_cannot_be_a_field_too():
    spec = dm.ModelSpec("surveys", "response_x", "surveys_response_x",
                        (dm.FieldSpec("1", "who", "user"), dm.FieldSpec("2", "who_id", "integer")))
    with pytest.raises(ValidationError, match="the column of the relation 'who'"):
        dm.validate_spec(spec)


@pytest.mark.parametrize("table", ["auth_user", "django_migrations", "django_content_type", "surveys_survey",
                                   "auth_user_groups"])
def test_tables_that_exist_are_refused(db, table):
    spec = dm.ModelSpec("surveys", "response_x", table, (dm.FieldSpec("1", "note", "text"),))
    with pytest.raises(ValidationError, match="belongs to another model"):
        dm.validate_spec(spec)
    with pytest.raises(ValidationError):
        dm.apply_schema(None, spec)
    assert table in tables()


def test_a_dynamic_model_cannot_replace_a_static_one():
    from surveys.models import Survey

    for name in ("Survey", "survey", "SchemaStamp"):
        spec = dm.ModelSpec("surveys", name, f"surveys_dyn_{name.lower()}", (dm.FieldSpec("1", "note", "text"),))
        with pytest.raises(ValidationError, match="is a model of 'surveys' already"):
            dm.validate_spec(spec)
        with pytest.raises(ValidationError, match="is a model of 'surveys' already"):
            dm.build_model(spec, validate=False)
    assert apps.get_model("surveys", "survey") is Survey


# --- bad input: form errors, not 500s -------------------------------------------------------


def survey_form(name, questions=(), **extra):
    data = {"name": name, "title": "", "questions-TOTAL_FORMS": str(len(questions)),
            "questions-INITIAL_FORMS": "0", "questions-MIN_NUM_FORMS": "0", "questions-MAX_NUM_FORMS": "1000"}
    for i, (qname, qtype) in enumerate(questions):
        data |= {f"questions-{i}-name": qname, f"questions-{i}-field_type": qtype,
                 f"questions-{i}-position": str(i), f"questions-{i}-label": ""}
    return data | extra


@pytest.mark.parametrize(("name", "questions", "message"), [
    ("with space", [], "is not a valid name"),
    ("x" * 47, [], "is too long: 64 characters"),
    ("ok", [("Full Name", "text")], "is not a valid name"),
    ("ok", [("rating", "integer"), ("rating", "text")], "is used twice"),
    ("ok", [("from_db", "text")], "is reserved by Django"),
])  # fmt: skip
def test_the_admin_answers_bad_definitions_with_form_errors(surveys, name, questions, message):
    from surveys.models import Question, Survey

    client = staff_client()
    before = (tables(), surveys.current_version())
    page = client.post("/admin/surveys/survey/add/", survey_form(name, questions))
    assert page.status_code == 200
    assert message in page.content.decode().replace("&#x27;", "'")
    assert (Survey.objects.count(), Question.objects.count()) == (0, 0)
    assert (tables(), surveys.current_version()) == before


def test_a_change_the_database_refuses_is_a_message_and_the_next_request_works(surveys):
    from surveys.models import Question

    survey = make_survey()
    surveys.response_model("feedback").objects.create(comment="some text")
    client = staff_client()
    comment, rating = Question.objects.get(name="comment"), Question.objects.get(name="rating")
    data = survey_form("feedback", title="Feedback", **{
        "questions-TOTAL_FORMS": "2", "questions-INITIAL_FORMS": "2",
        "questions-0-id": str(rating.pk), "questions-0-survey": str(survey.pk), "questions-0-name": "rating",
        "questions-0-field_type": "integer", "questions-0-position": "1", "questions-0-label": "",
        "questions-1-id": str(comment.pk), "questions-1-survey": str(survey.pk), "questions-1-name": "comment",
        "questions-1-field_type": "user", "questions-1-position": "2", "questions-1-label": "",
    })
    page = client.post(f"/admin/surveys/survey/{survey.pk}/change/", data, follow=True)
    assert page.status_code == 200
    assert "The database refused this change; nothing was saved" in page.content.decode()
    assert connection.in_atomic_block is False
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            assert cursor.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert Question.objects.get(name="comment").field_type == "text"
    assert rows("surveys_response_feedback") == [(1, None, "some text")]
    assert client.get("/admin/surveys/response_feedback/").status_code == 200
    assert Question.objects.create(survey=survey, name="email", field_type="email", position=3).pk


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"rating": "abc"}, "rating", "Enter a whole number."),
    ({"rating": "1" * 20}, "rating", "less than or equal to"),
    ({"comment": "x" * 5000}, "comment", "at most 200 characters (it has 5000)"),
    ({"notes": "x" * 5000}, "notes", "at most 4000 characters (it has 5000)"),
])  # fmt: skip
def test_the_submit_view_answers_bad_values_with_errors(surveys, data, field, message):
    make_survey(questions=(("rating", "integer"), ("comment", "text"), ("notes", "long_text")))
    model = surveys.response_model("feedback")
    page = Client().post("/surveys/feedback/submit/", data)
    assert page.status_code == 400
    assert message in page.json()["errors"][field][0]
    assert model.objects.count() == 0
    ok = Client().post("/surveys/feedback/submit/", {"rating": "5", "comment": "fine"})
    assert ok.status_code == 201 and model.objects.get().rating == 5

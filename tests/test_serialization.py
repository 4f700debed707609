"""explain() and check_migration_values: what can go into a migration file, and back."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import functools
import pathlib
import re
import uuid

import pytest
from django.db import models
from django.utils.deconstruct import deconstructible

from helpers.analysis.serialization import check_models, explain
from helpers.notebook.sandbox import Sandbox


class Colour(enum.Enum):
    RED = "r"


def top_level_function():
    return 1


@deconstructible
class WithEq:
    def __init__(self, limit=1):
        self.limit = limit

    def __eq__(self, other):
        return isinstance(other, WithEq) and other.limit == self.limit

    def __hash__(self):
        return hash(self.limit)


@deconstructible
class EqWithoutHash(WithEq):
    __hash__ = None


@deconstructible
class WithoutEq:
    def __init__(self, limit=1):
        self.limit = limit


class Outer:
    @deconstructible
    class Inner:
        pass


class Arbitrary:
    def __init__(self, x):
        self.x = x


@pytest.mark.parametrize(
    "value",
    [
        1, 2.5, True, "s", b"b", None, [1, 2], {1, 2}, (1,), {"a": [1]}, range(3),
        dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC), decimal.Decimal("1.10"),
        Colour.RED, uuid.UUID(int=5), functools.partial(top_level_function), pathlib.PurePosixPath("a/b"),
        top_level_function, dt.datetime.today, Outer, models.CharField(max_length=3), WithEq(2),
    ],
    ids=lambda value: re.sub(r" at 0x[0-9a-f]+", "", repr(value)),  # stable across xdist workers
)
def test_what_django_can_serialize_reads_back_equal(value):
    result = explain(value)
    assert result.ok, str(result)
    assert result.code and result.stable is True
    assert "verdict: OK" in str(result)


def test_lambda_is_refused_with_djangos_error_and_the_reason():
    result = explain(lambda: 1)
    assert not result.ok
    assert result.error == "Cannot serialize function: lambda"
    assert "define a function at the top level" in result.reason


def test_the_culprit_inside_a_container_is_named():
    result = explain({"key": [1, Arbitrary(2)]})
    assert result.error.startswith("Cannot serialize: <")
    assert result.reason.startswith("['key'][1]: an instance of Arbitrary (an arbitrary class)")
    assert "register_serializer" in result.reason
    assert " at 0x" not in str(result)


def test_nested_deconstructible_class_is_refused():
    result = explain(Outer.Inner())
    assert "Could not find object Inner" in result.error
    assert "Outer.Inner is not at the top level" in result.reason


def test_a_field_option_is_named():
    result = explain(models.CharField(max_length=3, default=Arbitrary(1)))
    assert result.reason.startswith("default: an instance of Arbitrary")


def test_code_that_is_written_but_does_not_run_is_caught():
    def local():
        return 1

    result = explain(models.IntegerField(default=local))
    # Django refuses the function itself, naming it
    assert "Could not find function local" in result.error

    class LocalClass:
        pass

    written = explain(LocalClass)
    assert "<locals>" in written.code
    assert not written.ok
    assert written.error.startswith("SyntaxError")
    assert "defined inside a function" in written.reason


def test_deconstructible_without_eq_is_unstable_and_named():
    unstable = explain(WithoutEq(3))
    assert unstable.code == "test_serialization.WithoutEq(3)"
    assert unstable.stable is False
    assert "WithoutEq needs an __eq__() method" in unstable.reason
    constraint = models.CheckConstraint(condition=models.Q(x__gt=WithoutEq(3)), name="c")
    assert "WithoutEq needs an __eq__() method" in explain(constraint).reason
    fixed = models.CheckConstraint(condition=models.Q(x__gt=WithEq(3)), name="c")
    assert explain(fixed).ok
    unhashable = models.CheckConstraint(condition=models.Q(x__gt=EqWithoutHash(3)), name="c")
    assert "must define __hash__() too" in explain(unhashable).reason


def test_fields_compare_by_deconstruction_as_the_autodetector_does():
    # A validator without __eq__ inside a field does not make new migrations: fields are
    # compared by their deconstructed form.
    assert explain(models.CharField(max_length=3, validators=[WithoutEq()])).ok


def test_check_models_on_the_committed_project_finds_nothing():
    checked, problems = check_models(["authors", "books", "members", "catalog"])
    assert checked >= 10 and problems == []
    with pytest.raises(LookupError):
        check_models(["nope"])


MODELS = '''
from django.db import models
from django.utils.deconstruct import deconstructible


@deconstructible
class Limit:
    def __init__(self, n):
        self.n = n


class Money:
    def __init__(self, amount):
        self.amount = amount


class PersonQuerySet(models.QuerySet):
    pass


class Person(models.Model):
    first_name = models.CharField(max_length=50, default=lambda: "x")
    last_name = models.CharField(max_length=50, default=Money(1))
    objects = models.Manager.from_queryset(PersonQuerySet)()
    objects.use_in_migrations = True

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(first_name__gt=Limit(1)), name="c")]
'''


def test_command_reports_every_problem_and_makemigrations_agrees():
    with Sandbox(["members"]) as sb:
        assert "each is written, runs and reads back equal" in sb.run("check_migration_values").stdout
        sb.write("members/models.py", MODELS)
        result = sb.run("check_migration_values", "members")
        assert result.returncode == 1
        out = result.stdout
        assert "- members.Person.first_name: default: a lambda" in out
        assert "- members.Person.last_name: default: an instance of Money" in out
        assert "- members.Person constraint 'c': read back" in out and "Limit needs an __eq__()" in out
        assert "- members.Person manager 'objects': " in out and "from_queryset()" in out
        assert "4 of 5 values cannot go into a migration file safely" in result.stderr
        made = sb.run("makemigrations", "members")  # Django stops at the first of them
        assert made.returncode == 1 and "from_queryset()" in made.stderr
        unknown = sb.run("check_migration_values", "nope")
        assert unknown.returncode == 1 and "No installed app with label 'nope'" in unknown.stderr

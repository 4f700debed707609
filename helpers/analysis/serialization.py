"""Tell, before ``makemigrations``, whether a value can go into a migration file and come back.

A migration file is Python code that rebuilds your model fields, constraints,
indexes and managers. ``makemigrations`` *writes* that code with Django's
serializer (``MigrationWriter.serialize``); ``migrate`` and the next
``makemigrations`` *read* it back by importing the file. Three things can go
wrong, and this module finds each one and says why, with the fix:

1. the value cannot be written at all (lambdas, nested classes, instances of
   arbitrary classes...): ``makemigrations`` stops with ``ValueError``;
2. it is written, but the code does not run (a class or function defined
   inside a function writes ``<locals>`` into the file);
3. it is written and runs, but what comes back is not *equal* to what you
   have (a ``@deconstructible`` class without ``__eq__`` used where Django
   compares with ``==``, e.g. inside a constraint): ``makemigrations`` then
   writes a new migration on every run.

:func:`explain` checks one value; :func:`check_models` checks every field,
constraint, index and migration manager of some apps. The
``check_migration_values`` management command wraps the latter.

Depends on Django only: copy this module (and its command) into your project.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as global_apps
from django.db import models
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.serializer import serializer_factory
from django.db.migrations.state import ProjectState

__all__ = ["Problem", "Serialization", "check_models", "explain"]

_CONTAINERS = (list, tuple, set, frozenset, dict)
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")  # memory addresses differ between runs


@dataclass
class Serialization:
    """What Django would write for a value, and whether it comes back unchanged."""

    value: Any
    code: str | None = None
    imports: list[str] = field(default_factory=list)
    error: str | None = None  # Django's own message, when it refuses
    reason: str | None = None  # why, in plain words, and what to do
    stable: bool | None = None  # True: read back equal; False: a new migration each run

    @property
    def ok(self) -> bool:
        """True when the value is written, runs, and reads back equal."""
        return self.error is None and self.reason is None

    def __str__(self) -> str:
        lines = [f"value:   {_short(self.value)}"]
        if self.code is not None:
            lines.append(f"written: {self.code}")
        if self.imports:
            lines.append(f"imports: {'; '.join(self.imports)}")
        if self.error:
            lines.append(f"error:   {_ADDRESS.sub('', self.error.splitlines()[0])}")
        lines.append(f"verdict: {'OK' if self.ok else self.reason}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def _short(value: Any, limit: int = 90) -> str:
    text = _ADDRESS.sub("", repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fails(value: Any) -> bool:
    try:
        serializer_factory(value).serialize()
    except ValueError:
        return True
    return False


def _why_not(value: Any, where: str = "") -> str:
    """Explain in plain words why Django's serializer refuses ``value`` (or a part of it)."""
    if isinstance(value, _CONTAINERS):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            for part in ((key, item) if isinstance(value, dict) else (item,)):
                if _fails(part):
                    return _why_not(part, f"{where}[{key!r}]")
    at = f"{where}: " if where else ""
    if isinstance(value, models.Manager):
        return (
            f"{at}{type(value).__qualname__} cannot be imported by a migration: a manager made with "
            "from_queryset() must be subclassed at the top level of a module "
            "(class MyManager(models.Manager.from_queryset(MyQuerySet)): ...)."
        )
    if isinstance(value, types.LambdaType) and value.__name__ == "<lambda>":
        return f"{at}a lambda has no name to import: define a function at the top level of a module."
    if callable(value) and "<locals>" in getattr(value, "__qualname__", ""):
        return f"{at}{value.__qualname__} is defined inside a function: move it to the top level of a module."
    if hasattr(value, "deconstruct") and not isinstance(value, type):
        try:
            _path, args, kwargs = value.deconstruct()[-3:]
        except ValueError:
            return (
                f"{at}{type(value).__qualname__} is not at the top level of its module "
                "(nested classes cannot be imported by a migration): move it there."
            )
        for key, part in [*enumerate(args), *sorted(kwargs.items())]:
            if _fails(part):
                name = f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]"
                return _why_not(part, name.lstrip("."))
    return (
        f"{at}an instance of {type(value).__qualname__} (an arbitrary class): give the class a "
        "deconstruct() method (@deconstructible), or register a serializer for it with "
        "MigrationWriter.register_serializer()."
    )


def _comparable(value: Any) -> Any:
    """What the autodetector compares: fields and partials deconstructed, the rest with ==."""
    if isinstance(value, models.Field | functools.partial | functools.partialmethod):
        return MigrationAutodetector(ProjectState(), ProjectState()).deep_deconstruct(value)
    return value


def explain(value: Any) -> Serialization:
    """Serialize ``value`` as ``makemigrations`` would, read the code back, and compare.

    Never raises for a bad value: the returned :class:`Serialization` says
    what went wrong (``error``, ``reason``) or that all is well (``ok``).
    """
    result = Serialization(value)
    try:
        code, imports = serializer_factory(value).serialize()
    except ValueError as exc:
        result.error = str(exc)
        result.reason = _why_not(value)
        return result
    result.code, result.imports = code, sorted(imports)
    namespace: dict[str, Any] = {}
    try:
        # Exactly what importing the migration file would run: its imports, then the value.
        exec("\n".join(result.imports), namespace)  # noqa: S102 - the project's own code
        rebuilt = eval(code, namespace)  # noqa: S307 - the project's own code
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        result.reason = (
            "Django writes this code but it does not run when the migration is loaded"
            + (": a class or function defined inside a function cannot be imported; move it to the "
               "top level of a module." if "<locals>" in code else ".")
        )  # fmt: skip
        return result
    if isinstance(value, models.Manager):
        result.stable = True  # managers are compared by their deconstructed form
        return result
    try:
        result.stable = bool(_comparable(rebuilt) == _comparable(value))
    except TypeError as exc:  # e.g. an unhashable value inside a Q object
        result.error = f"TypeError: {exc}"
        result.reason = (
            "comparing it with its copy read back from the migration fails (a class that defines "
            "__eq__() must define __hash__() too when it is used inside a Q object or a constraint)."
        )
        return result
    if not result.stable:
        culprit = _unequal_part(value)
        result.reason = (
            "read back from the migration, it is not equal (==) to the current value; where "
            "makemigrations compares with == (constraints, indexes, Q objects) it sees a change "
            "and writes a new migration on every run"
            + (f": {culprit} needs an __eq__() method." if culprit else ".")
        )
    return result


def _unequal_part(value: Any) -> str | None:
    """Name the first deconstructible class inside ``value`` that is not equal to its own copy."""
    seen: set[int] = set()

    def walk(obj: Any) -> str | None:
        if id(obj) in seen or isinstance(obj, str | bytes | int | float | type(None)):
            return None
        seen.add(id(obj))
        if hasattr(obj, "deconstruct") and not isinstance(obj, type):
            try:
                _path, args, kwargs = obj.deconstruct()[-3:]
            except Exception:
                return None
            cls = type(obj)
            if "django" not in cls.__module__.split(".")[0]:
                try:
                    if cls(*args, **kwargs) != obj:
                        return cls.__qualname__
                except Exception:
                    return None
            for part in [*args, *kwargs.values()]:
                found = walk(part)
                if found:
                    return found
            for part in getattr(obj, "children", ()):  # Q objects
                found = walk(part)
                if found:
                    return found
            return None
        if isinstance(obj, _CONTAINERS):
            for part in obj.values() if isinstance(obj, dict) else obj:
                found = walk(part)
                if found:
                    return found
        return None

    return walk(value)


@dataclass(frozen=True)
class Problem:
    """One value of a model that cannot go into a migration file safely."""

    where: str  # e.g. "members.Person.first_name" or "members.Person constraint 'c1'"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def _model_values(model: type[models.Model]) -> Iterable[tuple[str, Any]]:
    label = model._meta.label
    for f in model._meta.local_fields + model._meta.local_many_to_many:
        yield f"{label}.{f.name}", f
    for constraint in model._meta.constraints:
        yield f"{label} constraint {constraint.name!r}", constraint
    for index in model._meta.indexes:
        yield f"{label} index {index.name!r}", index
    for manager in model._meta.local_managers:
        if getattr(manager, "use_in_migrations", False):
            yield f"{label} manager {manager.name!r}", manager


def check_models(app_labels: Iterable[str] | None = None) -> tuple[int, list[Problem]]:
    """Check every field, constraint, index and migration manager of the given apps.

    Returns how many values were checked and the problems found (empty when
    every value can be written to a migration and read back unchanged).
    Raises ``LookupError`` for an app label that is not installed.
    """
    configs = (
        [global_apps.get_app_config(label) for label in app_labels]
        if app_labels
        else list(global_apps.get_app_configs())
    )
    checked, problems = 0, []
    for config in configs:
        for model in config.get_models():
            if not model._meta.managed or model._meta.proxy:
                continue
            for where, value in _model_values(model):
                checked += 1
                try:
                    result = explain(value)
                except Exception as exc:  # e.g. a manager made by from_queryset() and not subclassed
                    problems.append(Problem(where, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
                    continue
                if not result.ok:
                    problems.append(Problem(where, result.reason or result.error or "cannot be serialized"))
    return checked, problems

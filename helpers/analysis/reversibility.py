"""Find what cannot be reversed in a backwards migration plan, before anyone tries it.

``migrate books 0002`` unapplies migrations by running each operation's
``database_backwards``. Some operations cannot do that, and Django only finds
out when it gets there, possibly in production during a rollback. This module
walks the backwards plan and reports every such operation (no migration is
run). The kinds:

``runsql-without-reverse``
    ``RunSQL`` with no ``reverse_sql``: Django raises ``IrreversibleError``.
``runpython-without-reverse``
    ``RunPython`` with no ``reverse_code``: Django raises ``IrreversibleError``.
``irreversible``
    any other operation whose ``reversible`` is False.
``nested-irreversible``
    an irreversible operation inside ``SeparateDatabaseAndState``'s
    ``database_operations``. Django checks only the outer operation (which
    says it is reversible), so the reversal *starts* and then fails with
    ``NotImplementedError`` in the middle of the migration.
``fails-with-rows``
    reversible in Django's eyes, but its reversal fails once the table has
    rows: ``RemoveField`` of a NOT NULL field with no default (re-adding the
    column needs a value for every existing row), or of a unique field whose
    re-added column would get one shared default value for every row (fails
    from two rows on).
``re-imposes``
    the reversal puts back a constraint that the forward step relaxed, and
    fails as soon as one row uses the relaxation: a unique field,
    ``unique_together`` or ``UniqueConstraint``; NOT NULL without a default;
    a shorter ``max_length`` (or ``TextField`` back to ``CharField``); a
    narrower integer type; a ``CheckConstraint``; a foreign key.
``data-lost``
    a warning, never blocking: reversing ``DeleteModel`` brings the table
    back *empty*. The rollback runs; the rows deleted forwards do not return.

``fails-with-rows`` and ``re-imposes`` are *data-dependent*: whether the
rollback fails depends on the rows. Statically (the default) they block the
check, unless ``data_dependent_ok=True`` (``--data-dependent-ok``) turns them
into warnings. With ``assume_all_applied=False`` (``--applied``) the check
reads the real database and counts, for each of them, the rows that would
violate the re-imposed constraint, with one example. A finding no row violates
is reported as fine and does not block. The count is backend-aware: SQLite
does not enforce ``max_length``, so a longer value is reported (it would fail
on PostgreSQL) but does not block on SQLite. MySQL re-adds a NOT NULL column
with no default without refusing the rows (they get the type's implicit
default, '' or 0), so on MySQL that ``fails-with-rows`` finding is fine, with
a note that the rows do not get their values back, except where MySQL does
refuse that value: a foreign key, a unique field (from two rows on), a date
under a ``sql_mode`` with ``NO_ZERO_DATE`` in strict mode (read from the
connection). The static check keeps the finding: it fails on the other
backends. The rows counted are the rows as
they are now; a ``RunPython`` reversal earlier in the same plan that changes
them is not simulated (``rehearse_migrate`` runs the plan for real on a copy).
When a later operation of the *same migration* reverses with code of its own
(a ``RunPython`` with ``reverse_code``, a ``RunSQL`` with ``reverse_sql``,
not ``noop``), that code runs first and may fill or fix the rows (Django's
``contenttypes.0002`` refills ``name`` before ``NOT NULL`` returns): the
finding is a warning naming that operation, in both modes, and its rows are not
counted.

Operations that declare their own reversal are trusted: an operation whose
class sets ``reversal_keeps_rows = True``, or a subclass of a Django operation
that overrides ``database_backwards`` (e.g. the kit's ``RemoveMovedField``,
which re-adds the column nullable, copies the values back and only then
restores NOT NULL). Django's rules for the base operation do not describe
their reversal, so they get no data-dependent finding.

By default the plan assumes every migration on disk is applied (the state of
a fully deployed database), so the check needs no migrated database and gives
the same answer in CI as in production. ``assume_all_applied=False`` uses the
database's ``django_migrations`` records instead (and counts rows).

Only Django is imported (and the sibling :mod:`migration_plan` module).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, cast

from django.apps.registry import Apps
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations import operations as django_operations
from django.db.migrations.operations import (
    AlterField,
    AlterUniqueTogether,
    DeleteModel,
    RemoveConstraint,
    RemoveField,
    RunPython,
    RunSQL,
    SeparateDatabaseAndState,
)
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState
from django.db.models import (
    NOT_PROVIDED,
    BooleanField,
    CheckConstraint,
    Count,
    ExpressionWrapper,
    Q,
    UniqueConstraint,
)
from django.db.models import Field as ModelField
from django.db.models.functions import Length

from .migration_plan import database_connection, prepared_executor, resolve_target

__all__ = [
    "DATA_DEPENDENT",
    "KINDS",
    "WARNING_KINDS",
    "Finding",
    "ReversibilityReport",
    "RowCheck",
    "check_reversible",
    "declares_own_reversal",
    "operation_findings",
]

KINDS: dict[str, str] = {
    "runsql-without-reverse": "RunSQL has no reverse_sql: reversing raises IrreversibleError",
    "runpython-without-reverse": "RunPython has no reverse_code: reversing raises IrreversibleError",
    "irreversible": "the operation is not reversible: reversing raises IrreversibleError",
    "nested-irreversible": (
        "irreversible inside SeparateDatabaseAndState: Django starts the reversal and fails "
        "halfway with NotImplementedError"
    ),
    "fails-with-rows": "reversible in Django's eyes, but the reversal fails once the table has rows",
    "re-imposes": "the reversal re-imposes a constraint the rows may violate",
    "data-lost": "the reversal brings the table back empty: its rows are not restored",
}
DATA_DEPENDENT = frozenset({"fails-with-rows", "re-imposes"})
WARNING_KINDS = frozenset({"data-lost"})


@dataclass(frozen=True)
class RowCheck:
    """What to count in the rows to know whether a data-dependent finding fails.

    ``what`` is one of ``unique`` (``fields``, optional ``condition``),
    ``not-null`` (``fields[0]``), ``max-length`` (``fields[0]``, ``limit``),
    ``range`` (``fields[0]``, ``low``, ``high``), ``check`` (``condition``),
    ``foreign-key`` (``fields[0]``, ``target``, ``to_field``) and ``rows``
    (the table fails from ``limit`` rows on). The model is looked up in the
    project state just after the operation (the state the reversal starts
    from), where every field named here exists.
    """

    what: str
    model: tuple[str, str]
    fields: tuple[str, ...] = ()
    condition: Any = None
    limit: int = 0
    low: int | None = None
    high: int | None = None
    target: str = ""
    to_field: str = ""
    enforced_on_sqlite: bool = True
    #: For a re-added NOT NULL column with no default: what MySQL puts in the existing rows
    #: and whether that fails ("foreign-key", "unique", "zero-date", "implicit-default").
    on_mysql: str = ""


@dataclass(frozen=True)
class Finding:
    """One operation of the backwards plan that cannot (always) be reversed."""

    app_label: str
    migration: str
    position: str  # "2", or "2 > database_operations 1" inside SeparateDatabaseAndState
    operation: str  # the operation's describe()
    kind: str
    reason: str
    violations: int | None = None  # rows that would violate it (None: not counted)
    example: str = ""
    fine: bool = False  # counted on the rows: the rollback does not fail on it
    note: str = ""
    data_code_first: bool = False  # a reversed RunPython/RunSQL of its migration runs before it
    check: RowCheck | None = field(default=None, compare=False, repr=False)

    @property
    def data_dependent(self) -> bool:
        """True when whether the reversal fails depends on the rows."""
        return self.kind in DATA_DEPENDENT

    def __str__(self) -> str:
        text = (
            f"{self.app_label}.{self.migration}, operation {self.position} ({self.operation}): "
            f"[{self.kind}] {self.reason}"
        )
        if self.violations is not None:
            if self.violations:
                text += f"; {self.violations} {'rows violate' if self.violations != 1 else 'row violates'} it"
                text += f" (e.g. {self.example})" if self.example else ""
            else:
                text += "; no row violates it: fine"
        if self.note:
            text += f"; {self.note}"
        return text


@dataclass(frozen=True)
class ReversibilityReport:
    """The backwards plan that was checked and what was found in it."""

    target: str
    migrations: tuple[str, ...]
    operations_checked: int
    findings: tuple[Finding, ...]
    data_dependent_ok: bool = False
    assumed_all_applied: bool = True

    @property
    def blocking(self) -> list[Finding]:
        """Findings that fail the check."""
        return [
            f
            for f in self.findings
            if not f.fine
            and f.kind not in WARNING_KINDS
            and not f.data_code_first
            and not (self.data_dependent_ok and f.data_dependent)
        ]

    @property
    def ok(self) -> bool:
        """True when every operation of the backwards plan can be reversed."""
        return not self.blocking

    def __str__(self) -> str:
        basis = "every migration applied" if self.assumed_all_applied else "the database's records and rows"
        lines = [
            f"Backwards plan for {self.target} (assuming {basis}): {len(self.migrations)} "
            f"migration{'s' if len(self.migrations) != 1 else ''}, {self.operations_checked} "
            f"operation{'s' if self.operations_checked != 1 else ''}."
        ]
        by_migration: dict[str, list[Finding]] = {}
        for finding in self.findings:
            by_migration.setdefault(f"{finding.app_label}.{finding.migration}", []).append(finding)
        blocking = self.blocking
        for name in self.migrations:
            for finding in by_migration.get(name, []):
                mark = "fine" if finding.fine else ("ERROR" if finding in blocking else "warning")
                lines.append(f"  {mark}: {finding}")
        if self.ok:
            others = [f for f in self.findings if not f.fine]
            extra = f" ({len(others)} warning(s))" if others else ""
            lines.append(f"Every operation can be reversed{extra}.")
        else:
            count = len(blocking)
            lines.append(f"{count} operation{'s' if count != 1 else ''} cannot be reversed.")
        return "\n".join(lines)


def declares_own_reversal(operation: Operation) -> bool:
    """True when ``operation`` reverses in its own way, so Django's rules for its base do not apply.

    Either its class says so (``reversal_keeps_rows = True``) or it subclasses
    one of Django's operations and overrides that operation's
    ``database_backwards`` (the kit's ``RemoveMovedField`` does).
    """
    if getattr(operation, "reversal_keeps_rows", False):
        return True
    for base in type(operation).__mro__[1:]:
        if getattr(django_operations, base.__name__, None) is base:
            return type(operation).database_backwards is not base.database_backwards
    return False


def _effective_default(state_field: ModelField) -> Any:
    if getattr(state_field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED:
        return "db_default"
    return BaseDatabaseSchemaEditor._effective_default(state_field)  # type: ignore[attr-defined]  # Django's own


def _fails_with_rows(
    operation: RemoveField, app_label: str, state: ProjectState
) -> tuple[str, RowCheck] | None:
    model_state = state.models.get((app_label, operation.model_name_lower))
    if model_state is None:
        return None
    removed = model_state.fields.get(operation.name)
    if removed is None or removed.many_to_many or removed.primary_key:
        return None
    if getattr(removed, "db_default", NOT_PROVIDED) is not NOT_PROVIDED:
        return None
    # What the schema editor would put in the existing rows when it re-adds the column.
    default = BaseDatabaseSchemaEditor._effective_default(removed)  # type: ignore[attr-defined]  # Django's own
    field_text = f"{operation.model_name}.{operation.name}"
    key = (app_label, operation.model_name_lower)
    if default is None and not removed.null:
        if removed.is_relation and getattr(removed, "db_constraint", True):
            on_mysql = "foreign-key"
        elif removed.unique:
            on_mysql = "unique"
        elif removed.get_internal_type() in ("DateField", "DateTimeField"):
            on_mysql = "zero-date"
        else:
            on_mysql = "implicit-default"
        return (
            f"{KINDS['fails-with-rows']}: re-adding NOT NULL field {field_text} with no default "
            "leaves no value for the existing rows",
            RowCheck("rows", key, limit=1, on_mysql=on_mysql),
        )
    if removed.unique and default is not None:
        return (
            f"{KINDS['fails-with-rows']}: re-adding unique field {field_text} gives every existing "
            "row the same default value (fails from two rows on)",
            RowCheck("rows", key, limit=2),
        )
    return None


_INTEGER_TYPES = (
    "SmallIntegerField", "PositiveSmallIntegerField", "IntegerField", "PositiveIntegerField",
    "BigIntegerField", "PositiveBigIntegerField", "SmallAutoField", "AutoField", "BigAutoField",
)  # fmt: skip
_INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "SmallIntegerField": (-32768, 32767),
    "PositiveSmallIntegerField": (0, 32767),
    "IntegerField": (-2147483648, 2147483647),
    "PositiveIntegerField": (0, 2147483647),
    "BigIntegerField": (-9223372036854775808, 9223372036854775807),
    "PositiveBigIntegerField": (0, 9223372036854775807),
    "SmallAutoField": (1, 32767),
    "AutoField": (1, 2147483647),
    "BigAutoField": (1, 9223372036854775807),
}
_TEXT_TYPES = ("CharField", "TextField", "EmailField", "SlugField", "URLField")


def _internal_type(state_field: ModelField) -> str:
    if state_field.is_relation:
        return "ForeignKey"
    return state_field.get_internal_type()


def _relation_target(state_field: ModelField, app_label: str) -> str:
    model = cast(Any, state_field.remote_field).model  # a relation: its callers checked is_relation
    if isinstance(model, str):
        return model if "." in model else f"{app_label}.{model}"
    return model._meta.label


def _altered_field_checks(
    operation: AlterField, app_label: str, state: ProjectState
) -> list[tuple[str, RowCheck]]:
    model_state = state.models.get((app_label, operation.model_name_lower))
    if model_state is None or operation.name not in model_state.fields:
        return []
    old, new = model_state.fields[operation.name], operation.field
    if old.many_to_many or new.many_to_many:
        return []
    key = (app_label, operation.model_name_lower)
    name = f"{operation.model_name}.{operation.name}"
    found: list[tuple[str, RowCheck]] = []
    if old.unique and not old.primary_key and not new.unique:
        found.append((f"makes {name} unique again", RowCheck("unique", key, (operation.name,))))
    if not old.null and new.null and _effective_default(old) is None:
        found.append(
            (
                f"makes {name} NOT NULL again, with no default for NULL values",
                RowCheck("not-null", key, (operation.name,)),
            )
        )
    old_type, new_type = _internal_type(old), _internal_type(new)
    text_types = old_type in _TEXT_TYPES and new_type in _TEXT_TYPES
    if text_types and old.max_length:  # noqa: SIM102
        if new.max_length is None or new.max_length > old.max_length:
            found.append(
                (
                    f"shortens {name} back to max_length={old.max_length}",
                    RowCheck(
                        "max-length", key, (operation.name,), limit=old.max_length, enforced_on_sqlite=False
                    ),
                )
            )
    if old_type in _INTEGER_RANGES and new_type in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[old_type]
        new_low, new_high = _INTEGER_RANGES[new_type]
        if low > new_low or high < new_high:
            found.append(
                (
                    f"narrows {name} back to {old_type} ({low}..{high})",
                    RowCheck("range", key, (operation.name,), low=low, high=high, enforced_on_sqlite=False),
                )
            )
    if old.is_relation and getattr(old, "db_constraint", True):
        target = _relation_target(old, app_label)
        same = (
            new.is_relation
            and getattr(new, "db_constraint", True)
            and _relation_target(new, app_label).lower() == target.lower()
        )
        if not same:
            found.append(
                (
                    f"re-adds the foreign key {name} -> {target}",
                    RowCheck(
                        "foreign-key",
                        key,
                        (operation.name,),
                        target=target,
                        to_field=getattr(old, "to_fields", [None])[0] or "",
                    ),
                )
            )
    return found


def _unique_together_checks(
    operation: AlterUniqueTogether, app_label: str, state: ProjectState
) -> list[tuple[str, RowCheck]]:
    model_state = state.models.get((app_label, operation.name_lower))
    if model_state is None:
        return []
    old = {tuple(t) for t in model_state.options.get("unique_together", set())}
    new = {tuple(t) for t in (operation.unique_together or set())}
    key = (app_label, operation.name_lower)
    return [
        (f"re-adds unique_together {fields} on {operation.name}", RowCheck("unique", key, fields))
        for fields in sorted(old - new)
    ]


def _removed_constraint_checks(
    operation: RemoveConstraint, app_label: str, state: ProjectState
) -> list[tuple[str, RowCheck]]:
    model_state = state.models.get((app_label, operation.model_name_lower))
    if model_state is None:
        return []
    key = (app_label, operation.model_name_lower)
    for constraint in model_state.options.get("constraints", []):
        if constraint.name != operation.name:
            continue
        if isinstance(constraint, UniqueConstraint):
            what = f"re-adds unique constraint {constraint.name}"
            if constraint.expressions:
                return [(what, RowCheck("unique", key, (), condition="expressions"))]
            return [(what, RowCheck("unique", key, tuple(constraint.fields), constraint.condition))]
        if isinstance(constraint, CheckConstraint):
            condition = getattr(constraint, "condition", None) or getattr(constraint, "check", None)
            return [(f"re-adds check constraint {constraint.name}", RowCheck("check", key, (), condition))]
    return []


def _data_checks(
    operation: Operation, app_label: str, state: ProjectState
) -> list[tuple[str, str, RowCheck | None]]:
    """``(kind, reason, row check)`` for the data-dependent findings of one operation."""
    if declares_own_reversal(operation):
        return []
    if isinstance(operation, RemoveField):
        found = _fails_with_rows(operation, app_label, state)
        return [("fails-with-rows", found[0], found[1])] if found else []
    if isinstance(operation, DeleteModel):
        return [("data-lost", f"{KINDS['data-lost']} ({operation.name})", None)]
    checks: list[tuple[str, RowCheck]] = []
    if isinstance(operation, AlterField):
        checks = _altered_field_checks(operation, app_label, state)
    elif isinstance(operation, AlterUniqueTogether):
        checks = _unique_together_checks(operation, app_label, state)
    elif isinstance(operation, RemoveConstraint):
        checks = _removed_constraint_checks(operation, app_label, state)
    return [("re-imposes", f"the reversal {text}", check) for text, check in checks]


def _reverses_data(operation: Operation) -> bool:
    """True for a ``RunPython``/``RunSQL`` whose reversal runs code of its own (not ``noop``)."""
    if isinstance(operation, RunPython):
        return operation.reverse_code not in (None, RunPython.noop)
    if isinstance(operation, RunSQL):
        return operation.reverse_sql not in (None, RunSQL.noop, "", [], ())
    if isinstance(operation, SeparateDatabaseAndState):
        return any(_reverses_data(inner) for inner in operation.database_operations)
    return False


def _findings(
    operation: Operation, app_label: str, state: ProjectState
) -> list[tuple[str, str, str, RowCheck | None]]:
    if isinstance(operation, RunSQL) and operation.reverse_sql is None:
        return [("", "runsql-without-reverse", KINDS["runsql-without-reverse"], None)]
    if isinstance(operation, RunPython) and operation.reverse_code is None:
        return [("", "runpython-without-reverse", KINDS["runpython-without-reverse"], None)]
    if not operation.reversible:
        return [("", "irreversible", KINDS["irreversible"], None)]
    if isinstance(operation, SeparateDatabaseAndState):
        found = []
        inner_state = state.clone()
        for index, inner in enumerate(operation.database_operations, 1):
            for suffix, kind, reason, check in _findings(inner, app_label, inner_state):
                where = f" > database_operations {index}{suffix}"
                if kind in DATA_DEPENDENT or kind in WARNING_KINDS:
                    found.append((where, kind, reason, check))
                else:
                    found.append(
                        (where, "nested-irreversible", f"{KINDS['nested-irreversible']} ({reason})", None)
                    )
            inner.state_forwards(app_label, inner_state)
        return found
    return [("", kind, reason, check) for kind, reason, check in _data_checks(operation, app_label, state)]


def operation_findings(
    operation: Operation, app_label: str, state: ProjectState
) -> list[tuple[str, str, str]]:
    """What prevents reversing ``operation``, as ``(position suffix, kind, reason)`` tuples.

    ``state`` is the project state just before the operation runs forwards
    (the state its reversal must restore). An empty list means reversible.
    """
    return [(suffix, kind, reason) for suffix, kind, reason, _ in _findings(operation, app_label, state)]


def _shown(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def _count(check: RowCheck, apps: Apps, using: str) -> tuple[int, str]:
    """Rows that violate ``check``, and one example. Raises DatabaseError or LookupError."""
    model = apps.get_model(*check.model)
    rows = model._base_manager.using(using).order_by()
    if check.what == "rows":
        total = rows.count()
        return (total if total >= check.limit else 0), (
            f"{total} row(s) in {model._meta.db_table}" if total else ""
        )
    if check.what == "unique":
        if check.condition == "expressions":
            raise LookupError("a unique constraint on expressions is not counted")
        if check.condition is not None:
            rows = rows.filter(check.condition)
        for name in check.fields:
            rows = rows.filter(**{f"{name}__isnull": False})
        groups = rows.values(*check.fields).annotate(_kit_n=Count("*")).filter(_kit_n__gt=1)
        groups = groups.order_by(*check.fields)
        total = sum(g["_kit_n"] for g in groups)
        first = groups.first()
        if not first:
            return 0, ""
        n = first.pop("_kit_n")
        return total, f"{n} rows with {_shown(first)}"
    name = check.fields[0] if check.fields else ""
    if check.what == "not-null":
        bad = rows.filter(**{f"{name}__isnull": True})
    elif check.what == "max-length":
        bad = rows.annotate(_kit_len=Length(name)).filter(_kit_len__gt=check.limit)
    elif check.what == "range":
        bad = rows.filter(Q(**{f"{name}__lt": check.low}) | Q(**{f"{name}__gt": check.high}))
    elif check.what == "check":
        bad = rows.annotate(_kit_ok=ExpressionWrapper(check.condition, output_field=BooleanField())).filter(
            _kit_ok=False
        )
    elif check.what == "foreign-key":
        target = apps.get_model(check.target)
        to_field = check.to_field or target._meta.pk.name
        column = model._meta.get_field(name).attname
        bad = rows.filter(**{f"{column}__isnull": False}).exclude(
            **{f"{column}__in": target._base_manager.using(using).values(to_field)}
        )
    else:  # pragma: no cover - every RowCheck made above has one of the kinds
        raise LookupError(check.what)
    total = bad.count()
    if not total:
        return 0, ""
    pk = model._meta.pk.attname
    shown = [pk, name] if name and name != pk else [pk]
    if check.what == "foreign-key":
        shown = [pk, model._meta.get_field(name).attname]
    example = bad.order_by(pk).values(*shown).first() or {}
    if check.what == "max-length" and name in example:
        return total, f"{_shown({pk: example[pk]})}, {name} of {len(str(example[name]))} characters"
    return total, _shown(example)


def _mysql_strict_no_zero_date(using: str) -> bool:
    """True when the connection's ``sql_mode`` refuses the zero date (strict mode and NO_ZERO_DATE)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT @@SESSION.sql_mode")
        modes = set(str(cursor.fetchone()[0]).upper().split(","))
    return bool(modes & {"STRICT_TRANS_TABLES", "STRICT_ALL_TABLES"}) and "NO_ZERO_DATE" in modes


def _mysql_rule(check: RowCheck, using: str) -> tuple[RowCheck, str, bool]:
    """On MySQL: the row check of a re-added NOT NULL column, its note, and whether it never fails.

    MySQL's ``ADD COLUMN ... NOT NULL`` with no ``DEFAULT`` does not refuse the
    existing rows, even in strict mode: it gives them the type's implicit
    default ('' for text, 0 for numbers, '0000-00-00' for dates). Measured on
    MariaDB 10.11 with Django 5.2 (tests/test_reversibility.py compares it with
    the real rollback): the rollback then fails only where that value is
    refused: by a foreign key (0 matches no row), a unique column (from two
    rows on), or a zero date under ``NO_ZERO_DATE`` in strict mode.
    """
    rule = check.on_mysql
    if rule == "foreign-key":
        return check, "on MySQL the existing rows get 0, which the foreign key refuses", False
    if rule == "unique":
        return (
            replace(check, limit=2),
            "on MySQL every existing row gets the same implicit default (''/0): the unique index "
            "refuses it from two rows on",
            False,
        )
    if rule == "zero-date" and _mysql_strict_no_zero_date(using):
        return (
            check,
            "on MySQL the rows get '0000-00-00', which this sql_mode (strict, NO_ZERO_DATE) refuses",
            False,
        )
    zero = " ('0000-00-00', which Django reads as None)" if rule == "zero-date" else " ('' or 0)"
    return (
        check,
        f"MySQL fills the re-added column of these rows with its type's implicit default{zero}, so the "
        "rollback runs here, but they do not get the removed values back (it fails on PostgreSQL and SQLite)",
        True,
    )


def _counted(finding: Finding, apps: Apps, using: str) -> Finding:
    check = finding.check
    if check is None:
        return finding
    connection = connections[using]
    mysql_note, mysql_runs = "", False
    try:
        if connection.vendor == "mysql" and check.on_mysql:
            check, mysql_note, mysql_runs = _mysql_rule(check, using)
        with transaction.atomic(using=using):
            violations, example = _count(check, apps, using)
    except (DatabaseError, LookupError, ValueError) as exc:
        note = f"could not count the rows ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        return _replace(finding, note=note)
    fine = violations == 0
    note = mysql_note if violations else ""
    if violations and mysql_runs:
        fine = True
    if violations and connection.vendor == "sqlite" and not check.enforced_on_sqlite:
        fine = True
        note = "SQLite does not enforce it, so the rollback runs here (it fails on PostgreSQL)"
    return _replace(finding, violations=violations, example=example, fine=fine, note=note)


def _replace(finding: Finding, **changes: Any) -> Finding:
    return replace(finding, **changes)


def check_reversible(
    app_label: str | None = None,
    migration_name: str | None = None,
    *,
    using: str | None = DEFAULT_DB_ALIAS,
    assume_all_applied: bool = True,
    data_dependent_ok: bool = False,
) -> ReversibilityReport:
    """Check the backwards plan of ``migrate app_label migration_name`` for irreversible steps.

    * no ``app_label``: every app back to zero (the whole project);
    * ``app_label`` only: that app back to ``zero`` (and what depends on it);
    * ``app_label`` and ``migration_name`` (a name, unique prefix or ``zero``):
      back to that migration, which stays applied.

    No migration is run. With ``assume_all_applied=False`` the plan comes
    from the ``using`` database's records, and every data-dependent finding
    is counted on its rows (read only). Unknown apps or migrations, ambiguous
    prefixes, targets replaced by a squashed migration and unknown
    ``using`` aliases raise :class:`CommandError` naming the candidates.
    """
    if using is not None:
        database_connection(using)  # an unknown alias fails here, before any work
    executor = prepared_executor(
        app_label, migration_name, using if not assume_all_applied else None,
        assume_all_applied=assume_all_applied,
    )  # fmt: skip
    loader = executor.loader
    if app_label is None:
        targets: list[tuple[str, str | None]] = [(app, None) for app in sorted(loader.migrated_apps)]
        target_text = "every app to zero"
    elif migration_name is None:
        targets = [(app_label, None)]
        target_text = f"{app_label} to zero"
    else:
        targets = [resolve_target(loader, app_label, migration_name)]
        target_text = f"{app_label} {migration_name}"
    backwards = [m for m, is_backwards in executor.migration_plan(targets) if is_backwards]
    wanted = {(m.app_label, m.name) for m in backwards}
    count_rows = not assume_all_applied and using is not None

    # One forward pass over the whole graph gives the state before every operation.
    found_in: dict[tuple[str, str], list[tuple[Operation, list[tuple[str, str, str, RowCheck | None]]]]] = {}
    after_states: dict[tuple[str, str, int], ProjectState] = {}
    state = ProjectState(real_apps=loader.unmigrated_apps)
    seen: set[tuple[str, str]] = set()
    for leaf in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(leaf):
            if key in seen:
                continue
            seen.add(key)
            migration = loader.graph.nodes[key]
            for index, operation in enumerate(migration.operations, 1):
                found = None
                if key in wanted:
                    found = _findings(operation, migration.app_label, state)
                    found_in.setdefault(key, []).append((operation, found))
                operation.state_forwards(migration.app_label, state)
                if count_rows and found and any(check for *_, check in found):
                    after_states[(key[0], key[1], index)] = state.clone()

    sqlite = using is not None and database_connection(using).vendor == "sqlite"
    findings = []
    checked = 0
    for migration in backwards:
        ops = found_in.get((migration.app_label, migration.name), [])
        checked += len(ops)
        # Reversal runs the operations last to first; report them in that order.
        for position, (operation, found) in reversed(list(enumerate(ops, 1))):
            for suffix, kind, reason, check in found:
                finding = Finding(
                    migration.app_label,
                    migration.name,
                    f"{position}{suffix}",
                    operation.describe(),
                    kind,
                    reason,
                    check=check,
                )
                after = after_states.get((migration.app_label, migration.name, position))
                # A later operation's reverse runs first (e.g. contenttypes.0002's RunPython fills
                # the re-added name before NOT NULL returns): only the code decides, not the rows now.
                first = [i for i, (op, _) in enumerate(ops, 1) if i > position and _reverses_data(op)]
                if kind in DATA_DEPENDENT and first:
                    findings.append(_replace(
                        finding, data_code_first=True,
                        note=f"the reverse of operation {first[-1]} ({ops[first[-1] - 1][0].describe()}) "
                        "runs before it and may fill or fix the rows: rehearse_migrate decides",
                    ))  # fmt: skip
                    continue
                if after is not None and check is not None and using is not None:
                    finding = _counted(finding, after.apps, using)
                elif check is not None and not check.enforced_on_sqlite and sqlite:
                    finding = _replace(finding, fine=True, note="SQLite does not enforce it")
                findings.append(finding)
    return ReversibilityReport(
        target_text,
        tuple(f"{m.app_label}.{m.name}" for m in backwards),
        checked,
        tuple(findings),
        data_dependent_ok,
        assume_all_applied,
    )

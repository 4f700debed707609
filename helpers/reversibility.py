"""Find what cannot be reversed in a backwards migration plan, before anyone tries it.

``migrate books 0002`` unapplies migrations by running each operation's
``database_backwards``. Some operations cannot do that, and Django only finds
out when it gets there, possibly in production during a rollback. This module
walks the backwards plan and reports every such operation, statically (no
migration is run):

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
    from two rows on). An empty table reverses fine, so a rehearsal on an
    empty test database does not catch it.

Every kind is a *blocking* finding: :attr:`ReversibilityReport.ok` is False
and the ``check_reversible`` command exits with status 1. Passing
``data_dependent_ok=True`` (``--data-dependent-ok``) reports ``fails-with-rows``
findings as warnings that do not fail the check.

By default the plan assumes every migration on disk is applied (the state of
a fully deployed database), so the check needs no migrated database and gives
the same answer in CI as in production. ``assume_all_applied=False`` uses the
database's ``django_migrations`` records instead.

Only Django is imported (and the sibling :mod:`migration_plan` module).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations import RemoveField, RunPython, RunSQL, SeparateDatabaseAndState
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState
from django.db.models import NOT_PROVIDED

from .migration_plan import prepared_executor, resolve_target

__all__ = [
    "DATA_DEPENDENT",
    "KINDS",
    "Finding",
    "ReversibilityReport",
    "check_reversible",
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
}
DATA_DEPENDENT = frozenset({"fails-with-rows"})


@dataclass(frozen=True)
class Finding:
    """One operation of the backwards plan that cannot (always) be reversed."""

    app_label: str
    migration: str
    position: str  # "2", or "2 > database_operations 1" inside SeparateDatabaseAndState
    operation: str  # the operation's describe()
    kind: str
    reason: str

    @property
    def data_dependent(self) -> bool:
        """True when the reversal fails only once the table holds rows."""
        return self.kind in DATA_DEPENDENT

    def __str__(self) -> str:
        return (
            f"{self.app_label}.{self.migration}, operation {self.position} ({self.operation}): "
            f"[{self.kind}] {self.reason}"
        )


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
        return [f for f in self.findings if not (self.data_dependent_ok and f.data_dependent)]

    @property
    def ok(self) -> bool:
        """True when every operation of the backwards plan can be reversed."""
        return not self.blocking

    def __str__(self) -> str:
        basis = "every migration applied" if self.assumed_all_applied else "the database's records"
        lines = [
            f"Backwards plan for {self.target} (assuming {basis}): {len(self.migrations)} "
            f"migration{'s' if len(self.migrations) != 1 else ''}, {self.operations_checked} "
            f"operation{'s' if self.operations_checked != 1 else ''}."
        ]
        by_migration: dict[str, list[Finding]] = {}
        for finding in self.findings:
            by_migration.setdefault(f"{finding.app_label}.{finding.migration}", []).append(finding)
        for name in self.migrations:
            for finding in by_migration.get(name, []):
                mark = "warning" if finding not in self.blocking else "ERROR"
                lines.append(f"  {mark}: {finding}")
        if self.ok:
            extra = f" ({len(self.findings)} warning(s))" if self.findings else ""
            lines.append(f"Every operation can be reversed{extra}.")
        else:
            count = len(self.blocking)
            lines.append(f"{count} operation{'s' if count != 1 else ''} cannot be reversed.")
        return "\n".join(lines)


def _fails_with_rows(operation: RemoveField, app_label: str, state: ProjectState) -> str | None:
    model_state = state.models.get((app_label, operation.model_name_lower))
    if model_state is None:
        return None
    removed = model_state.fields.get(operation.name)
    if removed is None or removed.many_to_many or removed.primary_key:
        return None
    if getattr(removed, "db_default", NOT_PROVIDED) is not NOT_PROVIDED:
        return None
    # What the schema editor would put in the existing rows when it re-adds the column.
    default = BaseDatabaseSchemaEditor._effective_default(removed)
    field_text = f"{operation.model_name}.{operation.name}"
    if default is None and not removed.null:
        return (
            f"{KINDS['fails-with-rows']}: re-adding NOT NULL field {field_text} with no default "
            "leaves no value for the existing rows"
        )
    if removed.unique and default is not None:
        return (
            f"{KINDS['fails-with-rows']}: re-adding unique field {field_text} gives every existing "
            "row the same default value (fails from two rows on)"
        )
    return None


def operation_findings(
    operation: Operation, app_label: str, state: ProjectState
) -> list[tuple[str, str, str]]:
    """What prevents reversing ``operation``, as ``(position suffix, kind, reason)`` tuples.

    ``state`` is the project state just before the operation runs forwards
    (the state its reversal must restore). An empty list means reversible.
    """
    if isinstance(operation, RunSQL) and operation.reverse_sql is None:
        return [("", "runsql-without-reverse", KINDS["runsql-without-reverse"])]
    if isinstance(operation, RunPython) and operation.reverse_code is None:
        return [("", "runpython-without-reverse", KINDS["runpython-without-reverse"])]
    if not operation.reversible:
        return [("", "irreversible", KINDS["irreversible"])]
    if isinstance(operation, SeparateDatabaseAndState):
        found = []
        inner_state = state.clone()
        for index, inner in enumerate(operation.database_operations, 1):
            for suffix, kind, reason in operation_findings(inner, app_label, inner_state):
                where = f" > database_operations {index}{suffix}"
                if kind in DATA_DEPENDENT:
                    found.append((where, kind, reason))
                else:
                    found.append((where, "nested-irreversible", f"{KINDS['nested-irreversible']} ({reason})"))
            inner.state_forwards(app_label, inner_state)
        return found
    if isinstance(operation, RemoveField):
        reason = _fails_with_rows(operation, app_label, state)
        if reason:
            return [("", "fails-with-rows", reason)]
    return []


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

    Nothing is run. Unknown apps or migrations and ambiguous prefixes raise
    :class:`CommandError` naming the candidates.
    """
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

    # One forward pass over the whole graph gives the state before every operation.
    found_in: dict[tuple[str, str], list[tuple[Operation, list[tuple[str, str, str]]]]] = {}
    state = ProjectState(real_apps=loader.unmigrated_apps)
    seen: set[tuple[str, str]] = set()
    for leaf in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(leaf):
            if key in seen:
                continue
            seen.add(key)
            migration = loader.graph.nodes[key]
            for operation in migration.operations:
                if key in wanted:
                    found = operation_findings(operation, migration.app_label, state)
                    found_in.setdefault(key, []).append((operation, found))
                operation.state_forwards(migration.app_label, state)

    findings = []
    checked = 0
    for migration in backwards:
        ops = found_in.get((migration.app_label, migration.name), [])
        checked += len(ops)
        # Reversal runs the operations last to first; report them in that order.
        for position, (operation, found) in reversed(list(enumerate(ops, 1))):
            for suffix, kind, reason in found:
                findings.append(
                    Finding(
                        migration.app_label,
                        migration.name,
                        f"{position}{suffix}",
                        operation.describe(),
                        kind,
                        reason,
                    )
                )
    return ReversibilityReport(
        target_text,
        tuple(f"{m.app_label}.{m.name}" for m in backwards),
        checked,
        tuple(findings),
        data_dependent_ok,
        assume_all_applied,
    )

"""Write the migrations of a model broken down with ``broken-down-models`` (``bdmodels``).

The library's *Migrations* page explains that ``makemigrations`` misreads a
broken-down model: its ``VirtualParentLink`` fields have no column, yet the
autodetector adds them as new non-null fields (asking for a one-off default)
and may alter the primary key. The documented fix is a manual edit into three
migrations. :func:`write_breakdown_migrations` (and the management command
``breakdown_migrations``) does that edit itself:

1. ``NNNN_breakdown``: the ``CreateModel`` of each new partial parent, and one
   ``bdmodels.migration_ops.AddVirtualField`` per parent link, without a
   default, in the order of the links in the model;
2. ``NNNN_breakdown_copy``: one ``bdmodels.migration_ops.CopyDataToPartial``
   per partial (``INSERT ... SELECT``; its reverse is ``UPDATE ... FROM``);
3. ``NNNN_breakdown_cleanup``: one :class:`RemoveMovedField` per moved field.

What this module adds to the library on Django 5.2, and why:

* :class:`RemoveMovedField` extends Django's ``RemoveField``. A plain
  ``RemoveField`` (what the page moves into the cleanup migration) cannot be
  reversed on a table with rows when the field is ``NOT NULL`` without a
  default: the column comes back empty and the database refuses. This
  operation re-adds the column nullable, fills it from the partial's table,
  then restores ``NOT NULL``. Generated migrations therefore import this
  module (copy it along into your project).
* The library's ``AddVirtualField`` is a function returning a
  ``SeparateDatabaseAndState``, which ``MigrationWriter`` would write out
  expanded; :class:`_AddVirtualFieldCall` only makes the written file call
  ``bdmodels.migration_ops.AddVirtualField(...)`` as the page does.
* On Django 5.2 the autodetector no longer turns ``id`` into a relation; the
  ``AlterField`` on the primary key it still generates comes from an ``id``
  that does not exactly mimic the auto-created one (``auto_created=True``,
  ``verbose_name="ID"``). Such a change would rebuild the whole table on
  SQLite, so it is refused with the definition to use, never written.

Only Django and ``bdmodels`` are imported: copy this module into a project.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bdmodels import migration_ops
from bdmodels.models import BrokenDownModel
from django.apps import apps as global_apps
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections, migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.base import Operation
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import MigrationWriter

__all__ = [
    "BreakdownPlan",
    "BreakdownQuestioner",
    "RemoveMovedField",
    "plan_breakdown",
    "summary",
    "write_breakdown_migrations",
]

#: The one-off default the library's page types at the prompt; it never reaches a file.
ONE_OFF_DEFAULT = 0
SUFFIXES = ("breakdown", "breakdown_copy", "breakdown_cleanup")


class RemoveMovedField(migrations.RemoveField):
    """``RemoveField`` for a field copied into a partial parent, reversible on a full table.

    Forwards it is exactly ``RemoveField``. Backwards it re-adds the column
    as nullable, copies the values back from the partial's table (matching
    the partial's primary key with the model's), and then gives the column its
    real definition (``NOT NULL`` again when it was): a plain ``RemoveField``
    would re-add a ``NOT NULL`` column without values, which the database
    refuses on a table with rows.
    """

    def __init__(self, model_name: str, name: str, part_model_name: str) -> None:
        """Remove ``name`` from ``model_name``; its values live in ``part_model_name``."""
        self.part_model_name = part_model_name
        super().__init__(model_name=model_name, name=name)

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        """Return the arguments that rebuild this operation (for migration files)."""
        kwargs = {"model_name": self.model_name, "name": self.name, "part_model_name": self.part_model_name}
        return self.__class__.__name__, [], kwargs

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        """Re-add the column, fill it from the partial's table, then restore its definition."""
        to_model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, to_model):
            return
        from_model = from_state.apps.get_model(app_label, self.model_name)
        part_model = to_state.apps.get_model(app_label, self.part_model_name)
        real = to_model._meta.get_field(self.name)
        loose = copy.copy(real)
        loose.null = True
        schema_editor.add_field(from_model, loose)
        qn = schema_editor.quote_name
        column = qn(real.column)
        full_table, part_table = qn(to_model._meta.db_table), qn(part_model._meta.db_table)
        schema_editor.execute(
            f"UPDATE {full_table} SET {column} = (SELECT {qn('src')}.{column} "  # noqa: S608
            f"FROM {part_table} {qn('src')} WHERE {qn('src')}.{qn(part_model._meta.pk.column)} = "
            f"{full_table}.{qn(to_model._meta.pk.column)})"
        )
        if not real.null:
            schema_editor.alter_field(to_model, loose, real)

    def describe(self) -> str:
        """One line for ``migrate --plan`` and ``sqlmigrate``."""
        return f"Remove field {self.name} from {self.model_name} (its values are in {self.part_model_name})"


class _AddVirtualFieldCall(migrations.SeparateDatabaseAndState):
    """The library's ``AddVirtualField`` result, written to files as a call to it.

    Behaves exactly as ``bdmodels.migration_ops.AddVirtualField(...)`` (it is
    built from it); only its ``deconstruct`` and module differ, so that
    ``MigrationWriter`` writes ``bdmodels.migration_ops.AddVirtualField(...)``.
    """

    __module__ = migration_ops.__name__

    def __init__(self, *, model_name: str, name: str, field: models.Field) -> None:
        made = migration_ops.AddVirtualField(model_name=model_name, name=name, field=field)
        super().__init__(database_operations=made.database_operations, state_operations=made.state_operations)
        self.model_name, self.name, self.field = model_name, name, field

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return "AddVirtualField", [], {"model_name": self.model_name, "name": self.name, "field": self.field}

    def describe(self) -> str:
        return f"Add virtual field {self.name} to {self.model_name} (model state only, no column)"


class BreakdownQuestioner(NonInteractiveMigrationQuestioner):
    """Answer ``makemigrations``' question about the new ``*_ptr`` fields as the page does.

    The autodetector sees each ``VirtualParentLink`` as a new non-null field
    and asks for a one-off default; the page answers ``0`` and edits it away.
    Here the answer is given without a prompt and is dropped when the
    ``AddField`` becomes an ``AddVirtualField``.
    """

    def ask_not_null_addition(self, field_name: str, model_name: str) -> Any:
        """Return the one-off default (0) instead of prompting."""
        return ONE_OFF_DEFAULT


@dataclass
class BreakdownPlan:
    """The three migrations of a breakdown, before they are written."""

    app_label: str
    models: list[str]
    partials: list[str]
    dependencies: list[tuple[str, str]]
    schema: list[Operation] = field(default_factory=list)
    copy: list[Operation] = field(default_factory=list)
    cleanup: list[Operation] = field(default_factory=list)
    names: tuple[str, str, str] = ("", "", "")

    def migrations(self) -> list[migrations.Migration]:
        """The three ``Migration`` objects, each depending on the one before."""
        made = []
        previous = list(self.dependencies)
        for name, operations in zip(self.names, (self.schema, self.copy, self.cleanup), strict=True):
            migration = migrations.Migration(name, self.app_label)
            migration.dependencies = previous
            migration.operations = list(operations)
            made.append(migration)
            previous = [(self.app_label, name)]
        return made


def _virtual(field: models.Field) -> bool:
    return bool(getattr(field, "can_share_attribute", False))


def _describe(operations: Iterable[Operation]) -> str:
    return "; ".join(op.describe() for op in operations)


def _without_default(field: models.Field) -> models.Field:
    """The same virtual field, rebuilt without the one-off default."""
    _, _path, args, kwargs = field.deconstruct()
    kwargs.pop("default", None)
    return field.__class__(*args, **kwargs)


def _check_history(loader: MigrationLoader, app_label: str) -> None:
    conflicts = loader.detect_conflicts()
    if app_label in conflicts:
        raise CommandError(
            f"Conflicting migrations in app '{app_label}': {', '.join(sorted(conflicts[app_label]))}. "
            "Merge them first (makemigrations --merge). Nothing was written."
        )
    unapplied = [
        name
        for (label, name) in loader.graph.nodes
        if label == app_label and (label, name) not in loader.applied_migrations
    ]
    if unapplied:
        raise CommandError(
            f"App '{app_label}' has unapplied migrations: {', '.join(sorted(unapplied))}. "
            "Apply them first (migrate), so that the breakdown starts from the database's real "
            "state. Nothing was written."
        )


def _created_in(loader: MigrationLoader, app_label: str, model_name: str) -> str | None:
    """The migration of ``app_label`` that created ``model_name``, if any."""
    for label, name in loader.graph.forwards_plan(loader.graph.leaf_nodes(app_label)[0]):
        if label != app_label:
            continue
        for op in loader.graph.nodes[label, name].operations:
            if isinstance(op, migrations.CreateModel) and op.name_lower == model_name.lower():
                return name
    return None


def _broken_down_models(app_label: str, apps: Any) -> list[type[models.Model]]:
    app_models = list(apps.get_app_config(app_label).get_models())
    misfits = [
        m._meta.object_name
        for m in app_models
        if not issubclass(m, BrokenDownModel)
        and (m._meta.parents or any(_virtual(f) for f in m._meta.local_fields))
    ]
    if misfits:
        raise CommandError(
            f"{', '.join(misfits)} in app '{app_label}' "
            f"{'has' if len(misfits) == 1 else 'have'} parent models but "
            f"{'is' if len(misfits) == 1 else 'are'} not a broken-down model: make "
            "bdmodels.models.BrokenDownModel the first base class and link each parent with a "
            "VirtualParentLink. Nothing was written."
        )
    found = [m for m in app_models if issubclass(m, BrokenDownModel)]
    if not found:
        raise CommandError(
            f"App '{app_label}' has no broken-down model (a subclass of "
            "bdmodels.models.BrokenDownModel). Nothing was written."
        )
    return found


def plan_breakdown(app_label: str, *, using: str = DEFAULT_DB_ALIAS, apps: Any = None) -> BreakdownPlan:
    """Work out the three breakdown migrations of ``app_label``, or refuse with ``CommandError``.

    Refuses (nothing is written) when the app has conflicting or unapplied
    migrations, when a model with parents is not a ``BrokenDownModel``, when
    the migrations of the breakdown already exist, when the model's ``id`` is
    not Django's auto-created primary key, when the parent links are not in the
    order they were added, or when the models hold other changes too.
    """
    apps = apps or global_apps
    try:
        apps.get_app_config(app_label)
    except LookupError as exc:
        raise CommandError(f"No installed app with label '{app_label}'.") from exc
    loader = MigrationLoader(connections[using], ignore_no_migrations=True)
    if app_label not in loader.migrated_apps:
        raise CommandError(f"App '{app_label}' has no migrations: make its initial migration first.")
    _check_history(loader, app_label)
    broken_down = _broken_down_models(app_label, apps)

    old_state = loader.project_state()
    new_state = ProjectState.from_apps(apps)
    detector = MigrationAutodetector(old_state, new_state, BreakdownQuestioner())
    changes = detector.changes(graph=loader.graph, trim_to_apps={app_label}, convert_apps={app_label})
    generated = changes.get(app_label, [])
    operations = [op for migration in generated for op in migration.operations]
    own = {(app_label, m.name) for m in generated}
    dependencies = sorted(
        {dep for m in generated for dep in m.dependencies if dep not in own and dep[0] != "__setting__"}
        | {(app_label, loader.graph.leaf_nodes(app_label)[0][1])}
    )
    plan = BreakdownPlan(app_label, [m._meta.object_name for m in broken_down], [], dependencies)

    links: dict[tuple[str, str], models.Field] = {}  # (model, partial) -> link field, model order
    for model in broken_down:
        state_fields = old_state.models[app_label, model._meta.model_name].fields
        seen_new = None
        for f in model._meta.local_fields:
            if not (_virtual(f) and f.remote_field.parent_link):
                continue
            if f.name not in state_fields:
                seen_new = seen_new or f.name
                links[model._meta.model_name, f.remote_field.model._meta.model_name] = f
            elif seen_new:
                raise CommandError(
                    f"{model._meta.object_name}.{seen_new} comes before {f.name}, which an earlier "
                    "migration added: keep VirtualParentLink fields in the order in which they were "
                    f"added (move {seen_new} after {f.name}). Nothing was written."
                )

    created = {
        op.name_lower: op
        for op in operations
        if isinstance(op, migrations.CreateModel)
        and any(partial == op.name_lower for (_, partial) in links)
    }
    if not links:
        names = [m._meta.object_name for m in broken_down]
        where = sorted(
            {
                _created_in(loader, app_label, parent._meta.model_name) or "?"
                for m in broken_down
                for parent in m._meta.parents
            }
        )
        raise CommandError(
            f"The breakdown of {', '.join(names)} already has its migrations "
            f"({', '.join(f'{app_label}.{w}' for w in where)}) and the models add no new partial: "
            "nothing to write. Nothing was written."
        )
    missing = [partial for (_, partial) in links if partial not in created]
    if missing:
        raise CommandError(
            f"Partial model(s) {', '.join(missing)} already exist in the migrations of '{app_label}': "
            "this command only breaks out partials it creates. Nothing was written."
        )

    moved: dict[tuple[str, str], str] = {}  # (model, field) -> partial
    for (model_name, partial), _link in links.items():
        for fname, _ in created[partial].fields:
            moved[model_name, fname.lower()] = created[partial].name
    adds, removes, others = {}, [], []
    for op in operations:
        if isinstance(op, migrations.CreateModel) and op.name_lower in created:
            plan.schema.append(op)
        elif isinstance(op, migrations.AddField) and (op.model_name_lower, _partial_of(op)) in links:
            adds[op.model_name_lower, _partial_of(op)] = op
        elif isinstance(op, migrations.AlterField) and _is_pk(old_state, app_label, op):
            if not _virtual(op.field):
                raise CommandError(_pk_message(old_state, app_label, op))
            # The page's "it really isn't": a relation on top of id. Dropped.
        elif isinstance(op, migrations.RemoveField) and (op.model_name_lower, op.name_lower) in moved:
            removes.append(op)
        else:
            others.append(op)
    if others:
        raise CommandError(
            f"The models of '{app_label}' hold changes besides the breakdown: {_describe(others)}. "
            "Make those in a migration of their own first (or undo them). Nothing was written."
        )
    for key, link in links.items():
        model_name, partial = key
        if key not in adds:
            raise CommandError(
                f"makemigrations did not add {link.name} to {model_name}. Nothing was written."
            )
        plan.schema.append(
            _AddVirtualFieldCall(
                model_name=model_name, name=link.name, field=_without_default(adds[key].field)
            )
        )
        plan.copy.append(
            migration_ops.CopyDataToPartial(
                full_model_name=old_state.models[app_label, model_name].name,
                part_model_name=created[partial].name,
            )
        )
        plan.partials.append(created[partial].name)
        plan.cleanup.extend(
            RemoveMovedField(model_name=op.model_name, name=op.name, part_model_name=created[partial].name)
            for op in removes
            if (op.model_name_lower, op.name_lower) in moved
            and moved[op.model_name_lower, op.name_lower].lower() == partial
        )
    _verify(plan, apps, app_label, loader)
    number = MigrationAutodetector.parse_number(loader.graph.leaf_nodes(app_label)[0][1]) or 0
    plan.names = tuple(f"{number + i + 1:04d}_{suffix}" for i, suffix in enumerate(SUFFIXES))
    return plan


def _partial_of(op: migrations.AddField) -> str | None:
    if not (_virtual(op.field) and op.field.remote_field.parent_link):
        return None
    to = op.field.remote_field.model
    return (to if isinstance(to, str) else to._meta.label_lower).rsplit(".", 1)[-1].lower()


def _is_pk(state: ProjectState, app_label: str, op: migrations.AlterField) -> bool:
    model = state.models.get((app_label, op.model_name_lower))
    old = model.fields.get(op.name) if model else None
    return bool(old is not None and old.primary_key)


def _pk_message(state: ProjectState, app_label: str, op: migrations.AlterField) -> str:
    old = state.models[app_label, op.model_name_lower].fields[op.name]
    _, path, args, kwargs = old.deconstruct()
    shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in sorted(kwargs.items()))])
    return (
        f"The models change {op.model_name}.{op.name}, the primary key: the breakdown must not change "
        f"it (on SQLite that rebuilds the whole table). Define it exactly as the migrations have it: "
        f"{op.name} = {path.replace('django.db.models', 'models')}({shown}). Nothing was written."
    )


def _verify(plan: BreakdownPlan, apps: Any, app_label: str, loader: MigrationLoader) -> None:
    """Refuse unless the planned migrations leave nothing for ``makemigrations`` to detect."""
    # Fresh states: the autodetector consumes parts of the ones it is given.
    state, new_state = loader.project_state(), ProjectState.from_apps(apps)
    for op in [*plan.schema, *plan.copy, *plan.cleanup]:
        op.state_forwards(app_label, state)
    left = MigrationAutodetector(state, new_state, NonInteractiveMigrationQuestioner()).changes(
        graph=loader.graph, trim_to_apps={app_label}, convert_apps={app_label}
    )
    leftover = [op for m in left.get(app_label, []) for op in m.operations]
    if leftover:
        raise CommandError(
            f"After the breakdown, makemigrations would still see: {_describe(leftover)}. "
            "Nothing was written."
        )


def write_breakdown_migrations(
    app_label: str,
    *,
    using: str = DEFAULT_DB_ALIAS,
    dry_run: bool = False,
    plan: BreakdownPlan | None = None,
) -> tuple[BreakdownPlan, list[Path]]:
    """Plan the breakdown of ``app_label`` and write its three migration files.

    Returns the plan and the paths written (none with ``dry_run``). Raises
    ``CommandError`` and writes nothing when :func:`plan_breakdown` refuses or
    when a file of that name already exists. ``plan`` (from
    :func:`plan_breakdown`) saves planning twice.
    """
    plan = plan or plan_breakdown(app_label, using=using)
    writers = [MigrationWriter(m) for m in plan.migrations()]
    paths = [Path(w.path) for w in writers]
    taken = [str(p) for p in paths if p.exists()]
    if taken:
        raise CommandError(f"{', '.join(taken)} already exist(s). Nothing was written.")
    if dry_run:
        return plan, []
    texts = [w.as_string() for w in writers]
    written: list[Path] = []
    try:
        for path, text in zip(paths, texts, strict=True):
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return plan, paths


def summary(plan: BreakdownPlan, paths: Sequence[Path] | None = None) -> list[str]:
    """Lines describing the planned (or written) migrations, like ``makemigrations`` prints."""
    lines = [f"Migrations for '{plan.app_label}':"]
    for index, migration in enumerate(plan.migrations()):
        if paths:
            shown = os.path.relpath(paths[index])
        else:
            shown = f"{plan.app_label}/migrations/{migration.name}.py (not written: dry run)"
        lines.append(f"  {shown}")
        for op in migration.operations:
            if isinstance(op, migration_ops.CopyDataToPartial):
                text = f"Copy the values of {op.part_model_name} from {op.full_model_name} "
                text += "(INSERT ... SELECT)"
            else:
                text = op.describe()
            lines.append(f"    {'+' if not isinstance(op, RemoveMovedField) else '-'} {text}")
    return lines

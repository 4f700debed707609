"""Write the skeleton of a reversible data migration, the way Django's guide says to.

``makemigrations --empty`` gives an empty ``operations`` list; everything the
guide then asks for is left to you: a ``RunPython`` with **reverse code**,
models taken from the **historical** app registry (``apps.get_model``, never
an import of ``models.py``), the database alias the migration runs on, and a
**dependency on the latest migration of every other app** whose models the
function uses (without it: ``LookupError: No installed app with label ...``).

:func:`plan_data_migration` works all of that out from the migration graph;
:func:`render_data_migration` turns the plan into the file's text;
:func:`write_data_migration` writes it. The ``make_data_migration``
management command wraps them::

    python manage.py make_data_migration members combine_names --model members.Person

The stubs raise ``NotImplementedError`` until you fill them in, so a
forgotten stub fails loudly instead of being recorded as applied.

Depends on Django only: copy this module (and its command) into your project.
"""

from __future__ import annotations

import datetime as dt
import keyword
from dataclasses import dataclass, field
from pathlib import Path

import django
from django.apps import apps as global_apps
from django.conf import settings
from django.db.migrations import Migration
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.writer import MigrationWriter

from helpers.core import graph as graph_checks
from helpers.writers.file_writer import write_all

__all__ = [
    "DataMigrationError",
    "DataMigrationPlan",
    "plan_data_migration",
    "render_data_migration",
    "write_data_migration",
]


# Most file systems (ext4, APFS, NTFS...) refuse a file name over 255 bytes.
MAX_FILE_NAME_BYTES = 255


class DataMigrationError(ValueError):
    """The data migration cannot be planned; nothing was written."""


@dataclass(frozen=True)
class ModelRef:
    """A model the data migration uses: its app label, its class name, its variable in the file.

    ``setting`` names the setting of a swapped model (``"AUTH_USER_MODEL"``):
    the file then looks the model up through that setting and depends on it
    with ``migrations.swappable_dependency``.
    """

    app_label: str
    object_name: str
    variable: str
    setting: str | None = None


@dataclass(frozen=True)
class DataMigrationPlan:
    """Everything needed to write one data migration file."""

    app_label: str
    name: str  # full migration name, e.g. "0003_combine_names"
    dependencies: list[tuple[str, str]]
    models: list[ModelRef] = field(default_factory=list)
    swappable: list[str] = field(default_factory=list)  # settings of swappable dependencies
    elidable: bool = False
    path: Path | None = None

    @property
    def relative_path(self) -> str:
        """The file's path as ``app/migrations/NNNN_name.py`` (for messages)."""
        if self.path is None:
            return f"{self.app_label}/migrations/{self.name}.py"
        return "/".join(self.path.parts[-3:])


def _leaf(loader: MigrationLoader, app_label: str, why: str) -> tuple[str, str]:
    leaves = graph_checks.leaves(loader, app_label)
    if not leaves:
        raise DataMigrationError(
            f"App '{app_label}' has no migrations, so {why}. "
            f"Run 'manage.py makemigrations {app_label}' first."
        )
    if len(leaves) > 1:
        names = ", ".join(name for _, name in leaves)
        raise DataMigrationError(
            f"App '{app_label}' has conflicting migrations ({names}): "
            "run 'manage.py makemigrations --merge' first."
        )
    return leaves[0]


def plan_data_migration(
    app_label: str,
    name: str,
    models: list[str] | tuple[str, ...] = (),
    *,
    elidable: bool = False,
    loader: MigrationLoader | None = None,
) -> DataMigrationPlan:
    """Work out the next data migration of ``app_label``: number, dependencies, models.

    ``models`` are ``"app_label.ModelName"`` strings, checked against the
    project state at the end of the migration graph (what ``apps.get_model``
    will see). Each app they belong to becomes a dependency on its latest
    migration. A swapped model (``auth.User`` when ``AUTH_USER_MODEL`` names
    another model) is replaced by the model its setting names, looked up
    through the setting, with a swappable dependency. Raises
    :class:`DataMigrationError` for an unknown app or model, an invalid or
    too long name, an app without migrations, or conflicting leaf migrations.
    """
    if not name.isidentifier() or keyword.iskeyword(name):
        raise DataMigrationError(f"The migration name must be a valid Python identifier; {name!r} is not.")
    # NNNN_<name>.py must fit in a file name.
    room = MAX_FILE_NAME_BYTES - len("0000_.py")
    if len(name.encode()) > room:
        shorter = name.encode()[:40].decode(errors="ignore").rstrip("_") or "data"
        raise DataMigrationError(
            f"The migration name is {len(name.encode())} bytes long; its file name NNNN_<name>.py must "
            f"fit in {MAX_FILE_NAME_BYTES} bytes, so the name can have at most {room}. "
            f"Give a shorter name, e.g. {shorter!r}."
        )
    try:
        global_apps.get_app_config(app_label)
    except LookupError as exc:
        known = ", ".join(sorted(c.label for c in global_apps.get_app_configs()))
        raise DataMigrationError(
            f"No installed app with label '{app_label}'. Installed apps: {known}."
        ) from exc
    loader = loader or MigrationLoader(None, ignore_no_migrations=True)
    own_leaf = _leaf(loader, app_label, "a data migration has nothing to follow")
    state = loader.project_state()

    refs: list[ModelRef] = []
    swappable: list[str] = []
    dependencies: dict[str, tuple[str, str]] = {app_label: own_leaf}
    for dotted in models:
        label, _, model_name = dotted.partition(".")
        if not label or not model_name or "." in model_name:
            raise DataMigrationError(f"Name models as app_label.ModelName; {dotted!r} is not.")
        model_state = state.models.get((label, model_name.lower()))
        if model_state is None:
            models = sorted(f"{a}.{s.name}" for (a, _), s in state.models.items() if a == label)
            hint = f" Models of '{label}' in its migrations: {', '.join(models)}." if models else ""
            raise DataMigrationError(f"No model {dotted!r} in the migrations' project state.{hint}")
        setting = model_state.options.get("swappable")
        if setting and getattr(settings, setting, None) not in (None, f"{label}.{model_state.name}"):
            # Swapped out (auth.User under a custom user model): use the model the setting names.
            real = getattr(settings, setting)
            real_label, _, real_name = real.partition(".")
            real_state = state.models.get((real_label, real_name.lower()))
            if real_state is None:
                raise DataMigrationError(
                    f"{dotted} is swapped for settings.{setting} = {real!r}, which no migration creates."
                )
            if setting not in swappable:
                swappable.append(setting)
            refs.append(ModelRef(real_label, real_state.name, real_state.name, setting))
            continue
        if label not in dependencies:
            dependencies[label] = _leaf(loader, label, f"{dotted} cannot be used by a migration")
        refs.append(ModelRef(label, model_state.name, model_state.name))

    # Two models with one class name (from different apps) need distinct variables.
    counts: dict[str, int] = {}
    for ref in refs:
        counts[ref.object_name] = counts.get(ref.object_name, 0) + 1
    refs = [
        ref if counts[ref.object_name] == 1
        else ModelRef(ref.app_label, ref.object_name,
                      "".join(p.title() for p in ref.app_label.split("_")) + ref.object_name, ref.setting)
        for ref in dict.fromkeys(refs)
    ]  # fmt: skip

    number = graph_checks.next_number(loader, app_label)
    full_name = f"{number:04d}_{name}"
    path = Path(MigrationWriter(Migration(full_name, app_label)).path)
    return DataMigrationPlan(
        app_label=app_label,
        name=full_name,
        dependencies=[dependencies[label] for label in dependencies],
        models=refs,
        swappable=swappable,
        elidable=elidable,
        path=path,
    )


def render_data_migration(plan: DataMigrationPlan) -> str:
    """Return the text of the migration file described by ``plan``."""
    deps = "".join(f"        ({a!r}, {n!r}),\n" for a, n in plan.dependencies)
    deps += "".join(
        f"        migrations.swappable_dependency(settings.{setting}),"
        f"  # the first migration of the {setting} model's app\n"
        for setting in plan.swappable
    )
    lookups = "".join(
        f"    {m.variable} = apps.get_model(settings.{m.setting})  # {m.app_label}.{m.object_name} here\n"
        if m.setting else
        f"    {m.variable} = apps.get_model(\"{m.app_label}\", \"{m.object_name}\")\n"
        for m in plan.models
    ) or "    # Models: apps.get_model('app_label', 'ModelName') (never import them from models.py)\n"
    names = ", ".join(m.variable for m in plan.models) or "the models"
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    elidable = ", elidable=True" if plan.elidable else ""
    return (
        f"# Generated by Django {django.get_version()} on {now} with make_data_migration\n"
        "\n"
        f"{'from django.conf import settings' + chr(10) if plan.swappable else ''}"
        "from django.db import migrations\n"
        "\n"
        "\n"
        "def forwards(apps, schema_editor):\n"
        f'    """Change the data forwards. Use {names} as they were at this migration."""\n'
        f"{lookups}"
        "    db_alias = schema_editor.connection.alias  # query with .using(db_alias)\n"
        f'    raise NotImplementedError("Write forwards() in {plan.relative_path}")\n'
        "\n"
        "\n"
        "def backwards(apps, schema_editor):\n"
        '    """Undo forwards(), so that the migration can be unapplied."""\n'
        f"{lookups}"
        "    db_alias = schema_editor.connection.alias  # query with .using(db_alias)\n"
        f'    raise NotImplementedError("Write backwards() in {plan.relative_path}")\n'
        "\n"
        "\n"
        "class Migration(migrations.Migration):\n"
        "\n"
        "    dependencies = [\n"
        f"{deps}"
        "    ]\n"
        "\n"
        "    operations = [\n"
        f"        migrations.RunPython(forwards, backwards{elidable}),\n"
        "    ]\n"
    )


def write_data_migration(plan: DataMigrationPlan) -> Path:
    """Write the file of ``plan`` (and a missing ``__init__.py``), all or nothing; return its path.

    Never overwrites an existing file. Raises
    :class:`helpers.writers.file_writer.WriteError` when the file exists or cannot
    be written: nothing is then left behind.
    """
    if plan.path is None:
        raise DataMigrationError("This plan has no path: make it with plan_data_migration().")
    files = {plan.path: render_data_migration(plan)}
    init = plan.path.parent / "__init__.py"
    if not init.exists():
        files = {init: "", **files}
    write_all(files)
    return plan.path

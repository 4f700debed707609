"""Interactive notebook tools: the migration explorer and progress bars.

Notebook display code (plumbing), built on :mod:`ipywidgets` and the
sandbox. Every widget here also has a plain-text form that says what it
shows, so that a notebook committed with its outputs reads well on a code
host (where widgets do not run) and is compared strictly by nbval.
"""

from __future__ import annotations

import html
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from helpers.core.exceptions import MigrationTargetError
from helpers.core.targets import matching_names
from helpers.notebook.sandbox import SandboxError

if TYPE_CHECKING:
    from helpers.notebook.display import CommandResult
    from helpers.notebook.sandbox import Sandbox

__all__ = [
    "DesignerError",
    "ExplorerTargetError",
    "MigrationExplorer",
    "ModelDesigner",
    "PlanStep",
    "Progress",
    "progress",
]


class ExplorerTargetError(SandboxError, MigrationTargetError):
    """The explorer was given a target that names no migration of the app, or several."""


class DesignerError(SandboxError):
    """The model designer was asked to change a field or press a button that does not exist."""

_STEP = re.compile(r"^(?P<app>\w+)\.(?P<name>\w+)$")


@dataclass(frozen=True)
class PlanStep:
    """One migration of a plan, with what it does (or undoes)."""

    app: str
    name: str
    backwards: bool
    operations: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.app}.{self.name}: {'; '.join(self.operations)}"


def parse_plan(output: str) -> list[PlanStep]:
    """Parse the output of ``migrate --plan`` into steps."""
    steps: list[PlanStep] = []
    current: tuple[str, str] | None = None
    operations: list[str] = []

    def flush() -> None:
        if current:
            backwards = bool(operations) and all(op.startswith("Undo ") for op in operations)
            steps.append(PlanStep(current[0], current[1], backwards, tuple(operations)))

    for line in output.splitlines():
        match = _STEP.match(line)
        if match:
            flush()
            current, operations = (match["app"], match["name"]), []
        elif current and line.startswith("    "):
            operations.append(line.strip())
    flush()
    return steps


class MigrationExplorer:
    """Pick an app and a target migration; see the plan, its SQL, run it, see the tables.

    Everything it shows comes from real ``manage.py`` commands run in the
    sandbox (``migrate --plan``, ``sqlmigrate``, ``migrate``). Use it as a
    widget (display it in a cell) or from code: :meth:`select`, :meth:`plan`,
    :meth:`sql`, :meth:`run`, :meth:`tables`.
    """

    def __init__(self, sandbox: Sandbox, app: str | None = None) -> None:
        """Explore ``sandbox``'s migrations, starting with ``app`` (default: its last app)."""
        import ipywidgets as w

        self.sb = sandbox
        self.app = app or sandbox.apps[-1]
        self.target = self._targets(self.app)[-1]
        self.last_run: CommandResult | None = None
        self._app = w.Dropdown(options=sandbox.apps, value=self.app, description="App")
        self._target = w.Dropdown(
            options=self._targets(self.app), value=self.target, description="Target"
        )
        self._show_sql = w.Button(description="Show SQL", icon="code")
        self._migrate = w.Button(description="Migrate", icon="play", button_style="primary")
        # HTML widgets, not Output widgets: their content is a value of the widget, so
        # nothing is printed into the cell (identical under nbval, nbclient and JupyterLab).
        self._plan_out = w.HTML()
        self._sql_out = w.HTML()
        self._tables_out = w.HTML()
        self._app.observe(self._on_app, names="value")
        self._target.observe(self._on_target, names="value")
        self._show_sql.on_click(lambda _: self._refresh_sql())
        self._migrate.on_click(lambda _: self._on_migrate())
        self.widget = w.VBox(
            [
                w.HBox([self._app, self._target, self._show_sql, self._migrate]),
                w.HTML("<b>Plan</b>"),
                self._plan_out,
                w.HTML("<b>SQL</b>"),
                self._sql_out,
                w.HTML("<b>Tables</b>"),
                self._tables_out,
            ]
        )
        self.widget.add_class("kit-migration-explorer")
        self._steps = self._compute_plan()
        self._refresh_plan()
        self._refresh_tables()

    # -- code interface

    def _targets(self, app: str) -> list[str]:
        return ["zero", *self.sb.migration_files(app)]

    def select(self, app: str, target: str) -> MigrationExplorer:
        """Choose the app and the target migration (a name, a unique prefix, or ``zero``)."""
        targets = self._targets(app)
        matches = ["zero"] if target == "zero" else matching_names(targets[1:], target)
        if len(matches) != 1:
            what = "matches none" if not matches else f"matches {', '.join(matches)}"
            raise ExplorerTargetError(
                f"Target {target!r} {what} of the targets of {app}: {', '.join(targets)}."
            )
        self._app.value = app
        self._target.options = targets
        self._target.value = matches[0]
        self.app, self.target = app, matches[0]
        self._steps = self._compute_plan()
        self._refresh_plan()
        self._sql_out.value = ""
        return self

    def _compute_plan(self) -> list[PlanStep]:
        return parse_plan(self.sb.run("migrate", self.app, self.target, "--plan").check().stdout)

    def plan(self) -> list[PlanStep]:
        """The migrations ``migrate`` would apply (or unapply) to reach the target."""
        return list(self._steps)

    def sql(self) -> list[CommandResult]:
        """``sqlmigrate`` of every step of the plan, in order (``--backwards`` for undos)."""
        return [
            self.sb.run("sqlmigrate", s.app, s.name, *(["--backwards"] if s.backwards else []))
            for s in self._steps
        ]

    def run(self) -> CommandResult:
        """Run ``migrate`` to the target; the plan is then empty."""
        self.last_run = self.sb.run("migrate", self.app, self.target)
        self._steps = self._compute_plan()
        self._refresh_plan()
        self._refresh_tables()
        return self.last_run

    def tables(self) -> Any:
        """The app's tables and their columns, as they are now."""
        return self.sb.schema(prefix=f"{self.app}_")

    # -- widget plumbing

    def _on_app(self, change: dict[str, Any]) -> None:
        targets = self._targets(change["new"])
        self.select(change["new"], targets[-1])
        self._refresh_tables()

    def _on_target(self, change: dict[str, Any]) -> None:
        if change["new"] and change["new"] != self.target:
            self.select(self.app, change["new"])

    def _on_migrate(self) -> None:
        self._sql_out.value = _pre(repr(self.run()))

    def _refresh_plan(self) -> None:
        self._plan_out.value = _pre(self.describe_plan())

    def _refresh_sql(self) -> None:
        self._sql_out.value = _pre("\n".join(map(repr, self.sql())) or "(nothing to run)")

    def _refresh_tables(self) -> None:
        self._tables_out.value = self.tables()._repr_html_()

    def describe_plan(self) -> str:
        """The plan as text: direction, number of steps, and each step."""
        if not self._steps:
            return f"{self.app} is at {self.target}: nothing to do."
        direction = "backwards" if self._steps[0].backwards else "forwards"
        count = len(self._steps)
        lines = [f"{direction}, {count} migration{'s' if count > 1 else ''}:"]
        lines += [f"  {step}" for step in self._steps]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Migration explorer: {self.app} -> {self.target}\n{self.describe_plan()}"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle


_RESULT_LIST = re.compile(r'<table id="result_list">.*?</table>', re.S)


class ModelDesigner:
    """Add, rename and remove the fields of a runtime dynamic model from a form.

    Works on a definition row with questions (the ``surveys`` app of the
    dynamic-models chapter: a ``Survey`` whose ``Question`` rows are the
    fields of its response model). Every change is an ordinary save or
    delete of a definition row, so the app's signals change the table and
    refresh the admin; the designer then shows the admin's changelist as the
    admin itself renders it (through ``client``, a logged-in test client).
    Use it as a widget, or from code: :meth:`add_field`,
    :meth:`rename_field`, :meth:`remove_field`, :meth:`changelist`.
    """

    def __init__(self, survey: Any, client: Any, *, changelist_url: str | None = None) -> None:
        """Design ``survey``'s response model; ``client`` fetches its admin changelist."""
        import ipywidgets as w

        from helpers.dynamic.dynamic_models import FIELD_TYPES

        self.survey, self.client = survey, client
        self.url = changelist_url or f"/admin/{survey._meta.app_label}/response_{survey.name}/"
        self.message = ""
        self._name = w.Text(placeholder="new field name", description="Field")
        self._type = w.Dropdown(options=sorted(FIELD_TYPES), value="text", description="Type")
        self._add = w.Button(description="Add field", icon="plus", button_style="primary")
        self._pick = w.Dropdown(description="Field")
        self._new_name = w.Text(placeholder="new name", description="Rename to")
        self._rename = w.Button(description="Rename", icon="pencil")
        self._remove = w.Button(description="Remove", icon="trash", button_style="danger")
        self._message = w.HTML()
        self._admin = w.HTML()
        self._add.on_click(lambda _: self._act(self.add_field, self._name.value, self._type.value))
        self._rename.on_click(lambda _: self._act(self.rename_field, self._pick.value, self._new_name.value))
        self._remove.on_click(lambda _: self._act(self.remove_field, self._pick.value))
        self.widget = w.VBox(
            [
                w.HTML(f"<b>Response model of survey <code>{html.escape(survey.name)}</code></b>"),
                w.HBox([self._name, self._type, self._add]),
                w.HBox([self._pick, self._new_name, self._rename, self._remove]),
                self._message,
                w.HTML("<b>Its admin changelist, as the admin renders it</b>"),
                self._admin,
            ]
        )
        self.widget.add_class("kit-model-designer")
        self._refresh()

    # -- code interface

    def fields(self) -> list[tuple[str, str]]:
        """The model's fields as (name, type), in order."""
        return [(q.name, q.field_type) for q in self.survey.questions.order_by("position", "id")]

    def _question(self, name: str) -> Any:
        found = self.survey.questions.filter(name=name).first()
        if found is None:
            names = ", ".join(n for n, _ in self.fields()) or "none"
            raise DesignerError(f"No field {name!r} in {self.survey.name}; its fields: {names}.")
        return found

    def add_field(self, name: str, field_type: str = "text") -> ModelDesigner:
        """Add a field (a question) at the end; the table and the admin follow."""
        last = self.survey.questions.order_by("-position").first()
        self.survey.questions.create(
            name=name, field_type=field_type, position=(last.position + 1) if last else 1
        )
        self.message = f"added {name} ({field_type})"
        self._refresh()
        return self

    def rename_field(self, old: str, new: str) -> ModelDesigner:
        """Rename a field: its column is renamed, its values kept."""
        question = self._question(old)
        question.name = new
        question.save()
        self.message = f"renamed {old} to {new}"
        self._refresh()
        return self

    def remove_field(self, name: str) -> ModelDesigner:
        """Remove a field and its column."""
        self._question(name).delete()
        self.message = f"removed {name}"
        self._refresh()
        return self

    def changelist(self) -> tuple[int, list[str]]:
        """The admin changelist's HTTP status and its columns (checkbox excluded)."""
        from helpers.dynamic.dynamic_admin import changelist_columns

        page = self.client.get(self.url)
        return page.status_code, changelist_columns(page.content) if page.status_code == 200 else []

    def press(self, button: str, *values: str) -> ModelDesigner:
        """Fill the form with ``values`` and press ``button``, as a person would.

        ``press("Add field", name, type)``, ``press("Rename", old, new)``,
        ``press("Remove", name)``. Unlike the methods above, a refused change
        is shown in the form (as the widget shows it), not raised.
        """
        actions = {"Add field": (self.add_field, [self._name, self._type]),
                   "Rename": (self.rename_field, [self._pick, self._new_name]),
                   "Remove": (self.remove_field, [self._pick])}  # fmt: skip
        if button not in actions:
            raise DesignerError(f"No button {button!r}; the buttons are {', '.join(actions)}.")
        action, controls = actions[button]
        for control, value in zip(controls, values, strict=False):
            if hasattr(control, "options") and value not in control.options:
                continue  # an unknown field: the action itself says so
            control.value = value
        self._act(action, *values)
        return self

    # -- widget plumbing

    def _act(self, action: Any, *args: str) -> None:
        try:
            action(*args)
        except Exception as exc:  # shown in the form, as a form shows its errors
            problems = getattr(exc, "messages", None) or [str(exc)]
            self.message = "refused: " + " ".join(problems)
            self._refresh()

    def _refresh(self) -> None:
        fields = self.fields()
        self._pick.options = [n for n, _ in fields]
        style = "color:#a00" if self.message.startswith("refused") else "color:#264"
        self._message.value = f'<span style="{style}">{html.escape(self.message)}</span>'
        page = self.client.get(self.url)
        table = _RESULT_LIST.search(page.content.decode()) if page.status_code == 200 else None
        if table:
            self._admin.value = table.group(0)
        elif page.status_code == 200:
            self._admin.value = "<p>HTTP 200, no rows yet: the admin shows no table until there is one.</p>"
        else:
            self._admin.value = f"<p>HTTP {page.status_code}</p>"

    def __repr__(self) -> str:
        status, columns = self.changelist()
        fields = ", ".join(f"{n} ({t})" for n, t in self.fields()) or "none"
        lines = [f"Model designer: survey {self.survey.name}", f"  fields: {fields}"]
        if self.message:
            lines.append(f"  last change: {self.message}")
        lines.append(f"  admin changelist: HTTP {status}, columns {columns}")
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle


def _pre(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


class Progress:
    """A progress bar: a widget in a notebook, a line on standard error elsewhere.

    What it shows at the end is deterministic (no rates, no times), so a
    notebook that uses it can be compared strictly.
    """

    def __init__(self, total: int, description: str) -> None:
        """Prepare a bar for ``total`` steps labelled ``description``."""
        self.total = max(int(total), 1)
        self.description = description
        self.done = 0
        self._last_draw = 0.0
        self._bar: Any = None
        try:
            from IPython import get_ipython

            shell = get_ipython()
            in_notebook = shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
        except ImportError:
            in_notebook = False
        if in_notebook:
            import ipywidgets as w
            from IPython.display import display

            self._bar = w.IntProgress(value=0, max=self.total, description=description[:20])
            self._label = w.Label(f"0 / {self.total:,}")
            box = w.HBox([self._bar, self._label])
            box.add_class("kit-progress")
            display(_Quiet(box, f"{description}: {self.total:,} steps"))

    def advance(self, steps: int = 1) -> None:
        """Record ``steps`` more steps done."""
        self.done = min(self.done + steps, self.total)
        now = time.monotonic()
        if self.done < self.total and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        if self._bar is not None:
            self._bar.value = self.done
            self._label.value = f"{self.done:,} / {self.total:,}"
        else:
            percent = 100 * self.done // self.total
            sys.stderr.write(f"\r{self.description}: {percent:3d}% ({self.done:,}/{self.total:,})")
            if self.done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    def finish(self) -> None:
        """Mark every step done."""
        if self.done < self.total:
            self.advance(self.total - self.done)


class _Quiet:
    """Display a widget with a fixed plain-text form."""

    def __init__(self, widget: Any, text: str) -> None:
        self.widget, self.text = widget, text

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self.text
        return bundle


@contextmanager
def progress(total: int, description: str) -> Iterator[Progress]:
    """A progress bar for ``total`` steps, completed when the block ends without error."""
    bar = Progress(total, description)
    yield bar
    bar.finish()

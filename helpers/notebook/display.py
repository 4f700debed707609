"""How the kit's results look in a notebook.

Small value objects with a plain-text representation (and an HTML one for
tables) that is the same on every machine, so that notebooks committed with
their outputs can be checked strictly by nbval:

* :class:`CommandResult`: a ``manage.py`` command, its output and exit status;
* :class:`Diff`: a unified diff of a file edit;
* :class:`FileView`: a file or a folder listing;
* :class:`Table`: rows from the database;
* :class:`Verdict`: what an exercise's check cell says.

Plumbing for notebooks only: the technique modules do not import it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "CommandResult",
    "Diff",
    "FileView",
    "Table",
    "Verdict",
    "check",
    "migration_picture",
    "models_picture",
]


@dataclass
class CommandResult:
    """What a command printed and how it exited."""

    command: str
    returncode: int
    stdout: str
    stderr: str
    input: str | None = None

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0."""
        return self.returncode == 0

    @property
    def output(self) -> str:
        """Standard output followed by standard error."""
        return self.stdout + self.stderr

    def check(self) -> CommandResult:
        """Return self, or raise ``CommandError`` with the output when the command failed."""
        if not self.ok:
            from django.core.management import CommandError

            raise CommandError(f"`{self.command}` exited with status {self.returncode}:\n{self.output}")
        return self

    def __repr__(self) -> str:
        parts = [f"$ {self.command}"]
        if self.input:
            answers = " ".join(repr(a) for a in self.input.splitlines())
            parts.append(f"  (answers typed at the prompts: {answers})")
        if self.stdout:
            parts.append(self.stdout.rstrip("\n"))
        if self.stderr:
            parts.append(self.stderr.rstrip("\n"))
        if self.returncode:
            parts.append(f"[exit status {self.returncode}]")
        return "\n".join(parts)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@dataclass
class Diff:
    """The change made to one file (``before`` None: created; ``after`` None: deleted)."""

    path: str
    before: str | None
    after: str | None

    @property
    def text(self) -> str:
        """The unified diff."""
        old = (self.before or "").splitlines(keepends=True)
        new = (self.after or "").splitlines(keepends=True)
        lines = difflib.unified_diff(
            old,
            new,
            fromfile="/dev/null" if self.before is None else f"a/{self.path}",
            tofile="/dev/null" if self.after is None else f"b/{self.path}",
            n=2,
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    def __repr__(self) -> str:
        return self.text.rstrip("\n") or f"(no change to {self.path})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@dataclass
class FileView:
    """A file's text (or a folder listing) under a title line."""

    path: str
    text: str
    lines: tuple[int, int] | None = None

    def __repr__(self) -> str:
        body = self.text.splitlines()
        header = f"# {self.path}"
        if self.lines:
            first, last = self.lines
            body = body[first - 1 : last]
            header += f" (lines {first}-{last})"
        return "\n".join([header, *body])

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes | memoryview):
        return "<binary>"
    return str(value)


@dataclass
class Table:
    """Rows with named columns, shown like ``psql`` does (text) and as an HTML table."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    title: str | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Any:
        return iter(self.rows)

    def column(self, name: str) -> list[Any]:
        """The values of one column."""
        index = list(self.columns).index(name)
        return [row[index] for row in self.rows]

    def mapping(self, key: str, value: str) -> dict[Any, Any]:
        """A dictionary from one column's values to another's (e.g. column name to type)."""
        return dict(zip(self.column(key), self.column(value), strict=True))

    def as_dicts(self) -> list[dict[str, Any]]:
        """The rows as dictionaries keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def __repr__(self) -> str:
        cells = [[_cell(v) for v in row] for row in self.rows]
        widths = [len(c) for c in self.columns]
        for row in cells:
            widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
        lines = []
        if self.title:
            lines.append(self.title)
        lines.append(" | ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True)).rstrip())
        lines.append("-+-".join("-" * w for w in widths))
        lines.extend(
            " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
        )
        lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        count = f"<p>({len(self.rows)} row{'s' if len(self.rows) != 1 else ''})</p>"
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{count}"


@dataclass
class Verdict:
    """What an exercise's check cell says: right, or not yet and why."""

    passed: bool
    message: str
    details: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        mark = "✅ Correct" if self.passed else "❌ Not yet"
        return "\n".join([f"{mark}: {self.message}", *(f"   - {d}" for d in self.details)])

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def check(passed: bool, success: str, hint: str, details: Sequence[str] = ()) -> Verdict:
    """Return the verdict of an exercise: ``success`` when ``passed``, else ``hint``."""
    return Verdict(bool(passed), success if passed else hint, list(details))


MAX_TRACEBACK_LINES = 30
"""The most lines a traceback may take in a notebook (kernel or ``manage.py``)."""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A frame of an installed package or of Python itself: a placeholder path, or any path into a
# ``lib/python3.N`` folder (IPython may write the home folder as ``~``).
_LIBRARY_CHUNK = re.compile(
    r'^\s*File "?(<(site-packages|python|venv|frozen[^>]*)>|[^\n,]*/lib/python3\.\d+/)'
)


def cap_lines(lines: Sequence[str], limit: int = MAX_TRACEBACK_LINES) -> list[str]:
    """At most ``limit`` lines: the beginning and the end (where the error is), the middle counted."""
    lines = list(lines)
    if len(lines) <= limit:
        return lines
    tail = limit // 2
    head = limit - tail - 1
    return [*lines[:head], f"[... {len(lines) - head - tail} more lines ...]", *lines[len(lines) - tail:]]


def fold_traceback(chunks: Sequence[str], limit: int = MAX_TRACEBACK_LINES) -> list[str]:
    """Fold the library frames of an IPython traceback and keep it within ``limit`` lines.

    ``chunks`` is IPython's structured traceback (one string per header, frame
    and exception, colours included). Each run of frames in installed packages
    or in Python itself becomes one line saying how many, as ``manage.py``
    output is condensed; the notebook's cells and the project's files stay.
    Returns the lines to show.
    """
    kept: list[str] = []
    hidden = 0
    for chunk in chunks:
        if _LIBRARY_CHUNK.match(_ANSI.sub("", chunk)):
            hidden += 1
            continue
        if hidden:
            kept.append(f"[... {hidden} frame{'s' if hidden > 1 else ''} in Django and Python ...]")
            hidden = 0
        kept.append(chunk.rstrip("\n"))
    if hidden:
        kept.append(f"[... {hidden} frame{'s' if hidden > 1 else ''} in Django and Python ...]")
    return cap_lines("\n".join(kept).splitlines(), limit)


def install_notebook_error_display(
    sanitize: Callable[[str], str], brief: tuple[type[BaseException], ...] = ()
) -> None:
    """In IPython, show errors with this machine's paths replaced, folded, and kit errors briefly.

    An exception of a ``brief`` type (the sandbox passes ``SandboxError``) is
    a short message about a mistake in a sandbox call, so it is shown without
    a traceback; any other exception keeps its traceback, with paths such as
    the sandbox folder replaced by placeholders so that committed notebooks are
    the same on every machine, and Django's and Python's frames folded
    (:func:`fold_traceback`) so that it takes at most ``MAX_TRACEBACK_LINES``.
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    def handler(shell: Any, etype: type, evalue: BaseException, tb: Any, tb_offset: Any = None) -> Any:
        if brief and issubclass(etype, brief):
            stb = [f"{etype.__name__}: {sanitize(str(evalue))}"]
        else:
            chunks = shell.InteractiveTB.structured_traceback(etype, evalue, tb, tb_offset=tb_offset)
            stb = fold_traceback([sanitize(chunk) for chunk in chunks])
        shell._showtraceback(etype, evalue, stb)
        return stb

    shell.set_custom_exc((Exception,), handler)


def _picture(sandbox: Any, command: str, apps: tuple[str, ...], kind: Any) -> Any:
    """Run a picture command in the sandbox (``--format json``) and rebuild its picture."""
    result = sandbox.run(command, *apps, "--format", "json")
    if not result.ok:
        raise sandbox.Error(result.stderr.strip().splitlines()[-1] if result.stderr else repr(result))
    return kind.from_json(result.stdout)


def models_picture(sandbox: Any, *apps: str) -> Any:
    """A picture of the models of ``apps`` in a sandbox, as its code stands now.

    Runs ``manage.py model_diagram ... --format json`` in the sandbox (a fresh
    interpreter, so it sees every edit) and returns a
    :class:`helpers.analysis.model_diagram.ModelDiagram`, which shows as SVG in Jupyter.
    """
    from helpers.analysis.model_diagram import ModelDiagram

    return _picture(sandbox, "model_diagram", apps, ModelDiagram)


def migration_picture(sandbox: Any, *apps: str) -> Any:
    """A picture of the migration graph of ``apps`` in a sandbox, as its files stand now.

    Runs ``manage.py migration_graph ... --format json`` in the sandbox and
    returns a :class:`helpers.analysis.migration_graph.MigrationGraphPicture`, which
    shows as SVG in Jupyter (conflicts, merges, squashed migrations marked).
    """
    from helpers.analysis.migration_graph import MigrationGraphPicture

    return _picture(sandbox, "migration_graph", apps, MigrationGraphPicture)

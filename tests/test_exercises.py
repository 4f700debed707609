"""Every chapter's exercise check rejects wrong answers, and accepts the solution.

For each chapter with an exercise (a hidden cell tagged ``solution`` between two
cells tagged ``check``), the notebook runs in a fresh kernel up to that
solution cell. Then each wrong answer of ``tests/exercise_answers/NN.py``
(``WRONG_ANSWERS: dict[str, str]``, at least "empty", "shortcut", "mistake")
runs in place of the solution, followed by the check cell after it: its
verdict (the ``helpers.notebook.display.Verdict`` the cell shows, read from ``Out``)
must be failing. Last, the real solution must pass.

Each answer must start from the state before the solution. Re-running the
notebook in a new kernel per answer would be the simplest way, and is what
happens for chapters that load Django into the kernel or run servers. For the
others the kernel takes a snapshot once the notebook reached the solution:
every open sandbox's folder (files and SQLite database) is copied, each
PostgreSQL sandbox database is copied with ``CREATE DATABASE ... TEMPLATE`` (a MySQL one table by table),
and the notebook's variables are remembered; before each answer everything is
put back. ``test_snapshot_restores_files_database_and_variables`` proves that.

Chapters whose wrong answers are not written yet are skipped with the reason
while ``REQUIRE_ALL`` is False; the lead flips it once every chapter has them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

from helpers.notebook.sandbox import mysql_available, postgres_available

REQUIRE_ALL = True  # True: a chapter with an exercise but no wrong answers fails

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ANSWERS = Path(__file__).resolve().parent / "exercise_answers"
REQUIRED_KEYS = ("empty", "shortcut", "mistake")
MARK = "__EXERCISE_VERDICT__"
# KIT_EXERCISES_FRESH_KERNELS=1: no snapshot, the notebook runs again in a new kernel per answer
FRESH_KERNELS = os.environ.get("KIT_EXERCISES_FRESH_KERNELS") == "1"


def _tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _exercise_notebooks() -> dict[str, Path]:
    found = {}
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any("solution" in _tags(c) for c in nb.cells if c.cell_type == "code"):
            found[path.name[:2]] = path
    return found


CHAPTERS = _exercise_notebooks()


def _answers_module(chapter: str) -> ModuleType | None:
    path = ANSWERS / f"{chapter}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"exercise_answers_{chapter}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cases() -> list:
    cases = []
    for chapter in CHAPTERS:
        module = _answers_module(chapter)
        answers = getattr(module, "WRONG_ANSWERS", {}) if module else {}
        for name in answers:
            cases.append(pytest.param(chapter, name, id=f"{chapter}-{name}"))
        cases.append(pytest.param(chapter, None, id=f"{chapter}-solution"))
    return cases


# --- what runs inside the kernel -------------------------------------------------------

KERNEL_HELPERS = r'''
def __exercise_snapshot():
    """Copy every open sandbox (folder, database) and remember the variables; None if unsafe."""
    import os, secrets, shutil, tempfile
    from pathlib import Path
    import django.apps
    from helpers.notebook import sandbox as kit

    boxes = [b for b in kit._notebook_sandboxes if not b._closed]
    if django.apps.apps.ready or any(getattr(b, "_servers", None) for b in boxes):
        return None  # state outside the sandboxes: a fresh kernel per answer instead
    token = f"{os.getpid()}_{secrets.token_hex(4)}"
    saved = []
    for i, box in enumerate(boxes):
        box._close_connection()
        folder = Path(tempfile.mkdtemp(prefix=f"{kit.SANDBOX_PREFIX}{token}_snapshot{i}_"))
        shutil.copytree(box.root, folder, symlinks=True, dirs_exist_ok=True)
        copy = None
        if box.db.server_url:
            copy = f"{kit.PG_DATABASE_PREFIX}{token}_snapshot{i}"
            kit._copy_server_database(box.db.backend, box.db.server_url, box.db.name, copy)
        saved.append((box, folder, copy, dict(vars(box))))
    return saved, dict(get_ipython().user_ns), list(kit._notebook_sandboxes)


def __exercise_restore(snapshot):
    """Put back what __exercise_snapshot saved: folders, databases, sandboxes, variables."""
    import re, shutil
    from helpers.notebook import sandbox as kit

    saved, names, boxes = snapshot
    for box in kit._notebook_sandboxes:
        if box not in boxes:
            box.close()
    kit._notebook_sandboxes[:] = boxes
    for box, folder, copy, attrs in saved:
        if box._closed:
            raise RuntimeError("the answer closed a sandbox: its state cannot be restored")
        box.stop_servers()
        box._close_connection()
        for child in box.root.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        shutil.copytree(folder, box.root, symlinks=True, dirs_exist_ok=True)
        if copy:
            box.db.drop()
            kit._copy_server_database(box.db.backend, box.db.server_url, copy, box.db.name)
        box.__dict__.clear()
        box.__dict__.update(attrs)
    ns = get_ipython().user_ns
    keep = re.compile(r"_+|_\d+|_i+\d*|In|Out|_oh|_ih|_dh|exit|quit|get_ipython|__exercise_\w+")
    for name in list(ns):
        if name not in names and not keep.fullmatch(name):
            del ns[name]
    ns.update({k: v for k, v in names.items() if not keep.fullmatch(k)})


def __exercise_drop_snapshot(snapshot):
    import shutil
    from helpers.notebook import sandbox as kit

    for box, folder, copy, attrs in snapshot[0]:
        shutil.rmtree(folder, ignore_errors=True)
        if copy:
            kit._drop_server_database(box.db.backend, box.db.server_url, copy)
'''

VERDICT_PROBE = """
import json as __exercise_json
from helpers.notebook.display import Verdict as __exercise_Verdict
__exercise_v = Out.get({count})
print({mark!r} + __exercise_json.dumps({{
    "is_verdict": isinstance(__exercise_v, __exercise_Verdict),
    "passed": bool(getattr(__exercise_v, "passed", False)),
    "shown": repr(__exercise_v)[:1000],
}}))
"""


def _stream_text(cell: dict) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def _errors(cell: dict) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}"[:500] for o in cell.outputs if o.get("output_type") == "error"]


class ChapterRun:
    """One chapter's notebook in a kernel, stopped just before its solution cell."""

    def __init__(self, chapter: str) -> None:
        self.chapter = chapter
        self.path = CHAPTERS[chapter]
        nb = nbformat.read(self.path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        self.solution_index = next(i for i, c in enumerate(code) if "solution" in _tags(c))
        checks_after = [c for c in code[self.solution_index + 1 :] if "check" in _tags(c)]
        if not checks_after:
            raise AssertionError(f"chapter {chapter}: no cell tagged 'check' after the solution")
        self.prefix = code[: self.solution_index]
        self.solution = code[self.solution_index].source
        self.check = checks_after[0].source
        self.client = None
        self.snapshot = False  # False: not taken; None: not possible (fresh kernel per answer)
        self.used = False

    # -- kernel

    def _new_client(self) -> None:
        from nbclient import NotebookClient

        self.close()
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        self.client = NotebookClient(
            nb, timeout=900, kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOKS)}},
        )  # fmt: skip
        self.client.create_kernel_manager()
        self.client.start_new_kernel()
        self.client.start_new_kernel_client()

    def run(self, source: str, *, allow_errors: bool = False) -> dict:
        """Execute one cell's source in the kernel; return the executed cell."""
        cell = nbformat.v4.new_code_cell(source)
        if allow_errors:
            cell.metadata["tags"] = ["raises-exception"]
        self.client.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.client.nb.cells) - 1)
        return cell

    def _prefix(self) -> None:
        self._new_client()
        pg, my = postgres_available(), mysql_available()
        try:
            for cell in self.prefix:
                if ("postgresql" in _tags(cell) and not pg) or ("mysql" in _tags(cell) and not my):
                    continue  # as the suite does: skipped without a server
                if "sqlite" in _tags(cell) and os.environ.get("KIT_BACKEND") in ("postgresql", "mysql"):
                    continue  # as the suite does: SQLite's own behaviour, skipped on PostgreSQL
                self.run(cell.source, allow_errors="raises-exception" in _tags(cell))
        except BaseException:
            self.close()  # never answer from a notebook that stopped half-way
            raise
        self.run(KERNEL_HELPERS)
        probe = self.run("__exercise_state = __exercise_snapshot()\nprint(__exercise_state is not None)")
        self.snapshot = _stream_text(probe).strip().endswith("True") and not FRESH_KERNELS
        self.used = False

    def before_solution(self) -> None:
        """Bring the kernel to the state just before the solution cell."""
        if self.client is None:
            self._prefix()
        elif self.used and self.snapshot:
            self.run("__exercise_restore(__exercise_state)")
        elif self.used:
            self._prefix()
        self.used = True

    def verdict(self, answer: str) -> dict:
        """Run ``answer`` in place of the solution, then the check; return its verdict."""
        self.before_solution()
        answered = self.run(answer, allow_errors=True)
        checked = self.run(self.check, allow_errors=True)
        problems = _errors(checked)
        probe = self.run(VERDICT_PROBE.format(count=checked.execution_count, mark=MARK))
        line = next(x for x in _stream_text(probe).splitlines() if x.startswith(MARK))
        result = json.loads(line[len(MARK) :])
        result["check_errors"] = problems
        result["answer_errors"] = _errors(answered)
        return result

    def close(self) -> None:
        if self.client is not None:
            if self.snapshot:
                # Best effort: the sandbox's sweep of leftovers removes what a dead kernel left.
                with contextlib.suppress(Exception):
                    self.run("__exercise_drop_snapshot(__exercise_state)")
            try:
                self.client._cleanup_kernel()
            finally:
                self.client = None


@pytest.fixture(scope="module")
def chapter_run():
    """A factory giving the chapter's run; one kernel alive at a time (tests come in order)."""
    current: dict[str, ChapterRun] = {}

    def get(chapter: str) -> ChapterRun:
        if chapter not in current:
            for run in current.values():
                run.close()
            current.clear()
            current[chapter] = ChapterRun(chapter)
        return current[chapter]

    yield get
    for run in current.values():
        run.close()


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_chapter_has_wrong_answers(chapter):
    module = _answers_module(chapter)
    if module is None:
        message = f"chapter {chapter} has an exercise but no wrong answers (tests/exercise_answers/{chapter}.py)"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)
    answers = getattr(module, "WRONG_ANSWERS", None)
    assert isinstance(answers, dict), f"tests/exercise_answers/{chapter}.py defines no WRONG_ANSWERS dict"
    missing = [k for k in REQUIRED_KEYS if k not in answers]
    assert not missing, f"chapter {chapter}: WRONG_ANSWERS lacks {', '.join(missing)}"
    assert all(isinstance(v, str) for v in answers.values())


@pytest.mark.parametrize(("chapter", "answer"), _cases())
def test_exercise_check(chapter_run, chapter, answer):
    run = chapter_run(chapter)
    if answer is None:
        result = run.verdict(run.solution)
        assert not result["answer_errors"], f"chapter {chapter}: the solution raised {result['answer_errors']}"
    else:
        result = run.verdict(_answers_module(chapter).WRONG_ANSWERS[answer])
    assert not result["check_errors"], f"chapter {chapter}: the check cell raised {result['check_errors']}"
    assert result["is_verdict"], f"chapter {chapter}: the check cell shows no Verdict: {result['shown']}"
    if answer is None:
        assert result["passed"], f"chapter {chapter}: the solution is rejected: {result['shown']}"
    else:
        assert not result["passed"], f"chapter {chapter}: wrong answer {answer!r} is accepted: {result['shown']}"


# --- the snapshot itself ----------------------------------------------------------------

SNAPSHOT_CELLS = [
    'from helpers.notebook import start; sb = start("authors", "books")',
    'sb.run("migrate", "--verbosity", "0").check(); kept = "before"',
]
DAMAGE = """
sb.write("books/extra.py", "X = 1\\n")
sb.edit("books/models.py", "max_length=100", "max_length=120")
sb.run("migrate", "books", "zero", "--verbosity", "0").check()
kept = "after"; added = 1
"""
STATE = """
import hashlib, json
files = sorted(str(p.relative_to(sb.root)) for p in sb.root.rglob("*") if p.is_file() and p.name != "db.sqlite3")
digest = hashlib.sha256(sb.read("books/models.py").encode()).hexdigest()
print("STATE" + json.dumps([files, digest, sb.applied().column("name"), sb.tables().column("table"),
                            kept, "added" in dir()]))
"""


def test_snapshot_restores_files_database_and_variables(tmp_path, monkeypatch):
    path = tmp_path / "99_snapshot.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in SNAPSHOT_CELLS]
    nb.cells.append(nbformat.v4.new_code_cell("# solution", metadata={"tags": ["solution"]}))
    nb.cells.append(nbformat.v4.new_code_cell("from helpers.notebook.display import check; check(True, '', '')",
                                              metadata={"tags": ["check"]}))
    nbformat.write(nb, path)
    monkeypatch.setitem(CHAPTERS, "99", path)
    run = ChapterRun("99")
    try:
        if FRESH_KERNELS:
            pytest.skip("KIT_EXERCISES_FRESH_KERNELS=1: no snapshot is taken")
        run.before_solution()
        assert run.snapshot, "the snapshot was not taken"

        def state() -> list:
            out = _stream_text(run.run(STATE))
            return json.loads(next(x for x in out.splitlines() if x.startswith("STATE"))[5:])

        before = state()
        run.run(DAMAGE)
        damaged = state()
        assert damaged != before and damaged[2] != before[2]  # the damage is real
        run.before_solution()
        assert state() == before
    finally:
        run.close()

"""Hygiene of the committed notebooks, and proof that nbval checks them strictly.

nbval itself executes every notebook (see ``kit.py test``); these tests check
what nbval does not: how the notebooks are committed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.notebook.display import MAX_TRACEBACK_LINES
from helpers.notebook.sandbox import traceback_span

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SANDBOX_LINE = re.compile(r"from helpers\.notebook import start; sb = start\([^\n]*\)")
MACHINE_PATH = re.compile(r"/tmp/|/work/|/root/|/home/|/Users/|site-packages/|\.venv/")
DJANGO_DOCS = "https://docs.djangoproject.com/en/5.2/"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REQUIRED_HEADINGS = ("learning goals", "what can go wrong", "exercise", "recap")


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    return "".join(cell["source"])


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def traceback_outputs(cell: dict) -> list[list[str]]:
    """The tracebacks a cell shows, as lines: its error outputs, and tracebacks in printed text."""
    found = []
    for output in cell["outputs"]:
        if output["output_type"] == "error":
            found.append(ANSI.sub("", "\n".join(output["traceback"])).splitlines())
            continue
        text = output.get("text") or output.get("data", {}).get("text/plain", "")
        lines = ANSI.sub("", "".join(text)).splitlines()
        span = traceback_span(lines)
        if span:
            found.append(lines[span[0]:span[1] + 1])
    return found


def test_there_are_notebooks():
    assert [p.name[:3] for p in NOTEBOOKS][:2] == ["00_", "01_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
class TestNotebookHygiene:
    def test_name_and_kernel(self, path):
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name)
        assert load(path)["metadata"]["kernelspec"]["name"] == "python3"

    def test_first_code_cell_starts_the_sandbox(self, path):
        first = source(code_cells(load(path))[0]).strip()
        assert SANDBOX_LINE.fullmatch(first), f"first code cell is {first!r}"
        for cell in code_cells(load(path)):
            assert "sys.path" not in source(cell)

    def test_executed_top_to_bottom_in_one_kernel(self, path):
        counts = [c["execution_count"] for c in code_cells(load(path))]
        assert counts == list(range(1, len(counts) + 1))

    def test_errors_only_where_expected_and_expected_errors_happen(self, path):
        for index, cell in enumerate(code_cells(load(path)), 1):
            errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
            if "raises-exception" in tags(cell):
                assert errors, f"code cell {index} is marked raises-exception but did not raise"
            else:
                assert not errors, f"code cell {index} raised {errors[0]['ename']} unexpectedly"

    def test_outputs_show_no_machine_paths(self, path):
        for index, cell in enumerate(code_cells(load(path)), 1):
            text = json.dumps(cell["outputs"])
            match = MACHINE_PATH.search(text)
            assert not match, f"code cell {index} shows a machine path near {text[max(0, match.start() - 40):match.end() + 40]!r}"

    def test_structure_title_goals_pitfalls_exercise_recap(self, path):
        nb = load(path)
        assert nb["cells"][0]["cell_type"] == "markdown"
        assert source(nb["cells"][0]).startswith("# ")
        headings = [
            line.lstrip("#").strip().lower()
            for cell in nb["cells"] if cell["cell_type"] == "markdown"
            for line in source(cell).splitlines() if line.startswith("#")
        ]
        for wanted in REQUIRED_HEADINGS:
            assert any(wanted in h for h in headings), f"no heading about {wanted!r}"
        assert "source" in source(nb["cells"][0]).lower(), "the first cell names its source document"

    def test_an_exercise_is_checked_and_its_solution_passes(self, path):
        checks = [c for c in code_cells(load(path)) if "check" in tags(c)]
        assert checks, "no cell tagged 'check'"
        shown = json.dumps([o for c in checks for o in c["outputs"]], ensure_ascii=False)
        assert "✅ Correct" in shown, "no check cell shows a correct answer (run the solution)"

    def test_first_markdown_cell_links_the_django_docs_of_the_version_it_runs(self, path):
        first = next(c for c in load(path)["cells"] if c["cell_type"] == "markdown")
        assert DJANGO_DOCS in source(first), f"the first markdown cell links no page under {DJANGO_DOCS}"

    def test_no_traceback_shown_is_longer_than_30_lines(self, path):
        for index, cell in enumerate(code_cells(load(path)), 1):
            for shown in traceback_outputs(cell):
                assert len(shown) <= MAX_TRACEBACK_LINES, (
                    f"code cell {index} shows a traceback of {len(shown)} lines (at most {MAX_TRACEBACK_LINES}): "
                    f"fold it (helpers/notebook/display.py fold_traceback, sandbox condense_tracebacks)")

    def test_every_code_cell_is_small(self, path):
        for index, cell in enumerate(code_cells(load(path)), 1):
            lines = source(cell).strip().splitlines()
            assert len(lines) <= 15 or "solution" in tags(cell), f"code cell {index} has {len(lines)} lines: move plumbing to helpers/"


STRICT_NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
         "source": 'from helpers.notebook import start; sb = start("authors")'},
        {"cell_type": "code", "execution_count": 2, "metadata": {},
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "OUTPUT\n"}],
         "source": "print(sb.show('authors/migrations/0001_initial.py', lines=(1, 1)))"},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def run_nbval(tmp_path: Path, committed_output: str) -> subprocess.CompletedProcess:
    nb = json.loads(json.dumps(STRICT_NOTEBOOK))
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout",
                                   "text": "Sandbox ready: apps authors on sqlite.\n"}]
    nb["cells"][1]["outputs"][0]["text"] = committed_output
    path = tmp_path / "strict.ipynb"
    path.write_text(json.dumps(nb))
    env = {k: v for k, v in __import__("os").environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:django",
         "--nbval", "--nbval-current-env", f"--nbval-sanitize-with={ROOT / 'tests' / 'nbval_sanitize.cfg'}",
         "--rootdir", str(tmp_path), str(path)],
        cwd=tmp_path, capture_output=True, text=True, env=env, check=False,
    )


def test_nbval_is_strict_but_ignores_what_legitimately_varies(tmp_path):
    # The header's Django version and date differ from the real ones: sanitized, so it passes.
    header = "# authors/migrations/0001_initial.py (lines 1-1)\n# Generated by Django 4.0.1 on 1999-01-01 00:00\n"
    passed = run_nbval(tmp_path, header)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    # Anything else that differs is a failure.
    changed = header.replace("(lines 1-1)", "(lines 1-2)")
    failed = run_nbval(tmp_path, changed)
    assert failed.returncode == 1, failed.stdout
    assert "1 failed" in failed.stdout

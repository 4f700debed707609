"""The sandbox: copies, commands, edits, database views, isolation and cleanup."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from helpers.notebook.display import MAX_TRACEBACK_LINES, fold_traceback
from helpers.notebook.sandbox import Sandbox, SandboxError, condense_tracebacks, project_dir, sanitize

BOOK_FIELD = "    published = models.DateField(null=True, blank=True)\n"


def test_copy_has_only_the_chosen_apps_and_never_the_repository(tmp_path):
    with Sandbox(["authors"]) as sb:
        assert (sb.root / "manage.py").is_file()
        assert (sb.root / "authors" / "models.py").is_file()
        assert not (sb.root / "books").exists()
        assert project_dir() not in sb.root.parents
        result = sb.run("showmigrations", "authors")
        assert result.ok, result
        assert "[ ] 0001_initial" in result.stdout
        assert "books" not in sb.run("showmigrations").stdout


def test_unknown_app_is_refused_with_the_known_ones():
    with pytest.raises(SandboxError, match=r"Unknown app 'bookz'.*authors, books"):
        Sandbox(["bookz"])


def test_run_reports_output_and_exit_status(sandbox):
    migrate = sandbox.run("migrate")
    assert migrate.ok
    assert "Applying books.0001_initial... OK" in migrate.stdout
    failed = sandbox.run("migrate", "books", "0009")
    assert failed.returncode == 1
    assert "Cannot find a migration matching '0009'" in failed.stderr
    assert repr(failed).splitlines()[0] == "$ python manage.py migrate books 0009"
    assert repr(failed).splitlines()[-1] == "[exit status 1]"
    with pytest.raises(Exception, match="exited with status 1"):
        failed.check()


def test_unknown_command_raises_and_sandbox_stays_usable(sandbox):
    with pytest.raises(SandboxError, match="Unknown management command 'makemigration'.*makemigrations"):
        sandbox.run("makemigration")
    assert sandbox.run("check").ok


def test_edit_shows_a_diff_and_makemigrations_sees_it(sandbox):
    diff = sandbox.edit("books/models.py", BOOK_FIELD, BOOK_FIELD + "    isbn = models.CharField(max_length=13, blank=True)\n")
    assert "+    isbn = models.CharField(max_length=13, blank=True)" in repr(diff)
    assert repr(diff).startswith("--- a/books/models.py\n+++ b/books/models.py")
    made = sandbox.run("makemigrations", "books", "--name", "book_isbn")
    assert made.ok, made
    assert "books/migrations/0002_book_isbn.py" in made.stdout
    assert "+ Add field isbn to book" in made.stdout
    assert "AddField" in sandbox.read("books/migrations/0002_book_isbn.py")
    assert sandbox.migration_files("books") == ["0001_initial", "0002_book_isbn"]


def test_edit_refuses_missing_or_ambiguous_text_and_changes_nothing(sandbox):
    before = sandbox.read("books/models.py")
    with pytest.raises(SandboxError, match="not found in books/models.py"):
        sandbox.edit("books/models.py", "no such text", "x")
    with pytest.raises(SandboxError, match=r"found \d+ times \(make it unique\)"):
        sandbox.edit("books/models.py", "models.", "x.")
    with pytest.raises(SandboxError, match=r"No file books/modelz.py.*models.py"):
        sandbox.edit("books/modelz.py", "a", "b")
    with pytest.raises(SandboxError, match="outside the sandbox"):
        sandbox.write("../escape.py", "x = 1\n")
    assert sandbox.read("books/models.py") == before


def test_write_rename_delete(sandbox):
    created = sandbox.write("books/notes.py", "NOTE = 1\n")
    assert repr(created).startswith("--- /dev/null\n+++ b/books/notes.py")
    assert sandbox.rename("books/notes.py", "books/remarks.py") == "renamed books/notes.py -> books/remarks.py"
    with pytest.raises(SandboxError, match="already exists"):
        sandbox.rename("books/remarks.py", "books/models.py")
    deleted = sandbox.delete("books/remarks.py")
    assert "+++ /dev/null" in repr(deleted)
    assert not sandbox.path("books/remarks.py").exists()


def test_an_edit_is_seen_even_when_a_stale_bytecode_cache_exists(sandbox):
    # Import the models once in a subprocess that writes bytecode, then make an
    # edit of the same size within the same second: the edit must win.
    env = {**sandbox.env}
    env.pop("PYTHONDONTWRITEBYTECODE")
    subprocess.run([sys.executable, "-c", "import books.models"], cwd=sandbox.root, env=env, check=False)
    sandbox.edit("books/models.py", "max_length=100", "max_length=101")
    assert "Alter field title on book" in sandbox.run("makemigrations", "--dry-run").stdout


def test_database_views(sandbox):
    assert len(sandbox.applied()) == 0
    sandbox.run("migrate").check()
    sandbox.run("loaddata", "authors", "books").check()
    assert "books_book" in sandbox.tables().column("table")
    columns = sandbox.columns("books_book").as_dicts()
    assert [c["column"] for c in columns] == ["id", "title", "published", "author_id"]
    assert columns[0]["primary key"] is True
    assert columns[1]["type"] == "varchar(100)"
    rows = sandbox.rows("books_book", columns=["id", "title"])
    assert rows.rows[0] == (1, "A Wizard of Earthsea")
    assert len(rows) == sandbox.count("books_book") == 5
    assert ("books", "0001_initial") in [tuple(r) for r in sandbox.applied("books")]
    assert "(5 rows)" in repr(rows)
    assert "<td>A Wizard of Earthsea</td>" in rows._repr_html_()
    with pytest.raises(SandboxError, match="No table 'books_bok'.*books_book"):
        sandbox.rows("books_bok")
    with pytest.raises(SandboxError, match="No column 'isbn'"):
        sandbox.rows("books_book", columns=["isbn"])


def test_shell_runs_code_with_the_project_loaded(sandbox):
    sandbox.run("migrate").check()
    sandbox.run("loaddata", "authors").check()
    result = sandbox.shell(
        """
        from authors.models import Author
        print(sorted(Author.objects.values_list("name", flat=True))[0])
        """
    )
    assert result.ok, result
    assert result.stdout.strip().endswith("Octavia E. Butler")


def test_outputs_never_show_machine_paths(sandbox):
    sandbox.write("books/migrations/0002_broken.py", textwrap.dedent("""
        from django.db import migrations

        def boom(apps, schema_editor):
            raise RuntimeError("boom")

        class Migration(migrations.Migration):
            dependencies = [("books", "0001_initial")]
            operations = [migrations.RunPython(boom)]
    """))
    result = sandbox.run("migrate")
    assert result.returncode == 1
    text = repr(result)
    assert str(sandbox.root) not in text
    assert 'File "<sandbox>/books/migrations/0002_broken.py"' in text
    assert "RuntimeError: boom" in text
    assert "frames in Django and Python ...]" in text
    assert "/site-packages/" not in text


def test_condense_tracebacks_keeps_project_frames():
    text = (
        "Traceback (most recent call last):\n"
        '  File "<sandbox>/manage.py", line 22, in <module>\n    main()\n'
        '  File "<site-packages>/django/core/management/__init__.py", line 1, in x\n    y()\n'
        '    ^^^\n'
        '  File "<python>/runpy.py", line 2, in z\n    w()\n'
        '  File "<sandbox>/books/models.py", line 3, in <module>\n    boom()\n'
        "RuntimeError: boom\n"
    )
    assert condense_tracebacks(text) == (
        "Traceback (most recent call last):\n"
        '  File "<sandbox>/manage.py", line 22, in <module>\n    main()\n'
        "  [... 2 frames in Django and Python ...]\n"
        '  File "<sandbox>/books/models.py", line 3, in <module>\n    boom()\n'
        "RuntimeError: boom\n"
    )


def test_sanitize_replaces_site_packages_and_sandbox(tmp_path):
    import django

    django_dir = str(Path(django.__file__).parent)
    assert sanitize(f"{django_dir}/db/x.py and {tmp_path}/a", tmp_path) == (
        "<site-packages>/django/db/x.py and <sandbox>/a"
    )


def test_reset_restores_committed_files_and_empty_database(sandbox):
    sandbox.run("migrate").check()
    sandbox.write("books/extra.py", "X = 1\n")
    sandbox.reset()
    assert not sandbox.path("books/extra.py").exists()
    assert len(sandbox.applied()) == 0
    assert sandbox.run("migrate").ok


def test_parallel_sandboxes_do_not_touch_each_other():
    with Sandbox(["authors", "books"]) as one, Sandbox(["authors", "books"]) as two:
        assert one.root != two.root
        assert one._database_settings() != two._database_settings()
        one.edit("books/models.py", BOOK_FIELD, BOOK_FIELD + "    isbn = models.CharField(max_length=13, default='')\n")
        one.run("makemigrations", "books", "--name", "isbn").check()
        results = {}
        threads = [
            threading.Thread(target=lambda s=s, k=k: results.__setitem__(k, s.run("migrate")))
            for k, s in (("one", one), ("two", two))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results["one"].ok and results["two"].ok
        assert "isbn" in one.columns("books_book").column("column")
        assert "isbn" not in two.columns("books_book").column("column")
        assert two.migration_files("books") == ["0001_initial"]


def _server_databases(backend: str, server_url: str, name: str) -> list:
    """The databases named ``name`` on the server (empty once dropped)."""
    if backend == "mysql":
        from helpers.notebook.sandbox import _mysql_admin_connection

        with _mysql_admin_connection(server_url) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [name])
            return list(cursor.fetchall())
    from helpers.notebook.sandbox import _pg_admin_connection

    with _pg_admin_connection(server_url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchall()


def test_close_removes_folder_and_database_even_after_a_failure():
    sb = Sandbox(["authors"])
    root, db = sb.root, sb.db
    sb.run("migrate").check()
    with pytest.raises(SandboxError):
        sb.edit("authors/models.py", "nope", "x")
    sb.close()
    sb.close()  # twice is fine
    assert not root.exists()
    if db.backend in ("postgresql", "mysql"):
        assert _server_databases(db.backend, db.server_url, db.name) == []
    with pytest.raises(SandboxError, match="closed"):
        sb.run("check")


def test_leftovers_of_a_killed_process_are_swept_at_next_start():
    code = "from helpers.notebook.sandbox import Sandbox; import os; sb = Sandbox(['authors']); print(sb.root, sb.db.name, flush=True); os._exit(0)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    root, name = out.stdout.split()
    assert Path(root).exists(), "a process killed without cleanup leaves its sandbox behind"
    with Sandbox(["authors"]) as sb:
        assert not Path(root).exists()
        if name != "None":
            assert _server_databases(sb.db.backend, sb.db.server_url, "kit_sb_probe") == []
            assert _server_databases(sb.db.backend, sb.db.server_url, sb.db.name) != []  # the query finds one
            assert _server_databases(sb.db.backend, sb.db.server_url, name) == []


def test_manage_py_imports_the_same_helpers_as_this_process(sandbox, tmp_path, monkeypatch):
    # A second copy of `helpers` earlier on an inherited PYTHONPATH must not win in manage.py.
    impostor = tmp_path / "helpers"
    impostor.mkdir()
    (impostor / "__init__.py").write_text("IMPOSTOR = True\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    import helpers

    result = sandbox.shell("import helpers; print(helpers.__file__); print(hasattr(helpers, 'IMPOSTOR'))")
    assert result.ok, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "False"
    assert lines[-2] == sandbox.sanitize(str(Path(helpers.__file__).resolve()))


def test_display_does_not_import_sandbox():
    # helpers/notebook/display.py must not import helpers/notebook/sandbox.py (which imports it): no import cycle.
    import ast

    import helpers.notebook.display as display

    tree = ast.parse(Path(display.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [None])
    }
    assert "helpers.notebook.sandbox" not in imported


def test_a_picture_of_an_unknown_app_is_a_sandbox_error(sandbox):
    from helpers.notebook.display import migration_picture

    with pytest.raises(SandboxError):
        migration_picture(sandbox, "no_such_app")


def test_a_long_manage_py_traceback_is_capped_at_30_lines_keeping_its_error(tmp_path):
    # A real traceback of 40 project frames (nothing to fold), as a manage.py run would print it.
    script = tmp_path / "deep.py"
    calls = "".join(f"def f{i}():\n    f{i + 1}()\n\n\n" for i in range(40))
    script.write_text(calls + "def f40():\n    raise LookupError('bottom reached')\n\n\nprint('before')\nf0()\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
    assert len(proc.stderr.splitlines()) > 40
    text = condense_tracebacks(proc.stdout + proc.stderr)
    lines = text.splitlines()
    assert lines[0] == "before"  # what came before the traceback is kept
    assert len(lines) <= 1 + MAX_TRACEBACK_LINES
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "LookupError: bottom reached"
    assert any(re.fullmatch(r"\[\.\.\. \d+ more lines \.\.\.\]", line) for line in lines)


def test_kernel_tracebacks_fold_library_frames_to_30_lines():
    # IPython's own structured traceback of a real error raised deep inside Django.
    from django.utils.module_loading import import_string
    from IPython.core.ultratb import VerboseTB

    def cell():
        import_string("helpers.no_such_module.Thing")

    try:
        cell()
    except ImportError as exc:
        etype, evalue, tb = type(exc), exc, exc.__traceback__
    chunks = [sanitize(c) for c in VerboseTB(theme_name="nocolor").structured_traceback(etype, evalue, tb)]
    assert sum(len(c.splitlines()) for c in chunks) > MAX_TRACEBACK_LINES  # long before folding
    lines = fold_traceback(chunks)
    text = "\n".join(lines)
    assert len(lines) <= MAX_TRACEBACK_LINES
    assert "cell()" in text  # the caller's frame stays
    assert "<site-packages>/django" not in text and "<python>/" not in text.replace("frames in Django and Python", "")
    assert re.search(r"\[\.\.\. \d+ frames in Django and Python \.\.\.\]", text)
    assert "No module named 'helpers.no_such_module'" in text


def test_the_mysql_backend_without_a_server_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("KIT_MYSQL_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///nowhere.sqlite3")
    with pytest.raises(SandboxError, match="No MySQL server for this sandbox"):
        Sandbox(["authors"], backend="mysql")


def test_a_mysql_copy_keeps_every_row_and_foreign_key():
    from helpers.notebook.sandbox import (
        _copy_server_database,
        _drop_server_database,
        _mysql_admin_connection,
        mysql_available,
    )

    if not mysql_available():
        pytest.skip("needs a MySQL server: set KIT_MYSQL_URL")

    def facts(cursor, name):
        cursor.execute(
            "SELECT table_name, column_name, referenced_table_name FROM information_schema.key_column_usage "
            "WHERE table_schema = %s AND referenced_table_name IS NOT NULL ORDER BY 1, 2", [name])
        fks = cursor.fetchall()
        cursor.execute(f"SELECT id, title, author_id FROM `{name}`.books_book ORDER BY id")
        return fks, cursor.fetchall()

    with Sandbox(["authors", "books"], backend="mysql") as sb:
        sb.run("migrate", "-v0").check()
        sb.run("loaddata", "authors", "books").check()
        copy = sb.db.name + "_copy"
        _copy_server_database("mysql", sb.db.server_url, sb.db.name, copy)
        try:
            with _mysql_admin_connection(sb.db.server_url) as conn, conn.cursor() as cursor:
                original, copied = facts(cursor, sb.db.name), facts(cursor, copy)
            assert len(original[1]) == 5 and ("books_book", "author_id", "authors_author") in original[0]
            assert copied == original
        finally:
            _drop_server_database("mysql", sb.db.server_url, copy)
        assert _server_databases("mysql", sb.db.server_url, copy) == []


def test_hidden_leftovers_and_databases_of_the_project_are_not_copied(tmp_path, monkeypatch):
    # A local run leaves kept harness snapshots and a database next to the project's files.
    project = tmp_path / "project"
    shutil.copytree(project_dir(), project, ignore=shutil.ignore_patterns("__pycache__", ".*", "*.sqlite3"))
    (project / ".migration_harness").mkdir()
    (project / ".migration_harness" / "kept.sqlite3").write_text("x")
    (project / "authors" / ".swp").write_text("x")
    (project / "db.sqlite3").write_text("x")
    monkeypatch.setenv("KIT_PROJECT_DIR", str(project))
    sb = Sandbox(["authors"], backend="sqlite")
    try:
        listing = str(sb.files())
        assert "authors/" in listing and "manage.py" in listing
        assert ".migration_harness" not in listing and ".swp" not in listing
        assert not (sb.root / ".migration_harness").exists()
    finally:
        sb.close()


def test_start_falls_back_to_sqlite_where_the_chapter_says_its_technique_cannot_run(monkeypatch, capsys):
    """``start(..., unsupported=("mysql",))`` on a MySQL pass: a SQLite sandbox, no server asked."""
    from helpers.notebook import sandbox as module

    monkeypatch.setenv("DATABASE_URL", "mysql://kit:kit@127.0.0.1:9/kit")  # no server there: never used
    before = len(module._notebook_sandboxes)
    sb = module.start("authors", unsupported=("mysql",))
    try:
        assert sb.backend == "sqlite"
        assert "Sandbox ready: apps authors on sqlite." in capsys.readouterr().out
    finally:
        sb.close()
        module._notebook_sandboxes.remove(sb)
    for wrong in ("oracle", "sqlite"):
        with pytest.raises(SandboxError, match=f"Cannot leave out '{wrong}' .*SQLite is the fallback"):
            module.start("authors", unsupported=(wrong,))
    # not unsupported there: the MySQL server is asked for, and its absence is a clear error
    with pytest.raises(SandboxError, match=r"Cannot reach the MySQL server at 127\.0\.0\.1:9 .*\.ci/mysql start"):
        module.start("authors", unsupported=("postgresql",))
    assert len(module._notebook_sandboxes) == before  # the failed start left no sandbox behind

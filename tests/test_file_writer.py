"""The all-or-nothing writer: every file of a change lands, or none does."""

from pathlib import Path

import pytest

from helpers.writers.file_writer import WriteError, write_all


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def test_writes_every_file_and_creates_folders(tmp_path):
    written = write_all({tmp_path / "a" / "0001.py": "one\n", tmp_path / "b.py": "two\n"})
    assert written == [tmp_path / "a" / "0001.py", tmp_path / "b.py"]
    assert (tmp_path / "a" / "0001.py").read_text() == "one\n"
    assert (tmp_path / "b.py").read_text() == "two\n"
    assert snapshot(tmp_path).keys() == {"a", "a/0001.py", "b.py"}  # no temporary file left


def test_refuses_existing_target_before_writing_anything(tmp_path):
    (tmp_path / "b.py").write_text("mine\n")
    before = snapshot(tmp_path)
    with pytest.raises(WriteError, match=r"b\.py already exists; nothing was written"):
        write_all({tmp_path / "new" / "a.py": "x", tmp_path / "b.py": "y"})
    assert snapshot(tmp_path) == before


def test_failure_while_writing_leaves_nothing(tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder is needed\n")
    before = snapshot(tmp_path)
    with pytest.raises(WriteError, match=r"Cannot write .*blocker/0002\.py"):
        write_all({tmp_path / "m" / "0001.py": "x", tmp_path / "blocker" / "0002.py": "y"})
    assert snapshot(tmp_path) == before  # the folder m/ made for the first file is gone too


def test_a_folder_in_the_way_is_refused_first(tmp_path):
    (tmp_path / "dir.py").mkdir()
    before = snapshot(tmp_path)
    with pytest.raises(WriteError, match=r"dir\.py: a folder stands there"):
        write_all({tmp_path / "fresh.py": "f", tmp_path / "dir.py": "y"}, overwrite=True)
    assert snapshot(tmp_path) == before


def test_failure_while_moving_into_place_restores_what_was_replaced(tmp_path, monkeypatch):
    # As root no permission makes a rename fail, so the third rename is made to fail (ENOSPC-like).
    import os

    (tmp_path / "keep.py").write_text("old\n")
    before = snapshot(tmp_path)
    real_replace, calls = os.replace, []

    def failing_replace(src, dst):
        calls.append(dst)
        if Path(dst).name == "third.py":
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr("helpers.writers.file_writer.os.replace", failing_replace)
    with pytest.raises(WriteError, match=r"Cannot write .*third\.py: No space left on device"):
        write_all({tmp_path / "keep.py": "new\n", tmp_path / "fresh.py": "f", tmp_path / "third.py": "y"}, overwrite=True)
    monkeypatch.undo()
    assert snapshot(tmp_path) == before
    assert (tmp_path / "keep.py").read_text() == "old\n"


def test_overwrite_replaces_and_keeps_mode(tmp_path):
    target = tmp_path / "x.py"
    target.write_text("old\n")
    target.chmod(0o640)
    write_all({target: "new\n"}, overwrite=True)
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["x.py"]

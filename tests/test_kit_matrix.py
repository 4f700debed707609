"""kit.py's Django matrix: the pins it installs, the Python it picks, the compatibility table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import kit  # noqa: E402


def test_requirements_for_replaces_only_the_django_pin():
    original = (ROOT / "requirements.txt").read_text().splitlines()
    for series, (release, _python) in kit.DJANGOS.items():
        changed = kit.requirements_for(series).splitlines()
        assert len(changed) == len(original)
        differing = [(a, b) for a, b in zip(original, changed, strict=True) if a != b]
        if series == kit.LTS:
            assert differing == []
        else:
            assert [b for _a, b in differing] == [f"Django=={release}"]


def test_find_python_honours_the_minimum():
    found = kit.find_python((3, 11))
    assert found is not None and kit.python_version(found) >= (3, 11)
    assert kit.find_python((3, 99)) is None


def test_compatibility_entries_name_tests_that_exist():
    data = json.loads(kit.COMPATIBILITY.read_text())
    for entry in data["libraries"]:
        assert set(entry["broken_on"]) <= set(kit.DJANGOS)
        for prefix in entry["tests"]:
            assert (ROOT / prefix.split("::")[0]).exists(), prefix


def test_readme_table_is_the_one_compatibility_json_gives(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    copy = tmp_path / "README.md"
    copy.write_text(readme)
    monkeypatch.setattr(kit, "ROOT", tmp_path)
    monkeypatch.setattr(kit, "NOTEBOOKS", ROOT / "notebooks")
    kit.write_readme_table(json.loads(kit.COMPATIBILITY.read_text()).get("chapters", {}))
    assert copy.read_text() == readme, "README's table differs: run `python3 kit.py canary 6.1 --record`"

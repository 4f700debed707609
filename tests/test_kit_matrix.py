"""kit.py's Django matrix: the pins it installs, the Python it picks, the compatibility table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


BROKEN_DOWN = """from django.db import models

from bdmodels.fields import VirtualParentLink
from bdmodels.models import BrokenDownModel


class Group1(models.Model):
    group1_id = models.IntegerField(primary_key=True)
    e = models.BooleanField()
    f = models.TextField()


class Central(BrokenDownModel, Group1):
    id = models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')
    group1_ptr = VirtualParentLink(Group1)
    a = models.IntegerField()
    b = models.CharField(max_length=100)
    c = models.DateTimeField()
    d = models.DateField()
    g = models.DecimalField(max_digits=8, decimal_places=2)
    h = models.UUIDField(null=True)
    i = models.IntegerField(default=0)
    j = models.CharField(max_length=20)
"""


def test_breakdown_migrations_on_django_6_is_one_clear_error_and_changes_nothing():
    """On Django 6 (this pass's, or the 6.1 venv kit.py prepared), no traceback, no file, no row."""
    import django

    from helpers.notebook.django_versions import SKIP_REASON, second_django_python
    from helpers.notebook.sandbox import Sandbox

    python = sys.executable if django.VERSION >= (6, 0) else second_django_python()
    if python is None:
        pytest.skip(SKIP_REASON)
    if os.environ.get("KIT_BACKEND") == "mysql" and subprocess.run(
        [python, "-c", "import MySQLdb"], capture_output=True, check=False
    ).returncode:
        pytest.skip(f"MySQL pass: the second Django's venv ({python}) has no MySQL driver (MySQLdb): "
                    "install libmariadb-dev and pkg-config, then run kit.py setup")
    with Sandbox(["central"]) as sb:
        sb.run("migrate", "-v0", "--skip-checks", python=python).check()
        sb.write("central/models.py", BROKEN_DOWN)
        files, applied = sb.migration_files("central"), sb.applied("central").rows
        out = sb.run("breakdown_migrations", "central", python=python)
        assert out.returncode == 1
        assert out.stderr.strip().splitlines() == [out.stderr.strip()], out.stderr  # one line, no traceback
        assert out.stderr.startswith("CommandError: broken-down-models 0.5.0 does not work on Django 6.")
        assert "Nothing was written." in out.stderr
        assert sb.migration_files("central") == files and sb.applied("central").rows == applied

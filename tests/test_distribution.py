"""The helpers as a project installs them: a wheel, in a fresh virtualenv, with no conftest line.

The wheel is built from a copy of the package's files (``pyproject.toml``,
``helpers/``) with the kit venv's setuptools (``--no-build-isolation``), and
installed with ``--no-index --no-deps`` into a venv made by ``venv`` (no
system site-packages). The ``[pytest]`` extra's distributions (Django, pytest,
pytest-django) are the kit venv's, reached through a ``.pth`` line: nothing is
fetched. That line adds the kit's site-packages as a plain path (its ``.pth``
files, among them the editable install of the checkout, are not run), so
``helpers`` is imported from the wheel, which the tests check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SETTINGS = """
SECRET_KEY = "test"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shop"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""

INITIAL = """
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel("Item", [
            ("id", models.AutoField(primary_key=True)),
            ("name", models.CharField(max_length=50)),
        ]),
    ]
"""

UPPER = """
from django.db import migrations


def upper(apps, schema_editor):
    for item in apps.get_model("shop", "Item").objects.all():
        item.name = item.name.upper()
        item.save()


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(upper, migrations.RunPython.noop)]
"""

TEST = """
def test_names_are_upper_cased(migration_harness):
    old = migration_harness.start(("shop", "0001_initial"))
    old.get_model("shop", "Item").objects.create(name="pen")
    new = migration_harness.forwards(("shop", "0002"))
    assert new.get_model("shop", "Item").objects.get().name == "PEN"


def test_the_fixture_comes_from_the_installed_wheel(migration_harness, request):
    import helpers
    plugin = request.config.pluginmanager.get_plugin("migration_harness")
    assert plugin is not None and plugin.__name__ == "helpers.testing.pytest_plugin"
    assert helpers.__file__.startswith(%(venv)r), helpers.__file__
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A wheel of the helpers, installed into a fresh venv that reuses the kit venv's distributions."""
    work = tmp_path_factory.mktemp("dist")
    source = work / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copytree(ROOT / "helpers", source / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index",
         "-w", str(work / "wheels"), str(source)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (work / "wheels").glob("*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "kit_venv_distributions.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return {"wheel": wheel, "venv": venv, "python": python}


def clean_env() -> dict[str, str]:
    drop = {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "KIT_BACKEND", "KIT_PROJECT_DIR"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST")}


def test_the_wheel_declares_the_extras_the_entry_point_and_its_own_description(installed):
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = wheel.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "[pytest11]\nmigration_harness = helpers.testing.pytest_plugin" in entry_points
    for extra in ("breakdown", "pytest", "notebook", "postgres"):
        assert f"Provides-Extra: {extra}" in metadata
    assert "Requires-Dist: Django<6.2,>=5.2" in metadata
    assert "Requires-Dist: pytest-django>=4.9; extra == \"pytest\"" in metadata
    assert "Requires-Dist: broken-down-models>=0.5; extra == \"breakdown\"" in metadata
    assert "# django-migrations-kit-helpers" in metadata and "teaching kit's README" not in metadata
    assert "Writing a chapter" not in metadata  # the kit's README is not the package's description
    assert "helpers/core/targets.py" in names and not any(n.startswith("tutorial_project/") for n in names)


def test_a_project_gets_the_fixture_with_no_conftest_line(installed, tmp_path):
    project = tmp_path / "project"
    (project / "shopsite").mkdir(parents=True)
    (project / "shopsite" / "__init__.py").write_text("")
    (project / "shopsite" / "settings.py").write_text(SETTINGS)
    (project / "shop" / "migrations").mkdir(parents=True)
    (project / "shop" / "__init__.py").write_text("")
    (project / "shop" / "migrations" / "__init__.py").write_text("")
    (project / "shop" / "migrations" / "0001_initial.py").write_text(INITIAL)
    (project / "shop" / "migrations" / "0002_upper.py").write_text(UPPER)
    (project / "tests").mkdir()
    (project / "tests" / "test_shop.py").write_text(TEST % {"venv": str(installed["venv"])})
    (project / "pytest.ini").write_text(
        "[pytest]\nDJANGO_SETTINGS_MODULE = shopsite.settings\npythonpath = .\naddopts = -p no:cacheprovider\n"
    )
    assert not list(project.rglob("conftest.py"))
    run = subprocess.run(
        [str(installed["python"]), "-m", "pytest", "-q", "-n", "0", "tests"],
        cwd=project, env=clean_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    # Without the entry point's plugin there is no fixture: it is the entry point that gives it.
    blocked = subprocess.run(
        [str(installed["python"]), "-m", "pytest", "-q", "-n", "0", "-p", "no:migration_harness", "tests"],
        cwd=project, env=clean_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert blocked.returncode != 0 and "fixture 'migration_harness' not found" in blocked.stdout


def test_the_notebook_plumbing_imports_but_says_what_it_needs_when_used(installed, tmp_path):
    script = textwrap.dedent("""
        import helpers.notebook
        from helpers.notebook import start
        try:
            start("books")
        except Exception as exc:
            print(type(exc).__name__, exc)
    """)
    run = subprocess.run(
        [str(installed["python"]), "-c", script],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("SandboxError No Django project at "), run.stdout
    assert "KIT_PROJECT_DIR" in run.stdout and "teaching kit" in run.stdout

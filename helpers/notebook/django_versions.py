"""The second Django a notebook can compare with: the venv ``kit.py`` prepared for 6.1.

``python3 kit.py test`` (or ``kit.py test --django 6.1``, ``kit.py canary 6.1``) makes
that venv with nox (``.nox/django-6-1``, see ``noxfile.py``). Notebook cells tagged
``django6`` use it and are skipped, with the reason, where it does not exist.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SECOND_SERIES = "6.1"
SKIP_REASON = (
    "cell needs a second Django (6.1): run `python3 kit.py test --django 6.1` once, "
    "which prepares .nox/django-6-1"
)


def second_django_python(series: str = SECOND_SERIES) -> str | None:
    """The Python of the kit's venv for Django ``series``, or None where it was not prepared."""
    root = Path(os.environ.get("KIT_ROOT", Path(__file__).resolve().parents[2]))
    python = root / ".nox" / f"django-{series.replace('.', '-')}" / "bin" / "python"
    if not python.exists():
        return None
    probe = subprocess.run(
        [str(python), "-c", "import django; print(django.get_version())"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return str(python) if probe.returncode == 0 and probe.stdout.startswith(series) else None

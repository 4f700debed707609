"""The Django matrix: one nox session per supported Django series (see kit.py ``DJANGOS``).

``python3 kit.py test --django 6.1`` runs ``nox -s django-6.1 -- passes --lax``: nox makes
the session's virtualenv (``.nox/django-6-1``) with a Python that suits that Django
(kit.py ``find_python``: PATH or pyenv), installs ``requirements.txt`` with only its Django
pin replaced (plus ``requirements-mysql.txt`` where the MariaDB client library is
installed, so the canary's cells tagged ``mysql`` can run), and runs ``kit.py passes``
there (lint, SQLite pass, PostgreSQL pass).
Installation is skipped when the requirements did not change since the last run.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kit

nox.options.default_venv_backend = "venv"
nox.options.sessions = [f"django-{series}" for series in kit.DJANGOS]


def _install(session: nox.Session, series: str) -> None:
    """Install the series' requirements into the session's venv, when they changed."""
    text = kit.requirements_for(series)
    if kit.mysql_client_library():  # the MariaDB driver too, as kit.py setup does for .venv
        text += "\n" + (kit.ROOT / "requirements-mysql.txt").read_text()
    want = hashlib.sha256((text + (kit.ROOT / "pyproject.toml").read_text()).encode()).hexdigest()
    location = Path(session.virtualenv.location)
    stamp = location / "kit-requirements.sha256"
    kit.write_lab_overrides(location)  # as .venv's: no news prompt, no update check in JupyterLab
    if stamp.exists() and stamp.read_text().strip() == want:
        return
    (location / "kit-requirements.txt").write_text(text)
    session.install("--disable-pip-version-check", "-q", "--upgrade", "pip")
    session.install("--disable-pip-version-check", "-q", "-r", str(location / "kit-requirements.txt"))
    stamp.write_text(want + "\n")


def _make_session(series: str) -> None:
    minimum = kit.DJANGOS[series][1]
    python = kit.find_python(minimum)

    @nox.session(name=f"django-{series}", python=python or f"{minimum[0]}.{minimum[1]}", reuse_venv=True)
    def run(session: nox.Session) -> None:
        if python is None:
            kit.python_for_django(series)  # exits saying which Python to install
        _install(session, series)
        session.run("python", "kit.py", *(session.posargs or ["passes", "--lax"]))


for _series in kit.DJANGOS:
    _make_session(_series)

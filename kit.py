#!/usr/bin/env python3
"""Set up the teaching kit and run it: the only entry point a user needs.

    python3 kit.py lab        set up, then open JupyterLab on the notebooks
    python3 kit.py test       set up, then lint and run every test (helpers + notebooks) on
                              Django 5.2, then the helpers' tests on 6.0 and 6.1 and the 6.1
                              canary (--no-matrix or KIT_MATRIX=0: the 5.2 passes only)
    python3 kit.py execute [NOTEBOOK ...]
                              re-run notebooks top to bottom in fresh kernels and save
                              their outputs (after changing a chapter or upgrading Django)
    python3 kit.py build SCRIPT.py NOTEBOOK.ipynb
                              write a notebook from a script in the "percent" format
                              (# %% cells, # %% [markdown], # %% tags=["check"]), then
                              execute it; for authoring chapters as plain text
    python3 kit.py canary 6.1 [--record]
                              run every notebook on that Django against the committed outputs;
                              one line per chapter: unchanged, changed (first differing cell)
                              or broken; compares with (or --record writes) tests/compatibility.json
    python3 kit.py setup      only set up (.venv with requirements.txt installed)
    python3 kit.py test --django 6.1
                              the same passes on another supported Django, in its own venv
                              (.venv-django6.1, made by nox: see noxfile.py); notebooks must
                              run there (lax), their committed outputs stay those of 5.2 LTS

Only the standard library is used here: this file runs with any Python 3.11+,
creates ``.venv`` next to it, installs ``requirements.txt`` there (again only
when that file changed) and runs the rest inside that environment.

Tests run twice: on SQLite, with every notebook checked strictly against its
committed outputs; then on PostgreSQL when ``DATABASE_URL`` points at a
reachable server (notebooks must run without error there; their SQL text may
differ). Without a server the PostgreSQL pass reports its tests as skipped,
with the reason. A third pass runs on MySQL/MariaDB when ``KIT_MYSQL_URL`` (or a
``mysql://`` ``DATABASE_URL``) names a reachable server (``.ci/mysql start`` prints
one), likewise lax and likewise reported as skipped without one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / "kit-requirements.sha256"
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
NOTEBOOKS = ROOT / "notebooks"
WORKERS = os.environ.get("KIT_TEST_WORKERS", "2")
COMPATIBILITY = ROOT / "tests" / "compatibility.json"

# The Django series the helpers support (pyproject.toml: Django>=5.2,<6.2): the exact
# release each is tested with, and the oldest Python that release runs on.
DJANGOS: dict[str, tuple[str, tuple[int, int]]] = {
    "5.2": ("5.2.19", (3, 11)),
    "6.0": ("6.0.10", (3, 12)),
    "6.1": ("6.1.3", (3, 12)),
}
LTS = "5.2"  # the committed notebook outputs are this series' ones


def say(message: str) -> None:
    print(f"[kit] {message}", flush=True)


def mysql_client_library() -> bool:
    """Tell whether the system's MySQL/MariaDB client library (what mysqlclient builds against) is there."""
    if not shutil.which("pkg-config"):
        return False
    return any(
        subprocess.run(["pkg-config", "--exists", name], check=False).returncode == 0
        for name in ("libmariadb", "mariadb", "mysqlclient")
    )


def requirements_digest() -> str:
    digest = hashlib.sha256()
    names = ["requirements.txt", "pyproject.toml"]
    if mysql_client_library():
        names.append("requirements-mysql.txt")
    for name in names:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def setup() -> None:
    """Create .venv and install the pinned requirements, when needed."""
    if sys.version_info < (3, 11):
        sys.exit(f"The kit needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        say(f"creating {VENV.relative_to(ROOT)} with Python {sys.version.split()[0]}")
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        except Exception as exc:
            sys.exit(
                f"Could not create a virtual environment ({exc}). On Debian or Ubuntu, "
                "install the python3-venv package first."
            )
    want = requirements_digest()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        write_lab_overrides(VENV)
        return
    say("installing requirements.txt (first run only; later runs skip this)")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-r", str(ROOT / "requirements.txt")], check=True, cwd=ROOT)
    if mysql_client_library():
        say("installing requirements-mysql.txt (the MariaDB driver, built against the system's client library)")
        subprocess.run([*pip, "install", "-r", str(ROOT / "requirements-mysql.txt")], check=True, cwd=ROOT)
    else:
        say("no MySQL/MariaDB client library (pkg-config libmariadb): the MariaDB driver is not installed, "
            "so the MariaDB pass is skipped; for it: sudo apt-get install libmariadb-dev pkg-config")
    STAMP.write_text(want + "\n")
    write_lab_overrides(VENV)


# JupyterLab's defaults for this venv: no "get notified about official Jupyter news?" prompt,
# no update check (nothing may fetch at run time). Read from <venv>/share/jupyter/lab/settings.
LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def write_lab_overrides(venv_dir: Path) -> None:
    """Write JupyterLab's settings overrides into ``venv_dir`` (when they differ)."""
    import json

    path = venv_dir / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    text = json.dumps(LAB_OVERRIDES, indent=2) + "\n"
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def python_version(executable: str) -> tuple[int, int] | None:
    """The (major, minor) of a Python interpreter, or None when it does not run."""
    try:
        out = subprocess.run(
            [executable, "-c", "import sys, venv; print(*sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.stdout.split()
    return (int(parts[0]), int(parts[1])) if out.returncode == 0 and len(parts) == 2 else None


def pyenv_pythons() -> list[str]:
    """Interpreters installed by pyenv (``pyenv root``/versions/*), when pyenv is present."""
    pyenv = shutil.which("pyenv")
    root = os.environ.get("PYENV_ROOT", "")
    if pyenv:
        out = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        root = out.stdout.strip() or root
    if not root or not (Path(root) / "versions").is_dir():
        return []
    found = []
    for version in sorted((Path(root) / "versions").iterdir(), key=lambda p: [int(x) for x in re.findall(r"\d+", p.name)]):
        if re.fullmatch(r"3\.\d+\.\d+", version.name) and (version / "bin" / "python3").exists():
            found.append(str(version / "bin" / "python3"))
    return found


def find_python(minimum: tuple[int, int]) -> str | None:
    """The oldest Python of at least ``minimum``: this one, one on PATH (python3.N), or pyenv's."""
    candidates = [getattr(sys, "_base_executable", sys.executable), sys.executable]
    for minor in range(minimum[1], minimum[1] + 6):
        path = shutil.which(f"python{minimum[0]}.{minor}")
        if path:
            candidates.append(path)
    candidates += pyenv_pythons()
    for candidate in candidates:
        version = python_version(candidate)
        if version and version >= minimum:
            return candidate
    return None


def python_for_django(series: str) -> str:
    """The interpreter for a Django series, or exit saying which Python to install."""
    release, minimum = DJANGOS[series]
    found = find_python(minimum)
    if not found:
        sys.exit(
            f"Django {release} needs Python {minimum[0]}.{minimum[1]} or newer, and none was found "
            f"on PATH (python{minimum[0]}.{minimum[1]}) or through pyenv. Install one, e.g. "
            f"`pyenv install {minimum[0]}.{minimum[1]}` or your system's python{minimum[0]}.{minimum[1]} package."
        )
    return found


def requirements_for(series: str) -> str:
    """requirements.txt with its Django pin replaced by that series' release."""
    text = (ROOT / "requirements.txt").read_text()
    release = DJANGOS[series][0]
    new, count = re.subn(r"(?im)^django==\S+$", f"Django=={release}", text)
    if count != 1:
        sys.exit("requirements.txt must pin Django on exactly one line (Django==X.Y.Z).")
    return new


def django_venv(series: str) -> Path:
    return VENV if series == LTS else ROOT / f".venv-django{series}"


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def reexec_in_venv(argv: list[str]) -> None:
    setup()
    os.execv(str(PYTHON), [str(PYTHON), str(Path(__file__).resolve()), *argv])


# --- PostgreSQL ----------------------------------------------------------------------


def postgres_url() -> str | None:
    """The PostgreSQL server URL from DATABASE_URL or KIT_POSTGRES_URL, if any is set."""
    for name in ("DATABASE_URL", "KIT_POSTGRES_URL"):
        url = os.environ.get(name, "")
        if url.split(":", 1)[0] in ("postgres", "postgresql", "pgsql"):
            return url
    return None


def postgres_reachable(url: str) -> tuple[bool, str]:
    import psycopg  # inside the venv

    from helpers.notebook.sandbox import _pg_conninfo

    try:
        with psycopg.connect(**_pg_conninfo(url)) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        return True, f"PostgreSQL {version}"
    except Exception as exc:
        return False, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"


# --- MySQL / MariaDB -----------------------------------------------------------------


def mysql_url() -> str | None:
    """The MySQL/MariaDB server URL from KIT_MYSQL_URL or DATABASE_URL, if any is set."""
    for name in ("KIT_MYSQL_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.split(":", 1)[0] in ("mysql", "mysql2"):
            return url
    return None


def mysql_reachable(url: str) -> tuple[bool, str]:
    from helpers.notebook.sandbox import _mysql_admin_connection  # inside the venv

    try:
        with _mysql_admin_connection(url) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            version = cursor.fetchone()[0]
        return True, f"MySQL {version}"
    except Exception as exc:
        return False, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"


def mysql_pass(python: str, extra: list[str], base_env: dict[str, str], paths: tuple[str, ...],
               label: str) -> tuple[int, str]:
    """The MariaDB pass: the same tests with ``KIT_BACKEND=mysql`` (notebooks lax)."""
    url = mysql_url()
    if url and subprocess.run([python, "-c", "import MySQLdb"], capture_output=True, check=False).returncode:
        say(f"pass 3{label}: MySQL: FAILED: a server is given (KIT_MYSQL_URL) but the driver is missing: "
            "install libmariadb-dev and pkg-config, then run kit.py setup (it installs requirements-mysql.txt)")
        return 1, " (no driver)"
    reachable, about = mysql_reachable(url) if url else (False, "KIT_MYSQL_URL is not set")
    env = {**base_env, "KIT_BACKEND": "mysql"}
    env.pop("KIT_MYSQL_URL", None)
    if reachable:
        env["DATABASE_URL"] = env["KIT_MYSQL_URL"] = url
        say(f"pass 3{label}: MySQL ({about}; notebooks must run without error)")
    else:
        env["KIT_MYSQL_SKIP_REASON"] = f"no MySQL server ({about})"
        say(f"pass 3{label}: MySQL: no server ({about}); its tests are reported as skipped")
    run = subprocess.run(pytest_args(python, extra, strict=False, paths=list(paths)),
                         cwd=ROOT, env=env, check=False)  # fmt: skip
    return run.returncode, "" if reachable else " (all skipped: no server)"


# --- commands -----------------------------------------------------------------------


def pytest_args(python: str, extra: list[str], *, strict: bool, paths: list[str]) -> list[str]:
    nbval = "--nbval" if strict else "--nbval-lax"
    return [
        python, "-m", "pytest",
        "-n", WORKERS, "--dist", "loadfile",
        nbval, "--nbval-current-env", "--nbval-cell-timeout=900",
        f"--nbval-sanitize-with={SANITIZE}",
        *paths,
        *extra,
    ]  # fmt: skip


def passes(python: str, extra: list[str], *, strict: bool = True, paths: tuple[str, ...] = ("tests", "notebooks"),
           label: str = "", with_mysql: bool = True) -> int:
    """Lint, then the SQLite, PostgreSQL and (``with_mysql``) MariaDB passes, with the tests of ``paths``.

    ``strict`` checks notebooks against their committed outputs (the 5.2 LTS ones) on
    SQLite; otherwise notebooks must only run without error.
    """
    say(f"ruff check{label}")
    lint = subprocess.run([python, "-m", "ruff", "check", "."], cwd=ROOT, check=False)
    if lint.returncode:
        say("ruff found problems (above); fix them first.")
        return lint.returncode
    say(f"mypy (django-stubs){label}")
    types = subprocess.run([python, "-m", "mypy"], cwd=ROOT, check=False)
    if types.returncode:
        say("mypy found problems (above); fix them first.")
        return types.returncode

    url = postgres_url()
    reachable, about = postgres_reachable(url) if url else (False, "DATABASE_URL is not set")
    my_url = mysql_url()
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KIT_BACKEND")}
    base_env.update(PYTHON_COLORS="0", NO_COLOR="1")  # Python 3.13 colours tracebacks
    if my_url and mysql_reachable(my_url)[0]:  # cells tagged mysql run in every pass
        base_env["KIT_MYSQL_URL"] = my_url
    else:
        base_env.pop("KIT_MYSQL_URL", None)
    if reachable:
        base_env["KIT_POSTGRES_URL"] = url
    else:
        base_env.pop("KIT_POSTGRES_URL", None)

    how = "notebooks strict against their committed outputs" if strict else "notebooks must run"
    say(f"pass 1{label}: SQLite (helpers' tests{', ' + how if 'notebooks' in paths else ''})")
    started = time.monotonic()
    sqlite = subprocess.run(pytest_args(python, extra, strict=strict, paths=list(paths)),
                            cwd=ROOT, env=base_env, check=False)  # fmt: skip
    sqlite_time, started = _minutes(time.monotonic() - started), time.monotonic()

    pg_env = {**base_env, "KIT_BACKEND": "postgresql"}
    if reachable:
        pg_env["DATABASE_URL"] = url
        say(f"pass 2{label}: PostgreSQL ({about}; notebooks must run without error)")
    else:
        pg_env["KIT_POSTGRES_SKIP_REASON"] = f"no PostgreSQL server ({about})"
        say(f"pass 2{label}: PostgreSQL: no server ({about}); its tests are reported as skipped")
    pg = subprocess.run(pytest_args(python, extra, strict=False, paths=list(paths)),
                        cwd=ROOT, env=pg_env, check=False)  # fmt: skip
    pg_time, started = _minutes(time.monotonic() - started), time.monotonic()

    if with_mysql:
        mysql, mysql_note = mysql_pass(python, extra, base_env, paths, label)
        mysql_note += f" ({_minutes(time.monotonic() - started)})"
    else:  # the matrix: CI's 90 minutes hold the MariaDB pass on 5.2 only
        mysql, mysql_note = 0, " (left out of the matrix: python3 kit.py test --django X.Y runs it)"

    say(f"SQLite pass{label}: {'passed' if sqlite.returncode == 0 else 'FAILED'} ({sqlite_time})")
    say(f"PostgreSQL pass{label}: {'passed' if pg.returncode == 0 else 'FAILED'} ({pg_time})"
        + ("" if reachable else " (all skipped: no server)"))  # fmt: skip
    say(f"MySQL pass{label}: {'passed' if mysql == 0 else 'FAILED'}{mysql_note}")
    return sqlite.returncode or pg.returncode or mysql


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


# The helpers' tests of the other series leave out what cannot differ from the 5.2 passes or
# what the 6.1 canary covers: the notebooks' hygiene (static), the exercise runner and the
# browser checks (they run chapters; the canary runs every chapter, exercises included).
MATRIX_DESELECT = ("tests/test_notebooks.py", "tests/test_exercises.py", "tests/test_browser.py")


def nox_session(series: str, args: list[str]) -> int:
    """Run a command of kit.py inside the nox session (and venv) of a Django series."""
    command = [str(PYTHON), "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), "--reuse-venv=yes",
               "-s", f"django-{series}", "--", *args]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def test(extra: list[str]) -> int:
    """``kit.py test``: the 5.2 LTS passes, then the helpers' tests on every other series.

    ``--django X.Y`` runs the whole suite (helpers and notebooks, every backend) on that
    series only. By default (and with ``--matrix``) the 5.2 passes are followed by the
    helpers' tests on 6.0 and 6.1 (SQLite and PostgreSQL; without what cannot differ:
    ``MATRIX_DESELECT``) and the 6.1 canary against tests/compatibility.json;
    ``--no-matrix`` or ``KIT_MATRIX=0`` runs the 5.2 LTS passes only.
    """
    series = None
    if "--django" in extra:
        at = extra.index("--django")
        if at + 1 >= len(extra) or extra[at + 1] not in DJANGOS:
            sys.exit(f"--django takes one of {', '.join(DJANGOS)}")
        series = extra[at + 1]
        extra = extra[:at] + extra[at + 2:]
    if series and series != LTS:
        return nox_session(series, ["passes", "--lax", *extra])
    required = "--matrix" in extra or os.environ.get("KIT_MATRIX") == "1"
    wants_matrix = required or ("--no-matrix" not in extra and os.environ.get("KIT_MATRIX", "") != "0")
    extra = [a for a in extra if a not in ("--matrix", "--no-matrix")]
    matrix = not series and wants_matrix
    if matrix and not required:  # the default: run it where a Python for Django 6 is found
        missing = [s for s in DJANGOS if s != LTS and find_python(DJANGOS[s][1]) is None]
        if missing:
            minimum = DJANGOS[missing[0]][1]
            say(f"the Django 6 matrix is left out: Django {DJANGOS[missing[0]][0]} needs Python "
                f"{minimum[0]}.{minimum[1]}+, and none was found on PATH or through pyenv (install one, "
                f"e.g. `pyenv install {minimum[0]}.{minimum[1]}`; KIT_MATRIX=1 or --matrix makes it required)")
            matrix = False
    if matrix:  # first, so that chapter 12's cells tagged django6 run in the 5.2 pass
        say("preparing the Django matrix (nox: " + ", ".join(f"django-{s}" for s in DJANGOS if s != LTS) + ")")
        prepared = subprocess.run(
            [str(PYTHON), "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), "--reuse-venv=yes", "--install-only",
             "-s", *(f"django-{s}" for s in DJANGOS if s != LTS)],
            cwd=ROOT, check=False,
        )  # fmt: skip
        if prepared.returncode:
            return prepared.returncode
    results = {f"Django {DJANGOS[LTS][0]}": passes(str(PYTHON), extra, label=f" [Django {DJANGOS[LTS][0]}]")}
    if matrix:
        for other in DJANGOS:
            if other != LTS:
                started = time.monotonic()
                skip = [f"--ignore={path}" for path in MATRIX_DESELECT]
                results[f"Django {DJANGOS[other][0]} (helpers' tests)"] = nox_session(
                    other, ["passes", "--tests-only", "--no-mysql", *skip, *extra])  # fmt: skip
                say(f"Django {DJANGOS[other][0]}, helpers' tests, SQLite + PostgreSQL: {_minutes(time.monotonic() - started)}")
        started = time.monotonic()
        results[f"canary on Django {DJANGOS['6.1'][0]} against tests/compatibility.json"] = nox_session(
            "6.1", ["canary-run"])  # fmt: skip
        say(f"canary on Django {DJANGOS['6.1'][0]}: {_minutes(time.monotonic() - started)}")
    for name, code in results.items():
        say(f"{name}: {'passed' if code == 0 else 'FAILED'}")
    return max(results.values())


def execute(paths: list[str]) -> int:
    """Run notebooks top to bottom in fresh kernels and save them with their outputs."""
    from concurrent.futures import ThreadPoolExecutor

    notebooks = [Path(p).resolve() for p in paths] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    # Committed outputs are the SQLite ones; a PostgreSQL server given in DATABASE_URL still
    # serves the cells tagged `postgresql` (side-by-side demonstrations).
    url = postgres_url()
    if url:
        os.environ["KIT_POSTGRES_URL"] = url
    if mysql_url():  # and a MySQL server the cells tagged `mysql`
        os.environ["KIT_MYSQL_URL"] = mysql_url()
    os.environ.pop("DATABASE_URL", None)

    def run_one(path: Path) -> tuple[Path, str | None]:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
                cell.metadata.pop("execution", None)
        client = NotebookClient(
            nb,
            timeout=900,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
            record_timing=False,
        )
        try:
            client.execute()
        except CellExecutionError as exc:
            return path, str(exc).splitlines()[-1] if str(exc) else repr(exc)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata.get("language_info", {}).pop("version", None)
        nbformat.write(nb, path)
        return path, None

    failures = 0
    with ThreadPoolExecutor(max_workers=int(WORKERS)) as pool:
        for path, error in pool.map(run_one, notebooks):
            name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            if error:
                failures += 1
                say(f"{name}: FAILED, not saved: {error}")
            else:
                say(f"{name}: executed and saved")
    return 1 if failures else 0


def _sanitizers() -> list[tuple[re.Pattern[str], str]]:
    """The regex/replace pairs of tests/nbval_sanitize.cfg (the ones nbval applies)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SANITIZE, encoding="utf-8")
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def _cell_text(cell: dict, sanitizers: list[tuple[re.Pattern[str], str]]) -> str:
    """A code cell's outputs as nbval compares them: streams, text/plain, errors; sanitized."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
        else:
            data = out.get("data", {})
            parts.append(data.get("text/plain", ""))
    text = "".join(p if isinstance(p, str) else "".join(p) for p in parts)
    for regex, replace in sanitizers:
        text = regex.sub(replace, text)
    return text


def _lists_notebook(entry: dict, name: str) -> bool:
    """Whether a compatibility.json entry lists that notebook (whole, or some of its cells)."""
    return any(t.split("::")[0] == f"notebooks/{name}" for t in entry["tests"])


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Warning): ")


def canary_chapter(path: Path, series: str) -> tuple[str, str]:
    """Run one notebook on this venv's Django; compare it with its committed outputs."""
    import copy
    import difflib
    import json

    import django
    import nbformat
    from nbclient import NotebookClient

    chapter = path.name[:2]
    committed = nbformat.read(path, as_version=4)
    fresh = copy.deepcopy(committed)
    for cell in fresh.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(fresh, timeout=900, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
    try:
        client.execute()
    except Exception as exc:
        return chapter, f"broken: {type(exc).__name__}: {exc}".splitlines()[0]
    sanitizers = _sanitizers()
    known = json.loads(COMPATIBILITY.read_text())["libraries"]
    for number, (old, new) in enumerate(zip(committed.cells, fresh.cells, strict=True), start=1):
        tags = old.metadata.get("tags", [])
        if old.cell_type != "code" or "nbval-ignore-output" in tags or "nbval-skip" in tags:
            continue
        if ("postgresql" in tags and not postgres_url()) or ("mysql" in tags and not mysql_url()):
            continue
        errors = [o for o in new.outputs if o.get("output_type") == "error"]
        if errors and not any(o.get("output_type") == "error" for o in old.outputs):
            error = errors[0]
            technique = next((e for e in known if _lists_notebook(e, path.name)
                              and series in e["broken_on"]), None)  # fmt: skip
            where = f"{error['ename']}: {error['evalue']}".splitlines()[0][:160]
            if technique:
                return chapter, (f"broken: {technique['library']} fails on Django {django.get_version()}: "
                                 f"{error['ename']} ({technique['technique']}); cell {number}: {where}")
            return chapter, f"broken: cell {number}: {where}"
        a, b = _cell_text(old, sanitizers), _cell_text(new, sanitizers)
        raised = [line for line in b.splitlines() if _EXCEPTION_LINE.match(line) and line not in a]
        if a != b and raised:  # a command's traceback that the committed output does not have
            technique = next((e for e in known if _lists_notebook(e, path.name)
                              and series in e["broken_on"]), None)  # fmt: skip
            name = raised[0].split(":", 1)[0].rsplit(".", 1)[-1]
            if technique and name in technique["error"]:
                return chapter, (f"broken: {technique['library']} fails on Django {django.get_version()}: "
                                 f"{technique['error']} ({technique['technique']}); cell {number}")
            return chapter, f"broken: cell {number}: {raised[0][:200]}"
        if a != b:
            diff = [line for line in difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0)
                    if not line.startswith(("---", "+++", "@@"))]
            shown = "\n      ".join(diff[:6]) + ("\n      ..." if len(diff) > 6 else "")
            return chapter, f"changed: cell {number}:\n      {shown}"
    return chapter, "unchanged"


TABLE_START, TABLE_END = "<!-- compatibility table", "<!-- end of compatibility table -->"


def write_readme_table(chapters: dict[str, dict[str, str]]) -> None:
    """The README's chapter-by-Django table, between its markers, from compatibility.json."""
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START), text.index(TABLE_END)
    start = text.index("\n", start) + 1
    titles = {p.name[:2]: p.stem[3:].replace("_", " ") for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    rows = [f"| Chapter | {' | '.join(DJANGOS)} |", "|---|" + "---|" * len(DJANGOS)]
    for chapter, results in chapters.items():
        cells = [results.get(series, "not run") for series in DJANGOS]
        rows.append(f"| {chapter} {titles.get(chapter, '')} | {' | '.join(cells)} |")
    readme.write_text(text[:start] + "\n".join(rows) + "\n" + text[end:], encoding="utf-8")


def canary_run(rest: list[str]) -> int:
    """Inside a series' venv: print one line per chapter; --record writes the table."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    import django

    series = f"{django.VERSION[0]}.{django.VERSION[1]}"
    url = postgres_url()
    if url:  # as `execute`: SQLite outputs, a server for the cells tagged postgresql
        os.environ["KIT_POSTGRES_URL"] = url
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("KIT_BACKEND", None)
    os.environ.update(PYTHON_COLORS="0", NO_COLOR="1")  # Python 3.13 colours tracebacks
    only = {a for a in rest if re.fullmatch(r"\d\d", a)}  # e.g. `kit.py canary 6.1 --record 18`
    notebooks = [p for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) if not only or p.name[:2] in only]
    say(f"canary: every notebook on Django {django.get_version()} against the committed (5.2 LTS) outputs")
    results = {}
    with ThreadPoolExecutor(max_workers=int(WORKERS)) as pool:
        for chapter, verdict in pool.map(lambda p: canary_chapter(p, series), notebooks):
            print(f"{chapter} {verdict}", flush=True)
            results[chapter] = verdict.split(":", 1)[0]
    data = json.loads(COMPATIBILITY.read_text())
    table = data.setdefault("chapters", {})
    if "--record" in rest:
        for chapter, status in results.items():
            table.setdefault(chapter, {})[series] = status
            table[chapter].setdefault(LTS, "unchanged")
        data["chapters"] = dict(sorted(table.items()))
        COMPATIBILITY.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
        write_readme_table(data["chapters"])
        say(f"recorded in {COMPATIBILITY.relative_to(ROOT)}")
        return 0
    differ = {c: (table.get(c, {}).get(series), r) for c, r in results.items()
              if table.get(c, {}).get(series) != r}  # fmt: skip
    for chapter, (want, got) in sorted(differ.items()):
        say(f"chapter {chapter} on Django {series}: the table says {want}, the canary found {got}")
    say("canary: " + ("as the compatibility table says" if not differ else "DIFFERS from the compatibility table"))
    return 1 if differ else 0


def build(script: str, notebook: str) -> int:
    """Convert a percent-format script into a notebook, then execute and save it."""
    import json
    import re

    import nbformat

    cells = []
    header = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")
    current: dict | None = None
    for line in Path(script).read_text(encoding="utf-8").splitlines():
        match = header.match(line)
        if match:
            current = {"markdown": bool(match["md"]), "tags": json.loads(match["tags"] or "[]"), "lines": []}
            cells.append(current)
        elif current is not None:
            if current["markdown"]:
                line = line[2:] if line.startswith("# ") else line.lstrip("#")
            current["lines"].append(line)
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        text = "\n".join(cell["lines"]).strip("\n")
        made = nbformat.v4.new_markdown_cell(text) if cell["markdown"] else nbformat.v4.new_code_cell(text)
        if cell["tags"]:
            made.metadata["tags"] = cell["tags"]
        if "solution" in cell["tags"]:
            made.metadata["jupyter"] = {"source_hidden": True}
        made.pop("id", None)
        nb.cells.append(made)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.nbformat_minor = 4
    nbformat.write(nb, notebook)
    return execute([notebook])


def lab(extra: list[str]) -> int:
    # No network at run time: no update check, no news feed.
    args = [
        str(VENV / "bin" / "jupyter"), "lab", f"--notebook-dir={NOTEBOOKS}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=None",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    os.execv(args[0], [*args, *extra])
    return 0


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "passes":  # inside a nox session's venv (noxfile.py): no re-exec into .venv
        os.chdir(ROOT)
        import django

        lax, tests_only, no_mysql = "--lax" in rest, "--tests-only" in rest, "--no-mysql" in rest
        rest = [a for a in rest if a not in ("--lax", "--tests-only", "--no-mysql")]
        return passes(sys.executable, rest, strict=not lax, paths=("tests",) if tests_only else ("tests", "notebooks"),
                      label=f" [Django {django.get_version()}]", with_mysql=not no_mysql)  # fmt: skip
    if command == "canary-run":  # inside a nox session's venv
        os.chdir(ROOT)
        return canary_run(rest)
    if command == "canary" and not in_venv() and (not rest or rest[0] not in DJANGOS):
        sys.exit(f"usage: python3 kit.py canary {{{','.join(DJANGOS)}}} [--record]")
    if command in ("help", "-h", "--help") or command not in ("lab", "test", "execute", "build", "setup", "canary"):
        print(__doc__)
        return 0 if command in ("help", "-h", "--help") else 2
    if not in_venv():
        reexec_in_venv(argv)
    if command == "setup":
        say(f"ready: {VENV.relative_to(ROOT)}")
        return 0
    os.chdir(ROOT)
    if command == "lab":
        return lab(rest)
    if command == "execute":
        return execute(rest)
    if command == "canary":
        return nox_session(rest[0], ["canary-run", *rest[1:]])
    if command == "build":
        if len(rest) != 2:
            sys.exit("usage: python3 kit.py build SCRIPT.py NOTEBOOK.ipynb")
        return build(*rest)
    return test(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

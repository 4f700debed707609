#!/usr/bin/env python3
"""Set up the teaching kit and run it: the only entry point a user needs.

    python3 kit.py lab        set up, then open JupyterLab on the notebooks
    python3 kit.py test       set up, then lint and run every test (helpers + notebooks)
    python3 kit.py execute [NOTEBOOK ...]
                              re-run notebooks top to bottom in fresh kernels and save
                              their outputs (after changing a chapter or upgrading Django)
    python3 kit.py build SCRIPT.py NOTEBOOK.ipynb
                              write a notebook from a script in the "percent" format
                              (# %% cells, # %% [markdown], # %% tags=["check"]), then
                              execute it; for authoring chapters as plain text
    python3 kit.py setup      only set up (.venv with requirements.txt installed)

Only the standard library is used here: this file runs with any Python 3.11+,
creates ``.venv`` next to it, installs ``requirements.txt`` there (again only
when that file changed) and runs the rest inside that environment.

Tests run twice: on SQLite, with every notebook checked strictly against its
committed outputs; then on PostgreSQL when ``DATABASE_URL`` points at a
reachable server (notebooks must run without error there; their SQL text may
differ). Without a server the PostgreSQL pass reports its tests as skipped,
with the reason.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / "kit-requirements.sha256"
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
NOTEBOOKS = ROOT / "notebooks"
WORKERS = os.environ.get("KIT_TEST_WORKERS", "2")


def say(message: str) -> None:
    print(f"[kit] {message}", flush=True)


def requirements_digest() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
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
        return
    say("installing requirements.txt (first run only; later runs skip this)")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-r", str(ROOT / "requirements.txt")], check=True, cwd=ROOT)
    STAMP.write_text(want + "\n")


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

    from helpers.sandbox import _pg_conninfo

    try:
        with psycopg.connect(**_pg_conninfo(url)) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        return True, f"PostgreSQL {version}"
    except Exception as exc:
        return False, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"


# --- commands -----------------------------------------------------------------------


def pytest_args(extra: list[str], *, strict: bool) -> list[str]:
    nbval = "--nbval" if strict else "--nbval-lax"
    return [
        str(PYTHON), "-m", "pytest",
        "-n", WORKERS, "--dist", "loadfile",
        nbval, "--nbval-current-env", "--nbval-cell-timeout=900",
        f"--nbval-sanitize-with={SANITIZE}",
        "tests", "notebooks",
        *extra,
    ]  # fmt: skip


def test(extra: list[str]) -> int:
    """Lint, then the SQLite pass (strict notebooks), then the PostgreSQL pass."""
    say("ruff check")
    lint = subprocess.run([str(PYTHON), "-m", "ruff", "check", "."], cwd=ROOT, check=False)
    if lint.returncode:
        say("ruff found problems (above); fix them first.")
        return lint.returncode

    url = postgres_url()
    reachable, about = postgres_reachable(url) if url else (False, "DATABASE_URL is not set")
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KIT_BACKEND")}
    if reachable:
        base_env["KIT_POSTGRES_URL"] = url
    else:
        base_env.pop("KIT_POSTGRES_URL", None)

    say("pass 1: SQLite (helpers' tests, notebooks strict against their committed outputs)")
    sqlite = subprocess.run(pytest_args(extra, strict=True), cwd=ROOT, env=base_env, check=False)

    pg_env = {**base_env, "KIT_BACKEND": "postgresql"}
    if reachable:
        pg_env["DATABASE_URL"] = url
        say(f"pass 2: PostgreSQL ({about}; notebooks must run without error)")
    else:
        pg_env["KIT_POSTGRES_SKIP_REASON"] = f"no PostgreSQL server ({about})"
        say(f"pass 2: PostgreSQL: no server ({about}); its tests are reported as skipped")
    pg = subprocess.run(pytest_args(extra, strict=False), cwd=ROOT, env=pg_env, check=False)

    say(f"SQLite pass: {'passed' if sqlite.returncode == 0 else 'FAILED'}")
    say(f"PostgreSQL pass: {'passed' if pg.returncode == 0 else 'FAILED'}"
        + ("" if reachable else " (all skipped: no server)"))  # fmt: skip
    return sqlite.returncode or pg.returncode


def execute(paths: list[str]) -> int:
    """Run notebooks top to bottom in fresh kernels and save them with their outputs."""
    from concurrent.futures import ThreadPoolExecutor

    notebooks = [Path(p).resolve() for p in paths] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    # Committed outputs are the SQLite ones; a PostgreSQL server given in DATABASE_URL still
    # serves the cells tagged `postgresql` (side-by-side demonstrations).
    url = postgres_url()
    if url:
        os.environ["KIT_POSTGRES_URL"] = url
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
    if command in ("help", "-h", "--help") or command not in ("lab", "test", "execute", "build", "setup"):
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
    if command == "build":
        if len(rest) != 2:
            sys.exit("usage: python3 kit.py build SCRIPT.py NOTEBOOK.ipynb")
        return build(*rest)
    return test(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

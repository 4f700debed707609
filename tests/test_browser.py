"""Real-browser checks: the kit works where learners use it, in JupyterLab in a browser.

Headless Chromium from the system packages (``.ci/run`` installs it), driven
by Playwright without any browser download. Skipped, with the reason, where
there is no Chromium. Each test saves a screenshot under ``test-artifacts/``
(or ``$KIT_ARTIFACTS``) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("KIT_ARTIFACTS", ROOT / "test-artifacts"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install the chromium system package"),
    pytest.mark.skipif(
        os.environ.get("KIT_BACKEND") == "postgresql",
        reason="browser checks run once, in the SQLite pass",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def jupyterlab(tmp_path):
    """JupyterLab on loopback, serving a copy of the notebooks (the repository stays untouched)."""
    root = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    port, token = free_port(), "kit-browser-test"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jupyter-config")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "jupyter-runtime")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}", "--allow-root",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=None"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "lab.log", "w"), env=env,  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text())
        yield base, token, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def test_jupyterlab_runs_a_chapter_and_its_migration_explorer_works(browser, jupyterlab):
    base, token, _root = jupyterlab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab/tree/01_commands_and_workflow.ipynb?token={token}")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.wait_for_selector("#jp-main-statusbar >> text=Idle", timeout=60_000)

    # Run every cell, as a learner would from the Run menu.
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    page.wait_for_selector("text=✅ Correct", timeout=240_000)

    # The explorer rendered as a real widget, with its controls.
    explorer = page.locator(".kit-migration-explorer").first
    explorer.wait_for(state="attached", timeout=30_000)
    explorer.scroll_into_view_if_needed()
    assert explorer.locator("select").count() == 2
    assert explorer.get_by_role("button", name="Show SQL").count() == 1
    assert explorer.get_by_role("button", name="Migrate").count() == 1
    assert "books_book" in explorer.text_content()

    # Use it: pick an earlier target in the browser, ask for the SQL.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    explorer.locator("select").nth(1).select_option("0001_initial")
    page.wait_for_function(
        "() => document.querySelector('.kit-migration-explorer').textContent.includes('backwards, 3 migrations')",
        timeout=60_000,
    )
    explorer.get_by_role("button", name="Show SQL").click()
    page.wait_for_function(
        "() => document.querySelector('.kit-migration-explorer').textContent.includes('sqlmigrate books 0003_longer_titles --backwards')",
        timeout=60_000,
    )
    # No "Would you like to get notified about official Jupyter news?" prompt: kit.py setup
    # writes fetchNews "false" into the venv's settings overrides. By now the page has been
    # open for the whole chapter's run, long after JupyterLab would have asked.
    assert page.get_by_text("official Jupyter news").count() == 0
    page.locator(".jp-Notification-Status, .jp-Notification-Status-Text").first.click()
    assert page.get_by_text("official Jupyter news").count() == 0, "the news prompt is in the notification list"

    shot = ARTIFACTS / "jupyterlab-migration-explorer.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000


# What admin/css/base.css gives the page when it loaded: its colour variable, and the header
# painted with it. Without the stylesheet: no variable, a transparent header.
STYLED = {"secondary": "#417690", "header": "rgb(65, 118, 144)", "sheet": True}


def admin_styles(page) -> dict:
    """The computed styles that show whether the admin's stylesheet is applied."""
    return page.evaluate("""() => ({
        secondary: getComputedStyle(document.documentElement).getPropertyValue("--secondary").trim(),
        header: getComputedStyle(document.querySelector("#header")).backgroundColor,
        sheet: [...document.styleSheets].some(s => (s.href || "").endsWith("/static/admin/css/base.css")
                                                   && s.cssRules.length > 100),
    })""")


def test_dynamic_admin_served_by_gunicorn_shows_a_new_column_in_the_browser(browser):
    from helpers.notebook.sandbox import Sandbox

    with Sandbox(["surveys"], backend="sqlite") as sb:
        sb.run("migrate", "--verbosity", "0").check()
        sb.edit("mysite/settings.py",
                '    "django.middleware.clickjacking.XFrameOptionsMiddleware",\n',
                '    "django.middleware.clickjacking.XFrameOptionsMiddleware",\n'
                '    "surveys.middleware.SurveySchemaMiddleware",\n')  # fmt: skip
        sb.shell("""
            from django.contrib.auth.models import User
            from surveys.dynamic import response_model
            from surveys.models import Question, Survey
            User.objects.create_superuser("admin", "admin@example.com", "kit-browser")
            survey = Survey.objects.create(name="feedback")
            Question.objects.create(survey=survey, name="rating", field_type="integer", position=1)
            response_model("feedback").objects.create(rating=4)
        """).check()
        server = sb.serve("admin", app="surveys.wsgi:application")
        page = browser.new_page(viewport={"width": 1200, "height": 700}, color_scheme="light")
        page.goto(f"{server.url}/admin/login/?next=/admin/surveys/response_feedback/")
        assert admin_styles(page) == STYLED, "the admin's stylesheet did not load (static files not served)"
        page.fill("#id_username", "admin")
        page.fill("#id_password", "kit-browser")
        page.click("input[type=submit]")
        page.wait_for_selector("#result_list", timeout=30_000)
        before = [h.strip().lower() for h in page.locator("#result_list thead th").all_text_contents()]
        assert "rating" in before and "email" not in before

        # Another process changes the definition; the served admin follows on its next request.
        sb.shell("""
            from surveys.models import Question, Survey
            Question.objects.create(survey=Survey.objects.get(name="feedback"), name="email",
                                    field_type="email", position=2)
        """).check()
        page.reload()
        page.wait_for_selector("#result_list", timeout=30_000)
        after = [h.strip().lower() for h in page.locator("#result_list thead th").all_text_contents()]
        assert after[-2:] == ["rating", "email"]
        assert admin_styles(page) == STYLED
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "dynamic-admin-new-column.png"
        page.screenshot(path=str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

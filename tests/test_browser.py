"""The student's view in a real browser: JupyterLab headless on a free loopback port, Debian's Chromium driven by
Playwright (``chromium.launch(executable_path=...)``, no browser download).

A student notebook: Run All, then the first exercise (``path_xt``) is answered by typing into its stub, run with
its test cell, and the test's output must say it passed; the t-slider of notebook 1 is moved with the keyboard and
the figure must change (screenshots compared).  A solution notebook: Run All, every test cell passes.  JupyterLab runs as ``make lab`` starts it for students:
without nbgrader's authoring menus or formgrader.
Screenshots are kept in build/browser/ (test artefacts).  Without Chromium the test is skipped with a message
saying how to get it, except under CI=true, where it fails.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "build" / "browser"
AID = "01_one_d_flow"
TOKEN = "cs280diff-browser-test"
ANSWER = "def path_xt(x0, x1, t):\n    if isinstance(t, torch.Tensor) and t.ndim == 1:\n        t = t.reshape(-1, *([1] * (x0.ndim - 1)))\n    return (1 - t) * x0 + t * x1\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium):
    """JupyterLab serving a folder with the student and the solution notebook 1; yields its base URL."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copyfile(REPO / "notebooks" / AID / f"{AID}.ipynb", root / "student.ipynb")
    shutil.copyfile(REPO / "solutions" / AID / f"{AID}.ipynb", root / "solution.ipynb")
    settings = root / ".settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)  # every cell in the page, not only those in view: the test reads them all
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port = _free_port()
    env = dict(os.environ, CS280DIFF_PROFILE="fast", OMP_NUM_THREADS="1",
               JUPYTER_CONFIG_PATH=str(REPO / "jupyter" / "student"))  # as `make lab`: no authoring UI
    proc = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                             f"--ServerApp.port={port}", f"--IdentityProvider.token={TOKEN}",
                             f"--ServerApp.root_dir={root}", "--allow-root", "--LabApp.expose_app_in_browser=True",
                             f"--LabApp.user_settings_dir={root / '.settings'}", f"--LabApp.workspaces_dir={root / '.ws'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("JupyterLab did not start")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        yield base, chromium
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def _open(browser, base: str, name: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab/workspaces/{Path(name).stem}/tree/{name}?reset&token={TOKEN}")  # this notebook alone
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
                           "window.jupyterapp.shell.currentWidget.sessionContext && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel && "
                           "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                           timeout=120_000)
    return page


def _run_all(page) -> None:
    """Run > Run All Cells, and wait until the kernel is idle again."""
    page.evaluate("async () => await window.jupyterapp.commands.execute('notebook:run-all-cells')")
    _idle(page)


def _idle(page) -> None:
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('.jp-Notebook .jp-InputPrompt') || "
                           "![...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')]"
                           ".some(p => p.textContent.includes('[*]'))", timeout=180_000)


def _cell(page, text: str):
    """The notebook cell whose source contains ``text``."""
    return page.locator(".jp-Notebook .jp-Cell").filter(has=page.locator(".jp-InputArea", has_text=text)).first


def test_a_student_answers_an_exercise_and_moves_the_slider(lab):
    from playwright.sync_api import sync_playwright

    base, chromium = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = _open(browser, base, "student.ipynb")
        menus = page.locator("#jp-MainMenu").inner_text().lower()
        assert "nbgrader" not in menus and page.get_by_text("Create Assignment").count() == 0, menus
        with pytest.raises(urllib.error.HTTPError):  # nor nbgrader's formgrader
            urllib.request.urlopen(f"{base}/formgrader?token={TOKEN}", timeout=10)
        _run_all(page)
        stub_test = _cell(page, 'grading.exercise("path_xt"')
        assert "path_xt is not implemented yet" in stub_test.inner_text()
        assert page.get_by_text("official Jupyter news").count() == 0  # the student settings do not ask
        _cell(page, "def path_xt(x0, x1, t):").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "student_stub_feedback.png"), full_page=False)
        page.set_viewport_size({"width": 900, "height": 1000})  # a narrow window: about 90 characters a line
        page.wait_for_timeout(500)
        wide = page.evaluate("() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .cm-scroller')]"
                             ".filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1).length")
        assert wide == 0, f"{wide} code cells run off the right edge (the student settings wrap long lines)"
        page.set_viewport_size({"width": 1400, "height": 1000})
        stub = _cell(page, "def path_xt(x0, x1, t):")
        stub.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(ANSWER)
        page.keyboard.press("Shift+Enter")  # run the answer; the test cell below is selected
        page.keyboard.press("Shift+Enter")  # run the test
        _idle(page)
        test_out = _cell(page, 'grading.exercise("path_xt"').locator(".jp-OutputArea").inner_text()
        assert "✔ path_xt" in test_out, test_out
        _cell(page, 'grading.exercise("path_xt"').screenshot(path=str(ARTIFACTS / "student_exercise_passed.png"))
        browser.close()


def test_the_solution_notebook_runs_and_its_slider_redraws(lab):
    from playwright.sync_api import sync_playwright

    base, chromium = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = _open(browser, base, "solution.ipynb")
        _run_all(page)
        outputs = page.locator(".jp-OutputArea").all_inner_texts()
        assert sum("✔" in o for o in outputs) == 5, outputs
        assert not page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").filter(
            has_text="Traceback").count()
        widget = page.locator(".jupyter-widgets.widget-interact").first
        widget.scroll_into_view_if_needed()
        before = widget.screenshot(path=str(ARTIFACTS / "slider_before.png"))
        widget.locator(".slider-container, .widget-slider input, .noUi-handle").first.click()
        for _ in range(10):
            page.keyboard.press("ArrowRight")
        page.wait_for_timeout(2500)
        after = widget.screenshot(path=str(ARTIFACTS / "slider_after.png"))
        assert before != after, "moving the t-slider did not redraw the figure"
        browser.close()

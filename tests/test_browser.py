"""Seen as a reader sees it: the run's report page, the identification study (07) and the trade-off explorer (08)
rendered by a real browser (headless Chromium driven by Selenium), the notebooks served by Voila from the finished
SMOKE run of the session (conftest.smoke_run).

Each test asserts what the page shows: the study's clip animates, Submit enables only with the right number of
people picked, an answer lands in the participant's file, a reload resumes, the score appears; the explorer redraws
when its clip or encoder changes; the report page's images load and its links resolve.

Where no Chromium/chromedriver can be had the tests skip, saying so -- except with BDQ_REQUIRE_BROWSER=1 (set by
.ci/run, which installs Debian's chromium and chromium-driver), where they fail: CI must not skip them silently.
Screenshots go to the test's folder, and also to BDQ_SCREENSHOT_DIR when it is set (how docs/img/ is refreshed).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from bdqlib.study import design

REPO = Path(__file__).resolve().parents[1]
PARTICIPANT = "browser-test"
STUDY_DIR = "study-browser"  # not the run's own study folder, which test_notebooks checks is unanswered


def _find(*names):
    return next((p for p in map(shutil.which, names) if p), None)


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium under Selenium (the system's chromium and chromedriver; nothing is downloaded)."""
    chrome = _find("chromium", "chromium-browser", "google-chrome")
    driver_path = _find("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        reason = f"selenium is not installed ({e})"
        chrome = None
    else:
        reason = "no chromium/chromedriver on PATH (apt-get install chromium chromium-driver)"
    if not (chrome and driver_path):
        if os.environ.get("BDQ_REQUIRE_BROWSER") == "1":
            pytest.fail(f"BDQ_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600",
                "--allow-file-access-from-files"):
        options.add_argument(arg)
    options.binary_location = chrome
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(300)
    # the HTTP read to chromedriver waits past the page-load limit (its default, 120 s, cut a Voila page that took
    # 125 s to run in a fresh clone's first kernel -- CI, 2026-12-07; alone it took 20 s): a slow page fails at 300 s
    # with the page-load error, not earlier with a read timeout
    driver.command_executor.client_config.timeout = 330
    yield driver
    driver.quit()


def screenshot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    driver.save_screenshot(str(path))
    if os.environ.get("BDQ_SCREENSHOT_DIR"):
        Path(os.environ["BDQ_SCREENSHOT_DIR"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(os.environ["BDQ_SCREENSHOT_DIR"]) / name)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def voila(notebook: str, parameters: dict, env: dict, folder: Path):
    """Serve notebooks/<notebook>.ipynb with `parameters` injected (as papermill injects them) by Voila on a free
    localhost port; yields the URL that runs it in a fresh kernel on each load. The kernel has `env` (the smoke run's
    data and outputs roots) and no BDQ_HEADLESS, as in a user's Jupyter."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(REPO / "notebooks" / f"{notebook}.ipynb")), parameters)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{notebook}.ipynb")
    port = _free_port()
    env = {k: v for k, v in env.items() if k != "BDQ_HEADLESS"}
    env["JUPYTER_PATH"] = f"{REPO / '.venv' / 'share' / 'jupyter'}:{env.get('JUPYTER_PATH', '')}"
    log = open(folder / "voila.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "voila", f"{notebook}.ipynb", "--no-browser", f"--port={port}",
                               "--Voila.ip=127.0.0.1", "--show_tracebacks=True"], cwd=folder, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(url + "api", timeout=2)
                break
            except urllib.error.HTTPError:  # an answer (voila forbids this path): the server is up
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise AssertionError("voila did not start:\n" + (folder / "voila.log").read_text()[-3000:])
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def wait_for(driver, css: str, *, count: int = 1, timeout: float = 240, log: Path | None = None):
    """The elements matching `css` once at least `count` are shown; fails with the page's errors and Voila's log."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [e for e in driver.find_elements("css selector", css) if e.is_displayed()]
        if len(found) >= count:
            return found
        time.sleep(0.5)
    errors = [e.text for e in driver.find_elements("css selector", ".jp-RenderedText[data-mime-type*=stderr], "
                                                                    ".output_error, pre")][-5:]
    raise AssertionError(f"no {count} x {css!r} after {timeout} s; page errors: {errors}; voila log: "
                         f"{log.read_text()[-2000:] if log and log.exists() else ''}")


def wait_until(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _prompt(driver) -> str:
    return " ".join(e.text for e in driver.find_elements("css selector", ".widget-html") if e.text)


def _submit(driver):
    return next(b for b in driver.find_elements("css selector", "button.jupyter-button")
                if b.get_attribute("textContent") == "Submit")  # .text is empty once it is hidden


def _toggles(driver):
    return driver.find_elements("css selector", "button.widget-toggle-button")


def _frames_change(element, tries: int = 20) -> bool:
    first = element.screenshot_as_png
    for _ in range(tries):
        time.sleep(0.15)
        if element.screenshot_as_png != first:
            return True
    return False


def test_report_page_shows_the_run_and_every_link_resolves(browser, smoke_run, tmp_path):
    assert smoke_run.returncode == 0, smoke_run.log[-2000:]
    run_dir = smoke_run.run_dir
    browser.get((run_dir / "index.html").as_uri())
    body = browser.find_element("css selector", "body").text
    assert "All 8 notebooks finished" in body and f"Run {run_dir.name}" in body
    results = browser.find_elements("css selector", "table.results")[0]
    methods = [r.find_elements("css selector", "td")[0].text for r in results.find_elements("css selector", "tbody tr")]
    assert {"raw", "bdq"} <= set(methods) and "±" in results.text  # every number with its interval
    assert "BDQ (alpha=1)" in body and "means over 2 seed(s)" in body  # the computed headline, SMOKE's 2 seeds
    images = browser.find_elements("css selector", "img")
    assert len(images) >= 10
    broken = [i.get_attribute("src") for i in images
              if not browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", i)]
    assert not broken, broken
    hrefs = [a.get_attribute("href") for a in browser.find_elements("css selector", "a")]
    missing = [h for h in hrefs if not Path(urllib.request.url2pathname(h.removeprefix("file://"))).is_file()]
    assert hrefs and not missing, missing
    env = browser.find_element("css selector", "table.env").text
    assert "torch" in env and "threads" in env
    times = browser.find_elements("css selector", "table.results")[-1].text
    assert "07_identification_study" in times and "done" in times
    screenshot(browser, tmp_path, "report_page.png")
    # the reader's version of a notebook has its outputs and none of its code; the full one has both
    browser.get((run_dir / "03_validate_frozen_encoder.report.html").as_uri())
    assert "Validation" in browser.find_element("css selector", "h1").text
    assert not browser.find_elements("css selector", ".jp-InputArea-editor")
    assert browser.find_elements("css selector", ".jp-OutputArea-output img")
    browser.get((run_dir / "03_validate_frozen_encoder.html").as_uri())
    assert browser.find_elements("css selector", ".jp-InputArea-editor")


def test_identification_study_in_the_browser(browser, smoke_run, tmp_path):
    assert smoke_run.returncode == 0, smoke_run.log[-2000:]
    run_dir = smoke_run.run_dir
    params = {"RUN_DIR": str(run_dir), "SMOKE": True, "PARTICIPANT": PARTICIPANT, "STUDY_DIR": STUDY_DIR}
    folder = run_dir / STUDY_DIR
    answers_file = design.participant_file(folder, PARTICIPANT)
    answers_file.unlink(missing_ok=True)  # this test's participant starts afresh
    with voila("07_identification_study", params, smoke_run.env, tmp_path / "voila") as url:
        browser.get(url)
        submit_css = "button.jupyter-button"
        wait_for(browser, "button.widget-toggle-button", log=tmp_path / "voila" / "voila.log")
        study = json.loads((folder / "study.json").read_text())
        n, pick = len(study["questions"]), len(study["questions"][0]["answer"])
        assert f"Question 1 of {n}" in _prompt(browser)
        toggles = _toggles(browser)
        assert [t.text for t in toggles] == list(design.LETTERS[:len(study["questions"][0]["candidates"])])
        images = wait_for(browser, "img.widget-image", count=1 + len(toggles))
        assert all(browser.execute_script("return arguments[0].naturalWidth > 0", i) for i in images)
        assert _frames_change(images[0]), "the question's clip does not animate"
        assert not _frames_change(images[1], tries=4), "a gallery picture changes: it should be a still frame"
        assert browser.find_elements("css selector", submit_css) and not _submit(browser).is_enabled()
        screenshot(browser, tmp_path, "study_question.png")
        # Submit is enabled with exactly `pick` people picked, not with more
        for t in toggles[:pick]:
            t.click()
        wait_until(lambda: _submit(browser).is_enabled(), what="Submit to enable")
        toggles[pick].click()
        wait_until(lambda: not _submit(browser).is_enabled(), what="Submit to disable with one too many")
        toggles[pick].click()
        wait_until(lambda: _submit(browser).is_enabled(), what="Submit to enable again")
        _submit(browser).click()
        wait_until(lambda: f"Question 2 of {n}" in _prompt(browser), what="the second question")
        saved = pd.read_csv(answers_file, dtype={"chosen": str})
        assert list(saved["question"]) == [1] and saved["chosen"].iloc[0] == "".join(design.LETTERS[:pick])
        assert not [p for p in folder.iterdir() if ".part" in p.name]  # written atomically: no temporary left over
        assert "saved (1 answered" in _prompt(browser)
        # a reload is a new kernel: it resumes at the first unanswered question
        browser.get(url)
        wait_for(browser, "button.widget-toggle-button")
        wait_until(lambda: f"Question 2 of {n}" in _prompt(browser), what="the resumed question")
        width = browser.execute_script("return document.querySelector('.widget-hprogress .progress-bar').style.width")
        assert abs(float(width.rstrip("%")) - 100 / n) < 0.01, width  # the bar shows one of n answered
        for q in range(2, n + 1):
            toggles = _toggles(browser)
            for t in toggles[-pick:]:
                t.click()
            wait_until(lambda: _submit(browser).is_enabled(), what=f"Submit on question {q}")
            _submit(browser).click()
            nxt = f"Question {q + 1} of {n}" if q < n else "Done"
            wait_until(lambda: nxt in _prompt(browser), what=nxt)
        saved = pd.read_csv(answers_file, dtype={"chosen": str})
        assert sorted(saved["question"]) == list(range(1, n + 1))
        right = int(saved["all_correct"].sum())
        assert f"{right} of {n} correct" in _prompt(browser)  # the score the page shows is the file's
        assert not [i for i in browser.find_elements("css selector", "img.widget-image") if i.is_displayed()]
        assert not _submit(browser).is_displayed()  # after the last answer only the score remains
        screenshot(browser, tmp_path, "study_done.png")


def test_tradeoff_explorer_redraws_in_the_browser(browser, smoke_run, tmp_path):
    assert smoke_run.returncode == 0, smoke_run.log[-2000:]
    params = {"RUN_DIR": str(smoke_run.run_dir), "SMOKE": True}
    with voila("08_figures", params, smoke_run.env, tmp_path / "voila") as url:
        browser.get(url)
        selects = wait_for(browser, ".widget-dropdown select", count=2, log=tmp_path / "voila" / "voila.log")
        from selenium.webdriver.support.ui import Select

        def figure():
            imgs = browser.find_elements("css selector", ".widget-output img")
            return imgs[-1].get_attribute("src") if imgs else None

        first = wait_until(figure, what="the explorer's figure")
        clip, encoder = Select(selects[0]), Select(selects[1])
        assert len(encoder.options) >= 2 and len(clip.options) >= 2
        browser.execute_script("arguments[0].scrollIntoView()", selects[0])
        screenshot(browser, tmp_path, "explorer.png")
        encoder.select_by_index(1)
        second = wait_until(lambda: figure() not in (None, first) and figure(), what="a redraw for the encoder")
        clip.select_by_index(1)
        wait_until(lambda: figure() not in (None, first, second), what="a redraw for the clip")


@pytest.mark.parametrize("required, outcome", [("1", "1 error"), ("", "1 skipped")])
def test_without_a_browser_ci_fails_and_elsewhere_it_skips(tmp_path, required, outcome):
    """.ci/run sets BDQ_REQUIRE_BROWSER=1: there a missing Chromium is an error, not a silent skip."""
    env = {**os.environ, "PATH": str(tmp_path), "BDQ_REQUIRE_BROWSER": required}  # nothing on PATH: no chromium
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "tests/test_browser.py::test_report_page_shows_the_run_and_every_link_resolves"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert outcome in done.stdout, done.stdout[-2000:]
    assert ("BDQ_REQUIRE_BROWSER=1 but the browser tests cannot run" in done.stdout) == bool(required)
    assert "no chromium/chromedriver on PATH" in done.stdout

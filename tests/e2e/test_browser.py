"""The web page in real headless Chromium (Debian's `chromium` + `chromium-driver`, driven by
Selenium) over the demo history: runs, failed runs of one pipeline, one PipelineRun, its
failing TaskRun's log, trends. Screenshots land in tests/artifacts/ for a person to look at.

Skipped, not failed, where chromium is not installed (`make test` installs it)."""

from __future__ import annotations

import base64
import gzip
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from layout.keys import log_key
from layout.store import LocalStore
from runlake.demo.write import write_demo
from runlake.serve import create_combined_app

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WAIT_S = 20

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromium-driver are not installed"
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    store = LocalStore(str(tmp_path_factory.mktemp("web") / "store"))
    write_demo(store, 300)
    return store


@pytest.fixture(scope="module")
def server(store: LocalStore) -> Iterator[str]:
    """`runlake serve`'s app over a demo history, on a loopback port."""
    app = create_combined_app({"RUNLAKE_STORE": store.url})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="runlake-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    # The driver is given by path so that Selenium Manager never tries to download one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, message: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S).until(condition, message)


def _shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    # The whole page, not just the window: DevTools captures beyond the viewport.
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    (ARTIFACTS / name).write_bytes(base64.b64decode(shot["data"]))


def _failing_pipeline(server: str) -> tuple[str, str, str]:
    """(pipeline, failed PipelineRun uid, its failed TaskRun uid whose step exited non-zero),
    found through the API the page reads."""
    groups = requests.get(
        f"{server}/v1/summary", params={"group_by": "pipeline"}, timeout=30
    ).json()["groups"]
    for group in sorted(groups, key=lambda g: -g["failed"]):
        runs = requests.get(
            f"{server}/v1/runs",
            timeout=30,
            params={"pipeline": group["key"], "status": "Failed", "kind": "PipelineRun"},
        ).json()["runs"]
        for run in runs:
            children = requests.get(f"{server}/v1/runs/{run['uid']}", timeout=30).json()["steps"]
            for child in children:
                if child["status"] != "Failed":
                    continue
                steps = requests.get(f"{server}/v1/runs/{child['uid']}", timeout=30).json()
                if any(s["exit_code"] not in (None, 0) for s in steps["steps"]):
                    return group["key"], run["uid"], child["uid"]
    raise AssertionError("the demo history has no failed PipelineRun with a failing step")


def test_browser_walkthrough(server: str, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    pipeline, pipelinerun_uid, taskrun_uid = _failing_pipeline(server)

    # 1. The runs table.
    driver.get(server + "/")
    _wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#runs-body tr[data-uid]"),
        "the runs table never filled",
    )
    rows = driver.find_elements(By.CSS_SELECTOR, "#runs-body tr[data-uid]")
    assert len(rows) == 50  # the API's default page
    assert rows[0].find_element(By.CSS_SELECTOR, ".status").text in (
        "Succeeded",
        "Failed",
        "Cancelled",
        "TimedOut",
        "Running",
        "Pending",
    )
    assert driver.find_element(By.ID, "next-page").is_displayed()
    _shot(driver, "web-1-runs.png")

    # 2. Failed runs of one pipeline, chosen in the filter bar.
    Select(driver.find_element(By.NAME, "status")).select_by_value("Failed")
    box = driver.find_element(By.NAME, "pipeline")
    box.clear()
    box.send_keys(pipeline)
    driver.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    _wait(
        driver,
        lambda d: (
            "status=Failed" in d.current_url
            and d.find_elements(By.CSS_SELECTOR, "#runs-body tr[data-uid]")
        ),
        "the filtered table never filled",
    )
    query = parse_qs(urlsplit(driver.current_url).query)
    assert query["status"] == ["Failed"] and query["pipeline"] == [pipeline]
    statuses = {
        row.get_attribute("data-status")
        for row in driver.find_elements(By.CSS_SELECTOR, "#runs-body tr[data-uid]")
    }
    assert statuses == {"Failed"}
    _shot(driver, "web-2-failed-runs.png")

    # 3. One failed PipelineRun: its TaskRuns on a timeline; the link keeps the filters.
    link = (
        driver.find_element(By.CSS_SELECTOR, f'tr[data-uid="{pipelinerun_uid}"] td.name a')
        if driver.find_elements(By.CSS_SELECTOR, f'tr[data-uid="{pipelinerun_uid}"]')
        else None
    )
    if link is None:  # further down the pages: open it directly, with the same filters
        driver.get(f"{server}/runs/{pipelinerun_uid}?status=Failed&pipeline={pipeline}")
    else:
        link.click()
    _wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#timeline svg .tl-bar"),
        "the PipelineRun's timeline never appeared",
    )
    assert "Failed" in driver.find_element(By.CSS_SELECTOR, ".run-head .status").text
    back = driver.find_element(By.ID, "back-link").get_attribute("href")
    assert "status=Failed" in back and "pipeline=" in back
    _shot(driver, "web-3-pipelinerun.png")

    # 4. Its failed TaskRun: the failing step's log opens by itself, colours rendered.
    driver.find_element(By.CSS_SELECTOR, f'tr[data-uid="{taskrun_uid}"] td.name a').click()
    _wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "table.steps .exit-bad"),
        "the TaskRun's steps never appeared",
    )
    failing = (
        driver.find_element(By.CSS_SELECTOR, "table.steps .exit-bad")
        .find_element(By.XPATH, "..")
        .get_attribute("data-step")
    )
    log = _wait(
        driver,
        lambda d: d.find_element(
            By.CSS_SELECTOR, f'details[data-step="{failing}"][open] .log[data-loaded="true"]'
        ),
        "the failing step's log never loaded",
    )
    expected = requests.get(
        f"{server}/v1/runs/{taskrun_uid}/logs", params={"step": failing}, timeout=30
    ).text
    assert log.text.strip()
    assert "\x1b" not in log.text
    plain = _strip_ansi(expected)
    assert plain.strip().splitlines()[-1].strip() in log.text
    if plain != expected:  # the log had colour codes: they became styled spans
        assert log.find_elements(By.CSS_SELECTOR, "span[style]")
    _shot(driver, "web-4-taskrun-log.png")

    # 5. Trends: runs per day and failure rate; p50/p95 per pipeline.
    driver.find_element(By.LINK_TEXT, "Trends").click()
    _wait(
        driver,
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#chart-daily svg .day rect")
            and d.find_elements(By.CSS_SELECTOR, "#chart-pipelines svg .line")
        ),
        "the trend charts never appeared",
    )
    assert driver.find_elements(By.CSS_SELECTOR, "#chart-daily svg .rate-line")
    _shot(driver, "web-5-trends.png")
    logs = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not logs, logs


def test_browser_escapes_hostile_filters(server: str, browser) -> None:
    from selenium.webdriver.common.by import By

    hostile = '"><img src=x onerror="document.title=\'pwned\'">'
    browser.get(server + "/?q=" + requests.utils.quote(hostile))
    _wait(
        browser,
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#runs-body tr.placeholder")
            and "Loading" not in d.find_element(By.ID, "runs-body").text
        ),
        "the table never settled",
    )
    assert browser.title != "pwned"
    assert "No runs match these filters." in browser.find_element(By.ID, "runs-body").text
    assert browser.find_element(By.NAME, "q").get_attribute("value") == hostile


def test_browser_shows_the_apis_error_and_an_unknown_run(server: str, browser) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/?since=last-tuesday")
    notice = _wait(
        browser,
        lambda d: (
            d.find_element(By.ID, "notice").is_displayed() and d.find_element(By.ID, "notice")
        ),
        "no error was shown",
    )
    assert "invalid filters" in notice.text and "since" in notice.text
    browser.get(server + "/runs/0a1b2c3d-0000-0000-0000-000000000000")
    _wait(
        browser,
        lambda d: "Run not found" in d.find_element(By.ID, "run").text,
        "an unknown run was not reported",
    )


def test_browser_long_log_arrives_progressively(server: str, store: LocalStore, browser) -> None:
    from selenium.webdriver.common.by import By

    uid, namespace, step = _succeeded_taskrun(server)
    lines = [f"\x1b[36mline {n:06d}\x1b[0m compiling module <{n}> & friends" for n in range(80_000)]
    text = "\n".join(lines) + "\n\x1b[1;32mLAST LINE\x1b[0m\n"
    store.write_bytes(log_key(namespace, uid, step), gzip.compress(text.encode(), 1))

    browser.get(f"{server}/runs/{uid}")
    box = _wait(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, f'details[data-step="{step}"]'),
        "the step's log box never appeared",
    )
    assert box.get_attribute("open") is None  # only the last (or failing) step opens by itself
    # Count the pieces the log is shown in: one piece would mean it waited for the whole log.
    browser.execute_script(
        """
        const log = arguments[0].querySelector(".log");
        window.__pieces = 0;
        new MutationObserver((records) => { window.__pieces += records.length; })
            .observe(log, {childList: true});""",
        box,
    )
    box.find_element(By.TAG_NAME, "summary").click()
    log = _wait(
        browser,
        lambda d: d.find_element(
            By.CSS_SELECTOR, f'details[data-step="{step}"] .log[data-loaded="true"]'
        ),
        "the long log never finished loading",
    )
    assert browser.execute_script("return window.__pieces") > 1
    assert browser.execute_script("return arguments[0].textContent.length", log) == len(
        _strip_ansi(text)
    )
    last = log.find_elements(By.CSS_SELECTOR, ".log-chunk span[style]")[-1]
    assert browser.execute_script("return arguments[0].textContent", last) == "LAST LINE"
    assert "bold" in last.get_attribute("style")
    _shot(browser, "web-6-long-log.png")


def _succeeded_taskrun(server: str) -> tuple[str, str, str]:
    """(uid, namespace, first step) of a succeeded TaskRun with two steps or more."""
    runs = requests.get(
        f"{server}/v1/runs",
        timeout=30,
        params={"kind": "TaskRun", "status": "Succeeded", "page_size": 100},
    ).json()["runs"]
    for run in runs:
        steps = requests.get(f"{server}/v1/runs/{run['uid']}", timeout=30).json()["steps"]
        if len(steps) >= 2:
            return run["uid"], run["namespace"], steps[0]["step"]
    raise AssertionError("the demo history has no succeeded TaskRun with two steps")


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;:?]*[ -/]*[@-~]", "", text)

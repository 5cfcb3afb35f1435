"""The Insights page in real headless Chromium over the crafted history of
tests/helpers/insight_history.py, whose every number is known: the numbers shown, and the
runs behind them one click away. Screenshots land in tests/artifacts/.

Skipped, not failed, where chromium is not installed (`make test` installs it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from ingest.archive import import_objects
from layout.store import LocalStore
from runlake.serve import create_combined_app
from tests.e2e.test_browser import CHROMEDRIVER, CHROMIUM, _shot, _wait, browser  # noqa: F401
from tests.helpers.insight_history import crafted_history, store_crafted_logs

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromium-driver are not installed"
)
WINDOW = "since=2026-03-01"  # the crafted history is of 2026-03-02


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = LocalStore(str(tmp_path_factory.mktemp("insights-web") / "store"))
    import_objects(store, crafted_history())
    store_crafted_logs(store)
    app = create_combined_app({"RUNLAKE_STORE": store.url})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


def _cells(row) -> list[str]:
    from selenium.webdriver.common.by import By

    return [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]


def _behind_uids(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    _wait(
        driver,
        lambda d: "Loading" not in d.find_element(By.ID, "behind-body").text,
        "the runs behind never loaded",
    )
    return [
        row.get_attribute("data-uid")
        for row in driver.find_elements(By.CSS_SELECTOR, "#behind-body tr[data-uid]")
    ]


def test_insights_page_shows_the_known_numbers_and_the_runs_behind(server: str, browser) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    driver.get(f"{server}/insights?{WINDOW}")
    _wait(
        driver,
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#flaky tr[data-task]")
            and d.find_elements(By.CSS_SELECTOR, "#critical-path tr[data-task]")
            and d.find_elements(By.CSS_SELECTOR, "#step-failures tr[data-step]")
            and d.find_elements(By.CSS_SELECTOR, "#usage tr[data-key]")
            and d.find_elements(By.CSS_SELECTOR, "#queue-chart svg .dot")
            and d.find_elements(By.CSS_SELECTOR, "#retries tr[data-uid]")
        ),
        "the insight cards never filled",
    )
    flaky = driver.find_element(By.CSS_SELECTOR, '#flaky tr[data-task="test"]')
    assert _cells(flaky)[1:] == ["4", "1", "0", "1 of 2", "50%"]
    lint = driver.find_element(By.CSS_SELECTOR, '#flaky tr[data-task="lint"]')
    assert _cells(lint)[3] == "1"  # passed on retry
    path = driver.find_element(By.CSS_SELECTOR, '#critical-path tr[data-task="test"]')
    assert _cells(path)[1:] == ["3 of 4", "47s", "2m 20s", "37%"]
    failing = driver.find_element(By.CSS_SELECTOR, '#step-failures tr[data-task="go-test"]')
    assert "--- FAIL: TestCheckout (0.01s)" in failing.text
    usage = driver.find_element(By.CSS_SELECTOR, '#usage tr[data-key="data"]')
    assert _cells(usage)[2:] == ["7", "56m 10s", "1.70"]
    # Every number on the page is a link (to the runs behind it).
    numbers = driver.find_elements(By.CSS_SELECTOR, ".insight-table td.num")
    assert numbers and all(
        cell.text == "—" or cell.find_elements(By.TAG_NAME, "a") for cell in numbers
    )
    _shot(driver, "insights-1-page.png")

    # Usage per label: the team label splits the namespaces' TaskRuns.
    Select(driver.find_element(By.ID, "usage-by")).select_by_value("label")
    _wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, '#usage tr[data-key="analytics"]'),
        "usage per team never appeared",
    )
    teams = driver.find_elements(By.CSS_SELECTOR, "#usage tr[data-key]")
    assert [row.get_attribute("data-key") for row in teams] == ["analytics", "checkout"]

    # The flips of `test`: the three TaskRuns of commit aaa, as the API lists them.
    flaky = driver.find_element(By.CSS_SELECTOR, '#flaky tr[data-task="test"]')
    flaky.find_elements(By.CSS_SELECTOR, "td.num a")[3].click()
    uids = _behind_uids(driver)
    assert uids == ["pr-a3-test", "pr-a2-test", "pr-a1-test"]
    expected = requests.get(
        f"{server}/v1/insights/flaky/runs",
        params={
            "since": "2026-03-01",
            "namespace": "shop",
            "pipeline": "diamond",
            "pipeline_task": "test",
            "measure": "flips",
        },
        timeout=30,
    ).json()["runs"]
    assert uids == [run["uid"] for run in expected]
    assert "inputs that both failed and passed" in driver.find_element(By.ID, "behind-title").text
    _shot(driver, "insights-2-runs-behind.png")

    # Back, then lint's one time on the critical path: pr-b1.
    driver.find_element(By.ID, "back-link").click()
    _wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, '#critical-path tr[data-task="lint"] a'),
        "the insights page never came back",
    )
    driver.find_element(By.CSS_SELECTOR, '#critical-path tr[data-task="lint"] td.num a').click()
    assert _behind_uids(driver) == ["pr-b1"]
    # And the failing step's 2 failures: the two dbt runs, newest first.
    driver.get(f"{server}/insights?{WINDOW}")
    link = _wait(
        driver,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, '#step-failures tr[data-task="dbt-run"] td.num a'
        ),
        "the failing steps never appeared",
    )[1]
    assert link.text == "2"
    link.click()
    assert _behind_uids(driver) == ["etl-fail-2", "etl-fail-1"]
    logs = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not logs, logs


def test_insights_page_shows_the_apis_error(server: str, browser) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get(f"{server}/insights?since=last-tuesday")
    notice = _wait(
        browser,
        lambda d: (
            d.find_element(By.ID, "notice").is_displayed() and d.find_element(By.ID, "notice")
        ),
        "no error was shown",
    )
    assert "invalid insight request" in notice.text and "since" in notice.text

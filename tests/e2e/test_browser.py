"""The web page in real headless Chromium (Debian's `chromium` + `chromium-driver`, driven by
Selenium) over the demo history: runs, failed runs of one pipeline, one PipelineRun, its
failing TaskRun's log, trends. Screenshots land in tests/artifacts/ for a person to look at.

Skipped, not failed, where chromium is not installed (`make test` installs it)."""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml
from werkzeug.serving import make_server

from ingest.app import create_app
from layout.inbox import write_inbox
from layout.keys import log_key
from layout.store import LocalStore
from runlake.demo.write import write_demo
from runlake.serve import create_combined_app
from tests.helpers.apps import close_writer
from tests.helpers.makefile import demo_event
from tests.helpers.servers import free_port
from tests.helpers.tekton import fixture_object
from webhooks.snapshots import objects_to_rows

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WAIT_S = 20

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromium-driver are not installed"
)


# A Running TaskRun whose last snapshot arrived 30 days ago, and nothing since.
STALE = "016_TaskRun_experimental-echo-incomplete.json"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    store = LocalStore(str(tmp_path_factory.mktemp("web") / "store"))
    write_demo(store, 300)
    # The event `make run` tells a new user to post: a TaskRun pending since 2021.
    headers, body = demo_event()
    ingest = create_app({"RUNLAKE_STORE": store.url})
    answer = ingest.test_client().post("/", headers=headers, data=body.read_bytes())
    assert answer.status_code == 202
    close_writer(ingest)
    # Ingest's clock cannot be set: the rows are made as ingest makes them, 30 days ago.
    old = datetime.now(UTC) - timedelta(days=30)
    write_inbox(store, objects_to_rows(fixture_object(STALE), old, "watcher"))
    return store


@contextmanager
def serving(config: dict) -> Iterator[str]:
    """`runlake serve`'s app on a loopback port."""
    app = create_combined_app(config)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join()


@pytest.fixture(scope="module")
def server(store: LocalStore) -> Iterator[str]:
    """`runlake serve`'s app over a demo history."""
    with serving({"RUNLAKE_STORE": store.url}) as url:
        yield url


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
    # Its TaskRuns' steps and logs on the same page, task -> step -> log: the failed TaskRun
    # is open with its failing step's log loaded, and every other TaskRun is there to open.
    children = requests.get(f"{server}/v1/runs/{pipelinerun_uid}", timeout=30).json()["steps"]
    boxes = driver.find_elements(By.CSS_SELECTOR, "#tasks details.task-box")
    assert [b.get_attribute("data-uid") for b in boxes] == [c["uid"] for c in children]
    failed = next(c for c in children if c["status"] in ("Failed", "TimedOut"))
    opened = driver.find_element(By.CSS_SELECTOR, "#tasks details.task-box[open]")
    assert opened.get_attribute("data-uid") == failed["uid"]
    if failed["uid"] == taskrun_uid:
        _wait(
            driver,
            lambda d: opened.find_elements(
                By.CSS_SELECTOR, '.log-box[open] .log[data-loaded="true"]'
            ),
            "the failed TaskRun's failing step log never loaded on the PipelineRun's page",
        )
        bad = opened.find_element(By.CSS_SELECTOR, "table.steps .exit-bad").find_element(
            By.XPATH, ".."
        )
        shown = opened.find_element(By.CSS_SELECTOR, ".log-box[open]")
        assert shown.get_attribute("data-step") == bad.get_attribute("data-step")
    _shot(driver, "web-3-pipelinerun.png")

    # 4. Its failed TaskRun: the failing step's log opens by itself, colours rendered.
    driver.find_element(
        By.CSS_SELECTOR, f'details.task-box[data-uid="{taskrun_uid}"] a.taskrun-link'
    ).click()
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


# ------------------------------------------------------- what a Tekton user looks for


def _sql(server: str, sql: str) -> list[dict]:
    answer = requests.post(f"{server}/v1/sql", json={"sql": sql}, timeout=30).json()
    return [dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]]


def _run(server: str, uid: str) -> dict:
    return requests.get(f"{server}/v1/runs/{uid}", timeout=30).json()


def _texts(element, css: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in element.find_elements(By.CSS_SELECTOR, css)]


def test_browser_run_page_shows_params_results_workspaces_retries_and_the_yaml(
    server: str, browser
) -> None:
    from selenium.webdriver.common.by import By

    (found,) = _sql(
        server,
        "SELECT uid FROM taskruns"
        " WHERE json_array_length(json_extract(object, '$.status.retriesStatus')) > 0"
        " AND json_extract(object, '$.spec.workspaces') IS NOT NULL"
        " ORDER BY created_at DESC LIMIT 1",
    )
    run = _run(server, found["uid"])
    obj = run["object"]
    browser.get(f"{server}/runs/{run['uid']}")
    facts = _wait(browser, lambda d: d.find_element(By.ID, "facts"), "the run never showed")
    assert obj["status"]["podName"] in facts.text
    tries = len(obj["status"]["retriesStatus"])
    assert f"{tries} of {obj['spec']['retries']}" in facts.text
    params = browser.find_element(By.ID, "params")
    assert _texts(params, "td.key") == [p["name"] for p in obj["spec"]["params"]]
    assert _texts(params, "td.value") == [p["value"] for p in obj["spec"]["params"]]
    workspaces = browser.find_element(By.ID, "workspaces")
    assert _texts(workspaces, "td.key") == [w["name"] for w in obj["spec"]["workspaces"]]
    attempts = browser.find_element(By.ID, "retries")
    pods = [s["podName"] for s in (*obj["status"]["retriesStatus"], obj["status"])]
    assert [row.split()[2] for row in _texts(attempts, "tbody tr")] == pods
    annotations = browser.find_element(By.ID, "annotations").text
    assert all(f"{k}\n{v}" in annotations for k, v in obj["metadata"]["annotations"].items())

    # The whole object as YAML, which reads back as the object, and a button that copies it.
    browser.find_element(By.CSS_SELECTOR, "#yaml summary").click()
    text = browser.execute_script("return document.getElementById('yaml-text').textContent")
    assert yaml.safe_load(text) == obj
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": server, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    button = browser.find_element(By.ID, "copy-yaml")
    button.click()
    _wait(browser, lambda d: button.text == "Copied", "the copy button never said Copied")
    copied = browser.execute_async_script(
        "navigator.clipboard.readText().then(arguments[0], (e) => arguments[0](String(e)))"
    )
    assert copied == text
    _shot(browser, "web-7-taskrun-details.png")

    # A TaskRun's results (v1 `results`; v1beta1's `taskResults` read the same way).
    (found,) = _sql(
        server,
        "SELECT uid FROM taskruns WHERE json_extract(object, '$.status.results') IS NOT NULL"
        " ORDER BY created_at DESC LIMIT 1",
    )
    results = _run(server, found["uid"])["object"]["status"]["results"]
    browser.get(f"{server}/runs/{found['uid']}")
    shown = _wait(browser, lambda d: d.find_element(By.ID, "results"), "no results shown")
    assert _texts(shown, "td.key") == [r["name"] for r in results]
    assert _texts(shown, "td.value") == [
        r["value"] if isinstance(r["value"], str) else json.dumps(r["value"], separators=(",", ":"))
        for r in results
    ]


def test_browser_pipelinerun_page_names_its_revision_and_author(server: str, browser) -> None:
    from selenium.webdriver.common.by import By

    (found,) = _sql(
        server,
        "SELECT uid FROM pipelineruns WHERE annotations['acme.dev/commit-author'] IS NOT NULL"
        " ORDER BY created_at DESC LIMIT 1",
    )
    obj = _run(server, found["uid"])["object"]
    revision = next(p["value"] for p in obj["spec"]["params"] if p["name"] == "git-revision")
    browser.get(f"{server}/runs/{found['uid']}")
    facts = _wait(browser, lambda d: d.find_element(By.ID, "facts"), "the run never showed")
    assert f"REVISION\n{revision}" in facts.text
    assert f"AUTHOR\n{obj['metadata']['annotations']['acme.dev/commit-author']}" in facts.text


def test_browser_runs_page_filters_by_task_and_labels(server: str, browser) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#runs-body tr[data-uid]"), "rows")
    browser.find_element(By.NAME, "task").send_keys("git-clone")
    browser.find_element(By.NAME, "label").send_keys("team=web, tekton.dev/pipeline")
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    _wait(browser, lambda d: "task=git-clone" in d.current_url, "the filters never applied")
    query = parse_qs(urlsplit(browser.current_url).query)
    assert query["task"] == ["git-clone"]
    assert query["label"] == ["team=web", "tekton.dev/pipeline"]
    expected = requests.get(
        f"{server}/v1/runs",
        params=[("task", "git-clone"), ("label", "team=web"), ("label", "tekton.dev/pipeline")],
        timeout=30,
    ).json()["runs"]
    assert expected
    _wait(
        browser,
        lambda d: (
            [
                r.get_attribute("data-uid")
                for r in d.find_elements(By.CSS_SELECTOR, "#runs-body tr[data-uid]")
            ]
            == [r["uid"] for r in expected]
        ),
        "the table does not show the API's runs for these filters",
    )
    assert browser.find_element(By.NAME, "label").get_attribute("value") == (
        "team=web, tekton.dev/pipeline"
    )


def test_browser_log_viewer_numbers_lines_searches_wraps_and_links_the_raw_text(
    server: str, browser
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _, _, uid = _failing_pipeline(server)
    browser.get(f"{server}/runs/{uid}")
    log = _wait(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, '.log-box[open] .log[data-loaded="true"]'),
        "the failing step's log never loaded",
    )
    box = log.find_element(By.XPATH, "..")
    step = box.get_attribute("data-step")
    raw = requests.get(f"{server}/v1/runs/{uid}/logs", params={"step": step}, timeout=30).text
    lines = _strip_ansi(raw).splitlines()
    numbers = browser.execute_script(
        "return [...arguments[0].querySelectorAll('.line')].map((l) => l.dataset.n)", log
    )
    assert numbers == [str(n) for n in range(1, len(lines) + 1)]
    # The numbers are drawn, not text: the log's text is the log, line for line.
    assert browser.execute_script("return arguments[0].textContent", log).splitlines() == lines

    word = next(w for w in re.findall(r"[A-Za-z]{4,}", " ".join(lines)))
    holding = [n for n, line in enumerate(lines) if word.lower() in line.lower()]
    search = box.find_element(By.CSS_SELECTOR, "input.log-search")
    search.send_keys(word.upper())  # any case
    count = box.find_element(By.CSS_SELECTOR, ".log-count")
    _wait(browser, lambda d: count.text == f"1 of {len(holding)}", "the search never counted")
    hits = log.find_elements(By.CSS_SELECTOR, ".line.hit")
    assert [int(h.get_attribute("data-n")) - 1 for h in hits] == holding
    search.send_keys(Keys.ENTER)
    expected = f"{2 if len(holding) > 1 else 1} of {len(holding)}"
    _wait(browser, lambda d: count.text == expected, "Enter never went to the next match")

    wrap = box.find_element(By.CSS_SELECTOR, "input.log-wrap")
    style = "return getComputedStyle(arguments[0]).whiteSpace"
    assert browser.execute_script(style, log) == "pre-wrap"
    wrap.click()
    assert browser.execute_script(style, log) == "pre"

    links = {a.text: a for a in box.find_elements(By.CSS_SELECTOR, ".log-toolbar a")}
    assert requests.get(links["Raw"].get_attribute("href"), timeout=30).text == raw
    assert links["Download"].get_attribute("href") == links["Raw"].get_attribute("href")
    assert links["Download"].get_attribute("download").endswith(f"-{step}.log")
    _shot(browser, "web-8-log-search.png")


def _days_of(points: str, dots: dict[float, str]) -> list[str]:
    """The day of each point of a polyline, by the dot drawn at its x."""
    xs = [float(p.split(",")[0]) for p in points.split()]
    return [dots[min(dots, key=lambda x: abs(x - px))] for px in xs]


def _consecutive(days: list[str]) -> bool:
    parsed = [date.fromisoformat(d) for d in days]
    return all((b - a).days == 1 for a, b in zip(parsed, parsed[1:], strict=False))


def test_browser_trend_lines_never_cross_a_day_without_runs(server: str, browser) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/trends")
    _wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-pipelines svg .dot"),
        "the pipeline charts never appeared",
    )
    gaps = 0
    for chart in browser.find_elements(By.CSS_SELECTOR, "#chart-pipelines svg"):
        dots = {
            float(dot.get_attribute("cx")): dot.find_element(By.TAG_NAME, "title").get_attribute(
                "textContent"
            )[:10]
            for dot in chart.find_elements(By.CSS_SELECTOR, ".dot.p50")
        }
        days = sorted(set(dots.values()))
        gaps += not _consecutive(days)
        for line in chart.find_elements(By.CSS_SELECTOR, "polyline.p50"):
            assert _consecutive(_days_of(line.get_attribute("points"), dots))
    assert gaps  # some pipeline has days without runs: the charts had a gap to keep
    daily = browser.find_element(By.CSS_SELECTOR, "#chart-daily svg")
    centres = {}
    for day in daily.find_elements(By.CSS_SELECTOR, "g.day"):
        bars = day.find_elements(By.CSS_SELECTOR, "rect[class^=bar]")
        if bars:
            x = float(bars[0].get_attribute("x")) + float(bars[0].get_attribute("width")) / 2
            title = day.find_element(By.TAG_NAME, "title").get_attribute("textContent")
            centres[x] = title[:10]
    for line in daily.find_elements(By.CSS_SELECTOR, "polyline.rate-line"):
        assert _consecutive(_days_of(line.get_attribute("points"), centres))
    _shot(browser, "web-9-trends-gaps.png")


def _listed(browser) -> list[dict]:
    from selenium.webdriver.common.by import By

    _wait(
        browser,
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#runs-body tr")
            and "Loading" not in d.find_element(By.ID, "runs-body").text
        ),
        "the runs page never settled",
    )
    return [
        {"uid": r.get_attribute("data-uid"), "status": r.get_attribute("data-status")}
        for r in browser.find_elements(By.CSS_SELECTOR, "#runs-body tr[data-uid]")
    ]


def test_browser_a_click_on_a_bar_or_point_opens_the_runs_it_counts(server: str, browser) -> None:
    from selenium.webdriver.common.by import By

    days = requests.get(
        f"{server}/v1/summary", params={"group_by": "day", "since": "30d"}, timeout=30
    ).json()["groups"]
    busiest = max((d for d in days if d["total"] <= 50), key=lambda d: d["succeeded"])
    browser.get(server + "/trends")
    bar = _wait(
        browser,
        lambda d: d.find_element(
            By.CSS_SELECTOR, f'#chart-daily g.day[data-day="{busiest["key"]}"] rect.bar-ok'
        ),
        "no bar for the busiest day",
    )
    bar.click()
    _wait(browser, lambda d: "/trends" not in d.current_url, "the bar opened nothing")
    query = parse_qs(urlsplit(browser.current_url).query)
    assert query["status"] == ["Succeeded"] and query["since"] == [busiest["key"]]
    listed = _listed(browser)
    assert len(listed) == busiest["succeeded"] and {r["status"] for r in listed} == {"Succeeded"}
    for uid in {r["uid"] for r in listed}:
        assert _run(server, uid)["created_at"].startswith(busiest["key"])

    browser.get(server + "/trends")
    dot = _wait(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, "#chart-pipelines section .dot.p50"),
        "no duration point",
    )
    pipeline = dot.find_element(By.XPATH, "ancestor::section[@data-pipeline]").get_attribute(
        "data-pipeline"
    )
    day = dot.get_attribute("data-day")
    counted = requests.get(
        f"{server}/v1/summary",
        params={"group_by": "day", "pipeline": pipeline, "kind": "PipelineRun", "since": day},
        timeout=30,
    ).json()["groups"][0]
    browser.execute_script(
        "arguments[0].closest('a').dispatchEvent(new MouseEvent('click', {bubbles: true}))", dot
    )
    _wait(browser, lambda d: "/trends" not in d.current_url, "the point opened nothing")
    listed = _listed(browser)
    assert counted["key"] == day and len(listed) == counted["total"], (
        browser.current_url,
        pipeline,
    )
    assert parse_qs(urlsplit(browser.current_url).query)["pipeline"] == [pipeline]


def test_browser_store_down_is_said_once(browser) -> None:
    from selenium.webdriver.common.by import By

    down = {
        "RUNLAKE_STORE": "s3://archive/runs",
        "RUNLAKE_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    }
    with serving(down) as url:
        browser.get(url + "/")
        notice = _wait(
            browser,
            lambda d: (
                d.find_element(By.ID, "notice").is_displayed() and d.find_element(By.ID, "notice")
            ),
            "no notice for a store that is down",
        )
        text = notice.text.lower()
        _shot(browser, "web-10-store-down.png")
    assert text.count("cannot be read") == 1, notice.text
    assert text.count("retry") == 1, notice.text


def test_browser_a_pending_runs_message_is_information_not_an_error(server: str, browser) -> None:
    from selenium.webdriver.common.by import By

    headers, body = demo_event()
    pending = json.loads(body.read_text())["taskRun"]
    browser.get(f"{server}/runs/{pending['metadata']['uid']}")
    message = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#run .message"), "message")
    assert "[place-tools]" in message.text
    assert "bad" not in message.get_attribute("class").split()
    assert message.value_of_css_property("background-color") != browser.execute_script(
        "return getComputedStyle(document.body).getPropertyValue('--bad-bg')"
    )
    browser.get(f"{server}/?q={pending['metadata']['name']}")
    (row,) = _listed(browser)
    cell = browser.find_element(By.CSS_SELECTOR, f'tr[data-uid="{row["uid"]}"] td.num')
    assert "running" not in cell.text and "d" not in cell.text.split()[-1]


def test_browser_a_run_unheard_of_for_30_days_shows_when_it_was_last_seen(
    server: str, browser
) -> None:
    from selenium.webdriver.common.by import By

    stale = fixture_object(STALE)
    browser.get(f"{server}/?q={stale['metadata']['name']}")
    (row,) = _listed(browser)
    cell = browser.find_element(By.CSS_SELECTOR, f'tr[data-uid="{row["uid"]}"] td.num')
    assert cell.text == "last seen 30 d ago"
    browser.get(f"{server}/runs/{row['uid']}")
    facts = _wait(browser, lambda d: d.find_element(By.ID, "facts"), "the run never showed")
    assert "DURATION\nlast seen 30 d ago" in facts.text and "LAST SEEN\n" in facts.text

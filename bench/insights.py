"""What each insight costs through the API, next to the runs list's first page in the same run.

    .venv/bin/python -m bench.insights [--runs 50000] [--repeat 5] [--quick] [--out-dir DIR]

Writes a demo history (`runlake.demo`, seed 7, 30 days: PipelineRuns with their task graphs,
TaskRuns with retries, CPU requests and step results) into a temporary store, with the logs
of failed steps only (the only logs an insight reads: step_failures' first error line), then
starts `runlake serve` on a loopback port and times, over HTTP, `GET /v1/runs` (first page)
and every `GET /v1/insights/...` answer the web page asks for, plus one runs-behind list.
`first` is the first time each request runs (the engine is already open and the views bound
by an earlier request); `warm` the median and best of `--repeat` more. Writes
bench/out/insights_<runs>.json; `python -m bench.report` renders it into bench/RESULTS.md.
The store is removed afterwards; it is never part of the repository.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from bench.ingest_rate import free_port
from bench.report import machine

ROOT = Path(__file__).resolve().parents[1]
QUICK_RUNS = 2000

# What the Insights page asks for (its default 30 days), and the runs list it sits beside.
REQUESTS: tuple[tuple[str, str], ...] = (
    ("runs first page", "/v1/runs"),
    ("retries", "/v1/insights/retries?since=30d&page_size=200"),
    ("flaky", "/v1/insights/flaky?since=30d"),
    ("queue per day", "/v1/insights/queue?since=30d&group_by=day&kind=TaskRun&page_size=400"),
    ("queue per namespace", "/v1/insights/queue?since=30d&group_by=namespace&kind=TaskRun"),
    ("critical-path per task", "/v1/insights/critical-path?since=30d&page_size=15"),
    ("critical-path per task, 7 days", "/v1/insights/critical-path?since=7d&page_size=15"),
    ("usage per namespace and week", "/v1/insights/usage?since=30d&group_by=namespace,week"),
    ("step-failures", "/v1/insights/step-failures?since=30d&page_size=15"),
    ("flaky, one pipeline, 7 days", "/v1/insights/flaky?since=7d&pipeline=go-service-ci"),
)


def _write_history(store_dir: str, runs: int) -> dict[str, Any]:
    """`runlake demo --runs N` without its logs, then the logs of the failed steps."""
    from layout.keys import log_key
    from layout.store import LocalStore
    from runlake.demo import demo_step_log, generate
    from runlake.demo.write import write_demo

    store = LocalStore(store_dir)
    started = time.perf_counter()
    summary = write_demo(store, runs, seed=7, logs=False)
    logs = 0
    for obj in generate(runs, seed=7):  # the same runs again (seeded), for their failures
        if obj["kind"] != "TaskRun":
            continue
        for step in obj["status"].get("steps", []):
            code = step.get("terminated", {}).get("exitCode")
            if code and step.get("terminationReason") != "Skipped":
                key = log_key(obj["metadata"]["namespace"], obj["metadata"]["uid"], step["name"])
                text = demo_step_log(obj, step["name"])
                store.write_bytes(key, gzip.compress(text.encode(), compresslevel=6))
                logs += 1
    return {"write_s": round(time.perf_counter() - started, 1), "demo": summary, "logs": logs}


def _serve(store_dir: str, clock: datetime | None = None) -> tuple[subprocess.Popen, str]:
    """`runlake serve` on the store; with `clock`, its clock set there (libfaketime), so that
    `since=30d` means the 30 days before a built history's end."""
    port = free_port()
    env = {**os.environ, "RUNLAKE_SQL_TIMEOUT_S": "600"}
    if clock is not None:
        from bench.storage import faketime_env

        env.update(faketime_env(clock))
    server = subprocess.Popen(
        [sys.executable, "-m", "runlake.cli.main", "serve", "--host", "127.0.0.1", "--port",
         str(port), "--store", store_dir],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/healthz", timeout=2)
            return server, base
        except requests.RequestException:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("runlake serve did not come up within 60 s")


def _time(base: str, path: str) -> tuple[float, int, dict]:
    started = time.perf_counter()
    response = requests.get(base + path, timeout=900)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    body = response.json()
    return elapsed, len(body.get("rows", body.get("runs", []))), body


def measure(base: str, repeat: int) -> dict[str, dict[str, Any]]:
    _time(base, "/v1/runs?page_size=1")  # opens the engine and binds the views
    timings: dict[str, dict[str, Any]] = {}
    requests_ = list(REQUESTS)
    first_flaky = _time(base, "/v1/insights/flaky?since=30d")[2]["rows"]
    if first_flaky:
        top = first_flaky[0]
        requests_.append(
            (
                "runs behind a flaky task's failures",
                "/v1/insights/flaky/runs?since=30d&measure=failures"
                f"&namespace={top['namespace']}&pipeline={top['pipeline']}"
                f"&pipeline_task={top['pipeline_task']}",
            )
        )
    for name, path in requests_:
        try:
            first, rows, _ = _time(base, path)
        except requests.HTTPError as exc:  # recorded, not fatal: the others are still timed
            body = exc.response.json() if exc.response is not None else {}
            problem = "; ".join(body.get("errors") or [body.get("error", str(exc))])
            timings[name] = {"path": path, "status": exc.response.status_code, "error": problem}
            print(f"  {name}: {exc.response.status_code} {problem}", flush=True)
            continue
        warm = [_time(base, path)[0] for _ in range(repeat)]
        timings[name] = {
            "path": path,
            "rows": rows,
            "first_s": round(first, 3),
            "warm_median_s": round(statistics.median(warm), 3),
            "warm_best_s": round(min(warm), 3),
        }
        print(f"  {name}: first {first:.2f} s, warm {statistics.median(warm):.2f} s", flush=True)
    return timings


def run_on_history(data_dir: Path, repeat: int, out_dir: Path) -> dict[str, Any]:
    """The same requests against a history bench.storage built (its manifest says how many
    runs and when it ends), served with the clock at its end; the store is not changed
    except by the materializer that `runlake serve` runs (its inbox is moved into the
    tables)."""
    from bench import history

    manifest = json.loads((data_dir / "manifest.json").read_text())
    server, base = _serve(str(data_dir / "store"), history.NOW)
    try:
        timings = measure(base, repeat)
        load = os.getloadavg()
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {
        "runs": manifest["runs"],
        "repeat": repeat,
        "machine": machine(),
        "load_average": [round(x, 1) for x in load],
        "history": {"built_by": "bench.storage", "snapshots": manifest["snapshots"]},
        "timings": timings,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"insights_{manifest['runs']}.json").write_text(json.dumps(result, indent=2))
    return result


def run(runs: int, repeat: int, out_dir: Path) -> dict[str, Any]:
    store_dir = tempfile.mkdtemp(prefix="runlake-bench-insights-")
    server = None
    try:
        print(f"writing {runs} demo runs", flush=True)
        history = _write_history(store_dir, runs)
        stored = sum(p.stat().st_size for p in Path(store_dir).rglob("*") if p.is_file())
        server, base = _serve(store_dir)
        timings = measure(base, repeat)
        load = os.getloadavg()  # the machine is shared: how busy it was while timing
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(store_dir, ignore_errors=True)
    result = {
        "runs": runs,
        "repeat": repeat,
        "machine": machine(),
        "load_average": [round(x, 1) for x in load],
        "history": {**history, "store_bytes": stored},
        "timings": timings,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"insights_{runs}.json").write_text(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.insights", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5, help="warm requests of each")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} runs, 2 repeats")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench/out")
    parser.add_argument(
        "--history",
        type=Path,
        help="a data dir bench.storage built (e.g. bench/data/storage_1000000): time the "
        "insights on it instead of writing a demo history",
    )
    args = parser.parse_args(argv)
    if args.history is not None:
        run_on_history(args.history, args.repeat, args.out_dir)
        return
    runs, repeat = (QUICK_RUNS, 2) if args.quick else (args.runs, args.repeat)
    run(runs, repeat, args.out_dir)


if __name__ == "__main__":
    main()

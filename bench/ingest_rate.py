"""Events per second through `gunicorn -w 2`: the bare app (ceiling), ingest on the local
store, and ingest on S3 behind a moto server, side by side in one run, loaded by wrk from
another process. Also files written per 1,000 events and wrk's latency percentiles.

    .venv/bin/python -m bench.ingest_rate [--seconds 15] [--connections 64]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import requests

from bench.report import machine

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT.parent / "shared/fixtures/tekton/029_TaskRun_konflux-succeeded-results-v1.json"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=10)
            return
        except requests.RequestException:  # not listening yet, or too busy to answer yet
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def body_template(path: Path) -> Path:
    obj = json.loads(FIXTURE.read_text())
    obj["metadata"]["uid"] = "__UID__"
    obj["metadata"]["name"] = "bench-__UID__"
    path.write_text(json.dumps({"taskRun": obj}))
    return path


def run_wrk(url: str, body: Path, seconds: int, connections: int) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(ROOT / "bench/post_event.lua"),
            url,
            "--",
            str(body),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "events_per_s": rate,
        "requests": total,
        "p50": latency.get("50"),
        "p99": latency.get("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def gunicorn(app: str, port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            app,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def peak_rss(pid: int) -> dict:
    """VmHWM (peak resident set) of the gunicorn master and of each worker, in bytes."""

    def hwm(p: int) -> int:
        with open(f"/proc/{p}/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))

    workers = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid
            ):
                workers.append(hwm(int(entry.name)))
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while we looked
    return {"master_peak_rss_bytes": hwm(pid), "worker_peak_rss_bytes": sorted(workers)}


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(30)


def measure(name: str, app: str, env: dict, body: Path, args, count_files) -> dict:
    port = free_port()
    server = gunicorn(app, port, env)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        result = run_wrk(f"http://127.0.0.1:{port}/", body, args.seconds, args.connections)
        result.update(peak_rss(server.pid))
    finally:
        stop(server)
    if count_files:
        files = count_files()
        result["files"] = files
        result["files_per_1000_events"] = round(1000 * files / max(result["requests"], 1), 1)
    result["name"] = name
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--out", default=str(ROOT / "bench/out/ingest_rate.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="runlake-bench-"))
    body = body_template(work / "body.json")
    results = []

    results.append(
        measure("bare flask (ceiling)", "bench.bare_app:create_app()", {}, body, args, None)
    )

    local = work / "store"
    results.append(
        measure(
            "ingest, local store",
            "ingest.app:create_app()",
            {"RUNLAKE_STORE": str(local)},
            body,
            args,
            lambda: sum(1 for _ in (local / "inbox").glob("*.ndjson")),
        )
    )

    moto_port = free_port()
    moto = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{moto_port}"
    aws = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    try:
        wait_until_up(endpoint)
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        s3.create_bucket(Bucket="bench")

        def s3_files() -> int:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket="bench")
            return sum(len(page.get("Contents", [])) for page in pages)

        results.append(
            measure(
                "ingest, S3 (moto server)",
                "ingest.app:create_app()",
                {"RUNLAKE_STORE": "s3://bench/archive", "RUNLAKE_S3_ENDPOINT": endpoint, **aws},
                body,
                args,
                s3_files,
            )
        )
    finally:
        stop(moto)
        shutil.rmtree(work, ignore_errors=True)

    ceiling = results[0]["events_per_s"]
    for result in results[1:]:
        result["ratio_to_bare"] = round(result["events_per_s"] / ceiling, 3)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "machine": machine(),
                "connections": args.connections,
                "seconds": args.seconds,
                "results": results,
            },
            indent=2,
        )
    )
    for r in results:
        print(
            f"{r['name']:28} {r['events_per_s']:8.0f} ev/s  p50 {r['p50']:>8} "
            f"p99 {r['p99']:>8}  ratio {r.get('ratio_to_bare', 1):5}  "
            f"files/1000 {r.get('files_per_1000_events', '-')}  non-2xx {r['non_2xx']}"
        )


if __name__ == "__main__":
    main()

"""Events per second through `gunicorn -w 2`: the bare Flask app (the ceiling, on gunicorn's
defaults) and runlake's ingest (on its gunicorn.conf.py) side by side, loaded by wrk from
another process, in rounds that interleave the servers so that each round's ratio compares
figures taken under the same machine load. Also the other worker classes for both apps,
ingest on S3 behind a moto server, files per 1,000 events, wrk's latency percentiles, the
CPU time per event of the workers, of wrk and of moto, and (with py-spy) where the workers'
time goes per request.

    .venv/bin/python -m bench.ingest_rate [--seconds 15] [--connections 64] [--rounds 3]
        [--no-s3] [--no-profile] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import boto3
import requests

from bench.report import machine

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT.parent / "shared/fixtures/tekton/029_TaskRun_konflux-succeeded-results-v1.json"
VENV_BIN = Path(sys.executable).parent
CEILING = "bare flask, gunicorn defaults (sync)"
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
PROFILE_RATE_HZ = 100

# Where a worker's Python time goes, by the innermost frame of each py-spy sample that belongs
# to one of these (first match wins); samples with none (thread pool, sockets, selectors, the
# interpreter's own frames) are gunicorn's.
CATEGORIES = (
    ("inbox write (encode, temp file, fsync, rename; or PUT)", ("layout/", "pyarrow/")),
    ("group commit (queue, wait, wake)", ("ingest/writer.py", "ingest/context.py")),
    ("decode and normalize (webhooks/, CloudEvents SDK)", ("webhooks/", "cloudevents/")),
    ("metrics (prometheus_client)", ("prometheus_client/", "ingest/metrics.py")),
    ("ingest's views (auth, body, answer)", ("ingest/", "service/")),
    ("bare app's view", ("bench/bare_app.py",)),
    ("Flask and werkzeug", ("flask/", "werkzeug/")),
    ("gunicorn (accept, parse, respond; threads or greenlets)", ("gunicorn/", "gevent/")),
)
GUNICORN_CATEGORY = CATEGORIES[-1][0]


@dataclass
class Server:
    name: str
    app: str
    gunicorn_args: list[str]
    store: str | None = None  # None (bare), "local" or "s3"
    env: dict[str, str] = field(default_factory=dict)

    def command(self, bind: str) -> list[str]:
        return ["gunicorn", *self.gunicorn_args, "-b", bind, self.app]


def servers(with_s3: bool) -> list[Server]:
    """The ceiling first; ingest as deployed (gunicorn.conf.py: gevent for ingest); and the
    other worker classes for both apps, named on the command line."""
    conf = ["-c", "gunicorn.conf.py", "-w", "2"]
    bare = "bench.bare_app:create_app()"
    ingest = "ingest.app:create_app()"
    found = [
        Server(CEILING, bare, ["-w", "2"]),
        Server("bare flask, gthread (32 threads)", bare, [*conf, "-k", "gthread"]),
        Server("bare flask, gevent", bare, ["-w", "2", "-k", "gevent"]),
        Server("ingest, local store (gevent)", ingest, conf, store="local"),
        Server("ingest, local store, gthread", ingest, [*conf, "-k", "gthread"], store="local"),
    ]
    if with_s3:
        found.append(Server("ingest, S3 (moto server, gevent)", ingest, conf, store="s3"))
    return found


def worker_class(app: str) -> str:
    """The worker class gunicorn.conf.py chooses for `app`."""
    printed = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--print-config", app],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return re.search(r"^worker_class\s*=\s*(\S+)", printed, re.M).group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 60) -> None:
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


def wrk_command(url: str, body: Path, seconds: int, connections: int) -> list[str]:
    return [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "30s",
        "-s",
        "bench/post_event.lua",
        url,
        "--",
        str(body),
    ]


def run_wrk(command: list[str]) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    wrk_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "events_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": total,
        "p50": latency.get("50"),
        "p99": latency.get("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "wrk_cpu_ms_per_event": round(1000 * wrk_cpu / max(total, 1), 3),
    }


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int(_stat(int(entry.name))[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while we looked
    return found


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat's fields after the command name: [state, ppid, ...]."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pids: list[int]) -> tuple[float, float]:
    """(user, system) CPU seconds the processes have used so far."""
    user = system = 0
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        user += int(fields[11])
        system += int(fields[12])
    return user / TICKS_PER_S, system / TICKS_PER_S


def peak_rss(pids: list[int]) -> list[int]:
    """VmHWM (peak resident set) of each process, in bytes."""

    def hwm(pid: int) -> int:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))

    return sorted(hwm(pid) for pid in pids)


def wait_until_settled(pids: list[int], timeout: float = 30) -> None:
    """Wait until no worker has used CPU for half a second: every worker has imported its app
    and is waiting in accept. /healthz answering shows only that one has, and wrk's
    keep-alive connections stay with the workers that accepted them, so a worker still
    booting when the load starts would get none of them."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        now = [cpu_seconds([pid]) for pid in pids]
        if now == last:
            return
        last = now
        time.sleep(0.5)


def load_average() -> float:
    return os.getloadavg()[0]


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(30)


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.body = body_template(work / "body.json")
        self.body_bytes = self.body.stat().st_size
        self.moto: subprocess.Popen | None = None
        self.s3 = None
        self.endpoint = ""
        self.stores = 0

    def start_moto(self) -> None:
        port = free_port()
        self.moto = subprocess.Popen(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.endpoint = f"http://127.0.0.1:{port}"
        wait_until_up(self.endpoint)
        self.s3 = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

    def store_env(self, server: Server) -> tuple[dict[str, str], Callable[[], int | None]]:
        """The store's settings for a fresh store, and a function counting its inbox objects."""
        self.stores += 1
        if server.store == "local":
            directory = self.work / f"store-{self.stores}"
            return {"RUNLAKE_STORE": str(directory)}, lambda: sum(
                1 for _ in (directory / "inbox").glob("*.ndjson")
            )
        if server.store == "s3":
            bucket = f"bench-{self.stores}"
            self.s3.create_bucket(Bucket=bucket)

            def count() -> int:
                pages = self.s3.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, Prefix="archive/inbox/"
                )
                return sum(len(page.get("Contents", [])) for page in pages)

            return {
                "RUNLAKE_STORE": f"s3://{bucket}/archive",
                "RUNLAKE_S3_ENDPOINT": self.endpoint,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true",
            }, count
        return {}, lambda: None

    def measure(self, server: Server, profile_to: Path | None = None) -> dict:
        env, count_files = self.store_env(server)
        port = free_port()
        command = server.command(f"127.0.0.1:{port}")
        process = subprocess.Popen(
            [str(VENV_BIN / command[0]), *command[1:]],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        load = command_load = None
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz")
            workers = children(process.pid)
            wait_until_settled(workers)
            spies = [self.spy(pid, profile_to, n) for n, pid in enumerate(workers)]
            spies = [spy for spy in spies if spy is not None]
            load = load_average()
            cpu_before = [cpu_seconds([pid]) for pid in workers]
            moto_cpu = cpu_seconds([self.moto.pid]) if self.moto and server.store == "s3" else None
            wrk = wrk_command(
                f"http://127.0.0.1:{port}/", self.body, self.args.seconds, self.args.connections
            )
            result = run_wrk(wrk)
            # (user, system) seconds each worker spent under the load
            by_worker = [
                (after[0] - before[0], after[1] - before[1])
                for after, before in zip(
                    (cpu_seconds([pid]) for pid in workers), cpu_before, strict=True
                )
            ]
            user = sum(worker_user for worker_user, _ in by_worker)
            system = sum(worker_system for _, worker_system in by_worker)
            command_load = load_average()
            for spy in spies:
                spy.wait(60)
            result["worker_peak_rss_bytes"] = peak_rss(workers)
        finally:
            stop(process)
        events = max(result["requests"], 1)
        result.update(
            name=server.name,
            command=shlex.join(command),
            wrk_command=shlex.join(wrk),
            load_before=round(load, 2),
            load_after=round(command_load, 2),
            worker_user_ms_per_event=round(1000 * user / events, 3),
            worker_system_ms_per_event=round(1000 * system / events, 3),
            # How evenly the workers shared the load (keep-alive connections stay where
            # they were accepted): each worker's share of the workers' CPU time.
            worker_cpu_shares=[
                round(sum(worker) / max(user + system, 1e-9), 2) for worker in by_worker
            ],
        )
        if moto_cpu is not None:
            spent = sum(cpu_seconds([self.moto.pid])) - sum(moto_cpu)
            result["moto_cpu_ms_per_event"] = round(1000 * spent / events, 3)
        files = count_files()
        if files is not None:
            result["files"] = files
            result["files_per_1000_events"] = round(1000 * files / events, 1)
        print(json.dumps(result), flush=True)
        return result

    def spy(self, pid: int, profile_to: Path | None, n: int) -> subprocess.Popen | None:
        if profile_to is None:
            return None
        return subprocess.Popen(
            [
                str(VENV_BIN / "py-spy"),
                "record",
                "--gil",  # only the thread holding the GIL: the worker's Python CPU time
                "-r",
                str(PROFILE_RATE_HZ),
                "-d",
                str(self.args.seconds),
                "-f",
                "raw",
                "-o",
                f"{profile_to}.{n}",
                "-p",
                str(pid),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def categorize(raw_files: list[Path]) -> dict[str, float]:
    """The share of py-spy samples (collapsed stacks, `frame;frame;... count`) per category."""
    counts: Counter[str] = Counter()
    for path in raw_files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            counts[_category(stack.split(";"))] += int(count)
    total = sum(counts.values())
    return {name: round(n / total, 4) for name, n in counts.most_common()} if total else {}


def _category(frames: list[str]) -> str:
    for frame in reversed(frames):
        where = frame[frame.find("(") + 1 :]
        for name, prefixes in CATEGORIES:
            if any(where.startswith(prefix) for prefix in prefixes):
                return name
    return GUNICORN_CATEGORY


def profile(bench: Bench, server: Server) -> dict:
    raw = bench.work / f"profile-{bench.stores}"
    result = bench.measure(server, profile_to=raw)
    shares = categorize(sorted(raw.parent.glob(raw.name + ".*")))
    user = result["worker_user_ms_per_event"]
    return {
        "name": server.name,
        "events_per_s": result["events_per_s"],
        "load_before": result["load_before"],
        "worker_user_ms_per_event": user,
        "worker_system_ms_per_event": result["worker_system_ms_per_event"],
        "shares": shares,
        "user_ms_per_event": {name: round(user * share, 3) for name, share in shares.items()},
    }


def summarize(runs: list[dict]) -> list[dict]:
    """Per server, the median over the rounds of what a round measured."""
    keys = (
        "events_per_s",
        "ratio_to_bare",
        "files_per_1000_events",
        "worker_user_ms_per_event",
        "worker_system_ms_per_event",
        "wrk_cpu_ms_per_event",
        "moto_cpu_ms_per_event",
    )
    summary = []
    for name in dict.fromkeys(run["name"] for run in runs):
        mine = [run for run in runs if run["name"] == name]
        row = {"name": name, "command": mine[0]["command"], "rounds": len(mine)}
        for key in keys:
            values = [run[key] for run in mine if run.get(key) is not None]
            if values:
                row[key] = round(median(values), 3)
        row["non_2xx"] = sum(run["non_2xx"] for run in mine)
        row["worker_peak_rss_bytes"] = max(
            (run["worker_peak_rss_bytes"] for run in mine), key=lambda rss: sum(rss)
        )
        summary.append(row)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-s3", action="store_true", help="skip ingest on the moto server")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="measure only the servers whose name contains this (repeatable); the bare app on"
        " gunicorn's defaults is always measured, as every ratio's denominator",
    )
    parser.add_argument("--out", default=str(ROOT / "bench/out/ingest_rate.json"))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="runlake-bench-"))
    bench = Bench(args, work)
    chosen = [
        server
        for server in servers(with_s3=not args.no_s3)
        if server.name == CEILING or not args.only or any(o in server.name for o in args.only)
    ]
    runs, profiles = [], []
    try:
        if any(server.store == "s3" for server in chosen):
            bench.start_moto()
        for round_number in range(1, args.rounds + 1):
            measured = [bench.measure(server) for server in chosen]
            ceiling = measured[0]["events_per_s"]
            for result in measured:
                result["round"] = round_number
                result["ratio_to_bare"] = round(result["events_per_s"] / ceiling, 3)
            runs += measured
        if not args.no_profile and shutil.which(str(VENV_BIN / "py-spy")):
            profiles = [
                profile(bench, server)
                for server in chosen
                if server.name == CEILING or server.store == "local"
            ]
    finally:
        if bench.moto is not None:
            stop(bench.moto)
        shutil.rmtree(work, ignore_errors=True)

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "machine": machine(),
                "command": shlex.join(
                    ["python", "-m", "bench.ingest_rate", *(argv or sys.argv[1:])]
                ),
                "connections": args.connections,
                "seconds": args.seconds,
                "rounds": args.rounds,
                "body_bytes": bench.body_bytes,
                "runs": runs,
                "summary": summarize(runs),
                "profiles": profiles,
                "profile_rate_hz": PROFILE_RATE_HZ,
            },
            indent=2,
        )
    )
    for run in runs:
        print(
            f"round {run['round']} load {run['load_before']:5.2f}  {run['name']:48} "
            f"{run['events_per_s']:8.0f} ev/s  ratio {run['ratio_to_bare']:5.2f}  "
            f"files/1000 {run.get('files_per_1000_events', '-')}  non-2xx {run['non_2xx']}"
        )


if __name__ == "__main__":
    main()

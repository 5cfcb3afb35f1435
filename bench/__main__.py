"""`make bench`: every benchmark in bench/, each writing its raw JSON under bench/out/, then
bench/RESULTS.md from all of them.

    .venv/bin/python -m bench [--runs 100000,1000000] [--quick] [--no-postgres] [--data-dir DIR]

Each benchmark runs in its own process, so one's memory and threads do not colour the next.
`--quick` is a smoke size (a few seconds of load, 5,000 runs) that proves the scripts work;
its figures mean nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bench import count_list, report

ROOT = Path(__file__).resolve().parents[1]
QUICK_RUNS = 5000


def _run(module: str, *args: str) -> None:
    command = [sys.executable, "-m", module, *args]
    print("+ " + " ".join(command[1:]), flush=True)
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, check=True)
    print(f"  ({time.monotonic() - started:.0f} s)", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        type=count_list(100, "run count"),
        default=[100_000, 1_000_000],
        help="comma-separated run counts for the storage benchmark",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke size: minutes, not hours")
    parser.add_argument(
        "--no-postgres",
        action="store_true",
        help="skip PostgreSQL (Tekton Results' design) in the storage benchmark",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=ROOT / "bench/data",
        help="where each size's history is built once and reused (not committed)",
    )
    args = parser.parse_args(argv)
    sizes = [QUICK_RUNS] if args.quick else args.runs
    out_dir = ROOT / "bench/out"
    if args.quick:
        # a smoke run must not overwrite real figures
        out_dir = out_dir / "quick"
    out_dir.mkdir(parents=True, exist_ok=True)

    _run(
        "bench.ingest_rate",
        "--seconds",
        "3" if args.quick else "15",
        "--out",
        str(out_dir / "ingest_rate.json"),
    )
    for runs in sizes:
        _run(
            "bench.storage",
            *(["--quick"] if args.quick else ["--runs", str(runs)]),
            "--data-dir",
            str(args.data_dir / f"storage_{runs}"),
            "--out-dir",
            str(out_dir),
            *(["--no-postgres"] if args.no_postgres else []),
        )
    few = ["--repeats", "1", "--rounds", "1"] if args.quick else []
    history_dir = args.data_dir / f"storage_{max(sizes)}"
    _run("bench.rowgroups", "--data-dir", str(history_dir), "--out-dir", str(out_dir), *few)
    for runs in sizes:
        _run("bench.insights", "--runs", str(runs), "--out-dir", str(out_dir),
             *(["--repeat", "2"] if args.quick else []))  # fmt: skip
    for logs in ([], ["--logs"]):
        records = "2000" if args.quick else ("20000" if logs else "100000")
        name = "results_import_logs.json" if logs else "results_import.json"
        _run("bench.results_import", "--records", records, *logs, "--out", str(out_dir / name))
    results = out_dir / "RESULTS.md" if args.quick else report.RESULTS
    report.main(["--out-dir", str(out_dir), "--results", str(results)])


if __name__ == "__main__":
    main()

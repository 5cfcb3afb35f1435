"""What the `runs` table's row-group size alone costs each of issue 13's questions.

    .venv/bin/python -m bench.rowgroups --data-dir bench/data/storage_1000000 \\
        [--sizes 1024,16384,65536] [--repeats 9] [--rounds 2] [--out-dir bench/out]

On a history bench.storage built, the runs table's files at its newest version are written
again, one per partition as compaction leaves them (sorted by uid, snappy), with row groups of
each size, under `<data-dir>/rowgroups/<size>/`. Each question's SQL (the floor's: what
runlake runs, without the inbox, the HTTP layer or the engine's views) is then asked of DuckDB
over each copy, in rounds that alternate the sizes, so the machine's drift falls on all alike.
A run by uid reads only its partition, as runlake does after its uid index says which.

DuckDB 1.5 decodes a whole row group of every column a query reads (it skips no pages), so
one size serves scans (fewer, larger groups) or lookups and uid-ordered pages (smaller ones),
not both: these figures are the trade the layout makes (bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench import count_list, history, report
from bench.storage import OUT, floor_connection, floor_owned_by_label, questions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rowgroups", description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True, help="a bench.storage history")
    parser.add_argument("--sizes", type=count_list(1, "row count"), default=[1024, 16384, 65536])
    parser.add_argument("--repeats", type=int, default=9, help="warm repeats per round (9)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the sizes (2)")
    parser.add_argument(
        "--out-dir", type=Path, default=OUT, help="rowgroups_<runs>.json goes here (bench/out)"
    )
    return parser.parse_args(argv)


def rewrite(store_dir: Path, target: Path, rows_per_group: int) -> list[tuple[str, str, Path]]:
    """The runs table's current files, one per partition, in compaction's sort order, in row
    groups of `rows_per_group`, under `target`: (kind, date, file) for each partition."""
    import duckdb
    import pyarrow.parquet as pq

    from layout.compaction import ZORDER
    from layout.literals import sql_string
    from layout.store import open_store
    from layout.tables import RUNS, Tables

    state = Tables(open_store(str(store_dir))).state(RUNS)
    partitions: dict[tuple[str, str], list[str]] = {}
    for file in state.files:
        partitions.setdefault((file.kind, file.date), []).append(file.path)
    con = duckdb.connect()
    written = []
    for (kind, day), paths in sorted(partitions.items()):
        out = target / f"kind={kind}" / f"date={day}" / "part.parquet"
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            listed = ", ".join(sql_string(p) for p in paths)
            table = con.execute(
                f"SELECT * FROM read_parquet([{listed}]) ORDER BY {', '.join(ZORDER[RUNS])}"
            ).to_arrow_table()
            partial = out.with_suffix(".partial")
            pq.write_table(table, partial, row_group_size=rows_per_group, compression="snappy")
            partial.rename(out)
        written.append((kind, day, out))
    con.close()
    return written


def _connection(paths: list[Path]) -> Any:
    """The floor's views over these files of one copy."""
    from layout.literals import sql_string

    listed = ", ".join(sql_string(str(path)) for path in paths)
    return floor_connection(
        f"read_parquet([{listed}], hive_partitioning = true, "
        "hive_types = {'kind': 'VARCHAR', 'date': 'VARCHAR'})"
    )


def _partition_of(files: list[tuple[str, str, Path]], uid: str) -> tuple[str, str]:
    con = _connection([path for *_, path in files])
    try:
        return con.execute("SELECT kind, date FROM runs WHERE uid = ?", [uid]).fetchone()
    finally:
        con.close()


def measure(data_dir: Path, sizes: list[int], repeats: int, rounds: int) -> dict[str, Any]:
    manifest = json.loads((data_dir / "manifest.json").read_text())
    uid = manifest["sample_uid"]
    qs = questions(uid, history.NOW, floor_owned_by_label(data_dir / "floor.parquet"))
    copies = {
        size: rewrite(data_dir / "store", data_dir / "rowgroups" / str(size), size)
        for size in sizes
    }
    # The same runs in every copy: the sample run's partition is one (kind, date) in all.
    own = _partition_of(copies[sizes[0]], uid)
    timings: dict[int, dict[str, list[float]]] = {size: {q.name: [] for q in qs} for size in sizes}
    rows: dict[int, dict[str, int]] = {size: {} for size in sizes}
    for _ in range(rounds):
        for size, files in copies.items():
            every = [path for *_, path in files]
            mine = [path for kind, day, path in files if (kind, day) == own]
            for q in qs:
                con = _connection(mine if q.name == "run_by_uid" else every)
                try:
                    rows[size][q.name] = len(con.execute(q.floor_sql, q.floor_params).fetchall())
                    for _ in range(repeats):
                        started = time.perf_counter()
                        con.execute(q.floor_sql, q.floor_params).fetchall()
                        timings[size][q.name].append(time.perf_counter() - started)
                finally:
                    con.close()
    return {
        "machine": report.machine(),
        "runs": manifest["runs"],
        "data_dir": str(data_dir),
        "sizes": sizes,
        "repeats": repeats,
        "rounds": rounds,
        "questions": [{"name": q.name, "label": q.label, "target_ms": q.target_ms} for q in qs],
        "by_size": {
            str(size): {
                name: {"rows": rows[size][name], "median_ms": statistics.median(ts) * 1000}
                for name, ts in timings[size].items()
            }
            for size in sizes
        },
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = measure(args.data_dir, args.sizes, args.repeats, args.rounds)
    given = sys.argv[1:] if argv is None else argv
    result["command"] = shlex.join(["python", "-m", "bench.rowgroups", *given])
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"rowgroups_{result['runs']}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(report.rowgroups_section(result)))


if __name__ == "__main__":
    main(sys.argv[1:])

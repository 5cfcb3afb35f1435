"""`runlake materialize`, `compact`, `retention` and `migrate` as an operator runs them, with
honest exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.archive import import_objects
from layout.evolution import MARKER_KEY
from layout.inbox import list_inbox
from layout.store import LocalStore
from layout.tables import RUNS, Tables
from query.engine import Engine
from runlake.cli.main import main
from runlake.demo import generate
from tests.helpers.history import running_snapshot, store_logs
from tests.helpers.layout_v1 import write_v1
from tests.helpers.stages import materialize


def _run(store: LocalStore, *args: str):
    return CliRunner().invoke(
        main, list(args), env={"RUNLAKE_STORE": store.root}, catch_exceptions=False
    )


@pytest.fixture
def filled(local_store: LocalStore) -> tuple[LocalStore, list[dict]]:
    # Relative to the real clock: the CLI decides ages against the time it runs at.
    objects = list(generate(30, seed=6, now=datetime.now(UTC), days=21))
    for i in range(0, len(objects), 5):  # several materializer cycles: several files
        import_objects(local_store, [running_snapshot(o) for o in objects[i : i + 5]])
        import_objects(local_store, objects[i : i + 5])
        materialize(local_store)
    for obj in objects:
        if obj["kind"] == "TaskRun":
            store_logs(local_store, obj)
    return local_store, objects


def _partitions(store: LocalStore) -> dict[tuple[str, str], int]:
    """(kind, date) -> files of `runs` there."""
    found: dict[tuple[str, str], int] = {}
    for file in Tables(store).state(RUNS).files:
        found[(file.kind, file.date)] = found.get((file.kind, file.date), 0) + 1
    return found


def _count(store: LocalStore, sql: str = "SELECT count(*) AS n FROM runs") -> int:
    engine = Engine(store)
    try:
        return engine.query(sql)[0]["n"]
    finally:
        engine.close()


def test_cli_compact_merges_and_a_second_run_finds_nothing(filled):
    store, objects = filled
    result = _run(store, "compact")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("compacted ")
    assert set(_partitions(store).values()) == {1}
    assert _count(store) == len(objects)
    assert store.exists(MARKER_KEY)

    result = _run(store, "compact", "--older-than", "1h", "--target-size", "64MiB")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("nothing to compact")


def test_cli_compact_partition_compacts_only_that_partition(filled):
    store, objects = filled
    before = _partitions(store)
    kind, day = next(p for p, files in before.items() if files > 1)
    result = _run(store, "compact", "--partition", f"kind={kind.lower()},date={day}")
    assert result.exit_code == 0, result.output
    after = _partitions(store)
    assert after[(kind, day)] == 1
    assert {p: n for p, n in after.items() if p != (kind, day)} == {
        p: n for p, n in before.items() if p != (kind, day)
    }
    assert _count(store) == len(objects)


def test_cli_materialize_once_empties_the_inbox(local_store):
    objects = list(generate(8, seed=2, now=datetime.now(UTC), days=1))
    import_objects(local_store, objects)
    assert list_inbox(local_store)
    result = _run(local_store, "materialize", "--once")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"materialized {len(objects)} snapshots from ")
    assert list_inbox(local_store) == []
    assert _count(local_store) == len(objects)


def test_cli_migrate_converts_and_every_other_command_refused_before(local_store):
    from webhooks.snapshots import objects_to_rows

    objects = list(generate(8, seed=2, now=datetime.now(UTC), days=1))
    write_v1(local_store, objects_to_rows({"items": objects}, datetime.now(UTC), "import"))
    for args in (["runs"], ["sql", "SELECT 1"], ["compact"], ["materialize", "--once"]):
        result = _run(local_store, *args)
        assert result.exit_code == 1, args
        assert result.output.count("\n") == 1 and "runlake migrate" in result.output
    result = _run(local_store, "migrate")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("migrated ")
    assert _count(local_store) == len(objects)
    assert _run(local_store, "runs").exit_code == 0


@pytest.mark.parametrize(
    "args",
    [
        ["compact", "--older-than", "soon"],
        ["compact", "--target-size", "big"],
        ["compact", "--unknown"],
        ["retention"],
        ["retention", "--policy", "/nonexistent/policy.yaml"],
    ],
)
def test_cli_lifecycle_usage_errors_exit_2(local_store, args):
    result = _run(local_store, *args)
    assert result.exit_code == 2, result.output


@pytest.mark.parametrize("partition", ["kind=jobs", "date=yesterday", "size=1"])
def test_cli_compact_bad_partition_exits_1_with_one_line(local_store, partition):
    result = _run(local_store, "compact", "--partition", partition)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("runlake: ")


def test_cli_compact_refuses_a_store_of_a_newer_layout(filled):
    store, _ = filled
    store.write_bytes(MARKER_KEY, json.dumps({"layout_version": 99}).encode())
    result = _run(store, "compact")
    assert result.exit_code == 1
    assert "upgrade runlake" in result.output and "Traceback" not in result.output


def test_cli_retention_dry_run_prints_what_would_go_then_deletes_it(filled, tmp_path):
    store, objects = filled
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "defaultRetention: 10d\npolicies:\n"
        "  - {name: payments, selector: {matchNamespaces: [payments]},"
        " retention: 3d}\n"
    )
    logs_before = len(store.list("logs"))

    result = _run(store, "retention", "--policy", str(policy), "--dry-run")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "would delete:"
    results, runs = (
        int(n) for n in lines[1].split(": ")[1].replace("(", "").split(" runs")[0].split(" ")
    )
    assert 0 < results <= runs < len(objects)
    assert lines[2].startswith("  records: ") and lines[2].endswith(" rows")
    assert "logs: " in lines[3] and "objects" in lines[3]
    assert _count(store) == len(objects)
    assert len(store.list("logs")) == logs_before

    result = _run(store, "retention", "--policy", str(policy))

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == lines[1]
    assert _count(store) == len(objects) - runs
    assert len(store.list("logs")) < logs_before

    result = _run(store, "retention", "--policy", str(policy), "--dry-run")
    assert "results: 0 (0 runs)" in result.output


def test_cli_retention_bad_policy_exits_1_listing_problems(local_store, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("defaultRetention: forever\npolicies:\n  - {name: x}\n")
    result = _run(local_store, "retention", "--policy", str(policy))
    assert result.exit_code == 1
    assert "defaultRetention" in result.output and "retention is required" in result.output
    assert result.output.count("\n") == 1


def test_cli_compact_refuses_a_target_size_under_1kib_touching_nothing(local_store):
    Path(local_store.root).mkdir()  # an empty store: only the size can be wrong
    result = _run(local_store, "compact", "--target-size", "12")
    assert result.exit_code == 1
    assert result.output == "runlake: target size 12 bytes is too small (at least 1KiB)\n"
    assert local_store.list("") == []
    assert _run(local_store, "compact", "--target-size", "1KiB").exit_code == 0

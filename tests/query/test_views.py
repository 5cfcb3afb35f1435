from datetime import timedelta

import pytest

from layout.inbox import write_inbox
from query.engine import Engine
from query.views import RUNS_WITH_DATE, VIEWS, Partitions
from tests.helpers.rows import T0, row
from tests.helpers.stages import materialize
from tests.helpers.tekton import load_fixture


@pytest.fixture(params=["inbox", "tables"])
def stage(request):
    """Each test reads its rows once from the inbox and once after the materializer moved
    them into the tables."""
    return request.param


def _settle(store, stage):
    if stage == "tables":
        materialize(store)


def _write_each(store, stage, *rows):
    """Each snapshot in its own file, as separate ingest requests would store them."""
    for one in rows:
        write_inbox(store, [one])
    _settle(store, stage)


def test_views_runs_keep_the_latest_snapshot_of_each_uid(store, stage):
    _write_each(
        store,
        stage,
        # finished beats unfinished, even when received earlier and with an older version
        row("a", status="Succeeded", resource_version="5", received_at=timedelta(0)),
        row("a", status="Running", resource_version="9", received_at=timedelta(hours=1)),
        # the larger resource_version, compared as a number ("10" > "9")
        row("b", resource_version="10", received_at=timedelta(hours=1)),
        row("b", resource_version="9", received_at=timedelta(hours=2)),
        # same version: the later received_at
        row("c", resource_version="7", reason="early", received_at=timedelta(0)),
        row("c", resource_version="7", reason="late", received_at=timedelta(minutes=1)),
    )
    engine = Engine(store)
    result = engine.sql("SELECT uid, status, resource_version, reason FROM runs ORDER BY uid")
    assert result.rows == [
        ["a", "Succeeded", "5", "Succeeded"],
        ["b", "Running", "10", "Running"],
        ["c", "Running", "7", "late"],
    ]
    assert engine.sql("SELECT count(*) FROM snapshots").rows == [[6]]


def test_views_snapshots_count_a_duplicated_event_once(store, stage):
    twice = row("a", event_id="ev-1")
    _write_each(store, stage, twice, twice, row("a", event_id="ev-2", resource_version="2"))
    engine = Engine(store)
    assert engine.sql("SELECT event_id, count(*) FROM snapshots GROUP BY ALL ORDER BY 1").rows == [
        ["ev-1", 1],
        ["ev-2", 1],
    ]
    stored = "_inbox_rows" if stage == "inbox" else "_snapshots_table"
    assert engine.query(f"SELECT count(*) AS n FROM {stored}") == [
        {"n": 3 if stage == "inbox" else 2}
    ]


def test_views_kind_is_the_objects_and_no_partition_column_shows(local_store, stage):
    write_inbox(
        local_store,
        [row("t", kind="TaskRun"), row("p", kind="PipelineRun"), row("c", kind="CustomRun")],
    )
    _settle(local_store, stage)
    engine = Engine(local_store)
    assert engine.sql("SELECT kind FROM runs ORDER BY kind").rows == [
        ["CustomRun"],
        ["PipelineRun"],
        ["TaskRun"],
    ]
    for view, uid in (("taskruns", "t"), ("pipelineruns", "p"), ("customruns", "c")):
        assert engine.sql(f"SELECT uid FROM {view}").rows == [[uid]]
    # the tables' partition column `date` stays out of the views
    for view in ("snapshots", "runs"):
        assert "date" not in engine.sql(f"SELECT * FROM {view}").columns


def test_views_steps_from_a_taskrun_with_terminated_steps(store, stage):
    obj = load_fixture("009_TaskRun_lighthouse-failed-step-exit2-v1.json")
    waiting = {
        "kind": "TaskRun",
        "status": {
            "steps": [
                {
                    "name": "clone",
                    "container": "step-clone",
                    "running": {"startedAt": "2026-03-01T12:00:00Z"},
                },
                {
                    "name": "build",
                    "container": "step-build",
                    "waiting": {"reason": "PodInitializing"},
                },
            ]
        },
    }
    write_inbox(
        store,
        [
            row("tr-1", status="Failed", obj=obj),
            row("tr-2", obj=waiting),
            row("pr-1", kind="PipelineRun", obj=obj),
        ],
    )  # not a TaskRun: no steps
    _settle(store, stage)
    engine = Engine(store)
    result = engine.sql("SELECT * FROM steps WHERE uid = 'tr-1'")
    assert result.columns == [
        "uid",
        "namespace",
        "run_name",
        "step",
        "container",
        "exit_code",
        "reason",
        "started_at",
        "finished_at",
        "duration_seconds",
        "cluster",
        "termination_reason",
    ]
    assert [r[3] for r in result.rows] == [s["name"] for s in obj["status"]["steps"]]
    build = result.rows[2]
    assert build == [
        "tr-1",
        "ci",
        "run-tr-1",
        "build-build",
        "step-build-build",
        2,
        "Error",
        "2020-07-20T18:50:34Z",
        "2020-07-20T18:50:43Z",
        9.0,
        "default",  # rows without a cluster (written before it existed) are the default one
        None,  # a 2020 Tekton wrote no terminationReason
    ]
    assert engine.sql(
        "SELECT step, exit_code, reason, started_at, finished_at FROM steps WHERE uid = 'tr-2'"
    ).rows == [
        ["clone", None, None, "2026-03-01T12:00:00Z", None],
        ["build", None, "PodInitializing", None, None],
    ]
    assert engine.sql("SELECT count(*) FROM steps WHERE uid = 'pr-1'").rows == [[0]]


def test_views_empty_store_gives_empty_views_with_the_file_types(tmp_path, local_store):
    empty = Engine(local_store)
    for view in VIEWS:
        assert empty.sql(f"SELECT * FROM {view}").rows == []
    empty_types = {view: empty.sql(f"DESCRIBE {view}").rows for view in VIEWS}

    write_inbox(
        local_store,
        [row("a", obj=load_fixture("009_TaskRun_lighthouse-failed-step-exit2-v1.json"))],
    )
    # the same engine sees the first row without a restart, with the same columns and types,
    # in the inbox and then in the tables
    assert empty.sql("SELECT uid FROM runs").rows == [["a"]]
    assert {view: empty.sql(f"DESCRIBE {view}").rows for view in VIEWS} == empty_types
    materialize(local_store)
    assert empty.sql("SELECT uid FROM runs").rows == [["a"]]
    assert {view: empty.sql(f"DESCRIBE {view}").rows for view in VIEWS} == empty_types


def test_views_runs_merge_the_inbox_only_where_it_reaches(store):
    """Runs in partitions the inbox does not touch are read as they are; a run the inbox
    updates shows once, with its latest status, in every query shape."""
    days = [T0 - timedelta(days=n) for n in (2, 1, 0)]
    write_inbox(
        store,
        [
            row(f"r{n}", status="Running", created_at=day, received_at=day)
            for n, day in enumerate(days)
        ],
    )
    materialize(store)
    # The inbox updates the oldest day's run only.
    write_inbox(store, [row("r0", status="Failed", resource_version="2", received_at=T0)])
    engine = Engine(store)

    everything = engine.sql("SELECT uid, status FROM runs ORDER BY uid").rows
    by_status = engine.sql("SELECT status, count(*) FROM runs GROUP BY 1 ORDER BY 1").rows
    oldest_day = engine.query(
        "SELECT uid, status FROM runs ORDER BY uid",
        partitions=Partitions(("TaskRun",), days[0].date(), days[0].date()),
    )
    newer_days = engine.query(
        "SELECT uid, status FROM runs ORDER BY uid",
        partitions=Partitions(("TaskRun",), days[1].date(), days[2].date()),
    )

    assert everything == [["r0", "Failed"], ["r1", "Running"], ["r2", "Running"]]
    assert by_status == [["Failed", 1], ["Running", 2]]
    assert oldest_day == [{"uid": "r0", "status": "Failed"}]
    assert newer_days == [{"uid": "r1", "status": "Running"}, {"uid": "r2", "status": "Running"}]


# A run in the table five days back (OLD), another in the inbox one day back (NEW).
OLD, NEW = T0 - timedelta(days=5), T0 - timedelta(days=1)


def _a_table_day_and_an_inbox_day(store) -> Engine:
    write_inbox(store, [row("table", status="Succeeded", created_at=OLD, received_at=OLD)])
    materialize(store)
    write_inbox(store, [row("inbox", status="Running", created_at=NEW, received_at=NEW)])
    return Engine(store)


def _day(moment) -> Partitions:
    return Partitions(("TaskRun",), moment.date(), moment.date())


def test_views_runs_of_partitions_read_only_their_sources_and_a_pinned_block_returns(store):
    """A query bounded to partitions the table's files or the inbox have no rows in reads
    `runs` from the rest alone; the next query of a pinned block sees every run again."""
    engine = _a_table_day_and_an_inbox_day(store)
    sql = "SELECT uid, status FROM runs ORDER BY uid"
    with engine.pinned():
        assert engine.query(sql, partitions=_day(OLD)) == [{"uid": "table", "status": "Succeeded"}]
        assert engine.query(sql, partitions=_day(NEW)) == [{"uid": "inbox", "status": "Running"}]
        assert engine.query(sql, partitions=_day(T0 - timedelta(days=3))) == []
        assert [r["uid"] for r in engine.query(sql)] == ["inbox", "table"]


def test_views_runs_by_name_and_through_a_view_keep_their_bounds_in_a_pinned_block(store):
    """runlake's own queries name `_runs` and read their partitions as common table
    expressions, others read them through temporary views: a pinned block mixing both, in
    any order, reads just the partitions each query asks for."""
    engine = _a_table_day_and_an_inbox_day(store)
    through_view = "SELECT uid, status FROM runs ORDER BY uid"
    by_name = f"SELECT uid, status FROM {RUNS_WITH_DATE} ORDER BY uid"
    own_cte = f"WITH seen AS (SELECT uid FROM {RUNS_WITH_DATE}) SELECT uid FROM seen"
    table = [{"uid": "table", "status": "Succeeded"}]
    inbox = [{"uid": "inbox", "status": "Running"}]
    with engine.pinned():
        assert engine.query(through_view, partitions=_day(OLD)) == table
        assert engine.query(by_name, partitions=_day(NEW)) == inbox
        assert engine.query(through_view, partitions=_day(NEW)) == inbox
        assert engine.query(by_name, partitions=_day(OLD)) == table
        assert engine.query(own_cte, partitions=_day(NEW)) == [{"uid": "inbox"}]
        assert engine.query(by_name, partitions=_day(T0 - timedelta(days=3))) == []
        assert [r["uid"] for r in engine.query(by_name)] == ["inbox", "table"]

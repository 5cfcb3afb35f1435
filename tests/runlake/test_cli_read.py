"""`runlake runs`, `runlake get`, `runlake summary` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from layout.store import LocalStore
from runlake.cli.main import main
from runlake.demo.write import write_demo
from tests.helpers.expected import latest_runs, newest_first
from tests.helpers.units import BAD_DURATIONS, DURATIONS


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    store = LocalStore(str(tmp_path_factory.mktemp("demo")))
    write_demo(store, 120, seed=31)
    return store, latest_runs(store)


def _run(store, *args):
    return CliRunner().invoke(main, list(args), env={"RUNLAKE_STORE": store.root})


def test_cli_read_runs_json_with_filters(demo):
    store, runs = demo
    result = _run(
        store,
        "runs",
        "--kind",
        "TaskRun",
        "--status",
        "Failed",
        "--format",
        "json",
        "--limit",
        "1000",
    )
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    expected = newest_first(
        [r for r in runs.values() if r["kind"] == "TaskRun" and r["status"] == "Failed"]
    )
    assert [r["uid"] for r in listed] == expected and expected
    assert "object" not in listed[0] and listed[0]["created_at"].endswith("Z")


def test_cli_read_runs_pages_with_token(demo):
    store, runs = demo
    first = _run(store, "runs", "--limit", "5", "--format", "csv")
    assert first.exit_code == 0
    token = first.stderr.strip().split("--page-token ")[1]
    second = _run(store, "runs", "--limit", "5", "--format", "csv", "--page-token", token)
    uids = [
        row["uid"] for out in (first, second) for row in csv.DictReader(io.StringIO(out.stdout))
    ]
    assert uids == newest_first(list(runs.values()))[:10]


def test_cli_read_runs_table_is_aligned(demo):
    store, _ = demo
    result = _run(store, "runs", "--limit", "3", "--label", "tekton.dev/pipeline")
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and "uid" in lines[1] and "status" in lines[1]
    assert len(lines) == 3 + 4 and "\x1b[" not in result.stdout  # no colour into a pipe


def test_cli_read_get_json_and_table(demo):
    store, runs = demo
    run = next(r for r in runs.values() if r["kind"] == "TaskRun" and r["completed_at"])
    result = _run(store, "get", run["uid"], "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["object"] == json.loads(run["object"]) and body["steps"] and body["logs"]
    table = _run(store, "get", run["uid"])
    assert table.exit_code == 0 and run["name"] in table.stdout
    assert body["steps"][0]["step"] in table.stdout


def test_cli_read_get_unknown_is_one_line_exit_1(demo):
    result = _run(demo[0], "get", "no-such-uid")
    assert result.exit_code == 1
    assert result.stderr == "runlake: no run with uid 'no-such-uid'\n"


def test_cli_read_summary_csv(demo):
    store, runs = demo
    result = _run(store, "summary", "--group-by", "status", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    statuses = [r["status"] for r in runs.values()]
    assert {k: int(r["total"]) for k, r in rows.items()} == {
        s: statuses.count(s) for s in set(statuses)
    }


def test_cli_read_bad_input_exit_codes(demo):
    store, _ = demo
    bad = _run(store, "runs", "--since", "soon", "--status", "Great")
    assert bad.exit_code == 1 and bad.stderr.count("\n") == 1
    assert "since" in bad.stderr and "status" in bad.stderr
    assert _run(store, "summary").exit_code == 2  # --group-by is required
    assert _run(store, "runs", "--page-token", "x").exit_code == 1


@pytest.mark.parametrize(("text", "duration"), DURATIONS)
def test_cli_read_since_takes_the_one_duration_grammar(demo, text, duration):
    store, runs = demo
    before = datetime.now(UTC)
    result = _run(store, "runs", "--since", text, "--limit", "1000", "--format", "json")
    after = datetime.now(UTC)
    assert result.exit_code == 0, result.output
    listed = {r["uid"] for r in json.loads(result.stdout)}

    def created_since(moment):
        return {u for u, r in runs.items() if r["created_at"] and r["created_at"] >= moment}

    assert created_since(after - duration) <= listed <= created_since(before - duration)


@pytest.mark.parametrize("text", BAD_DURATIONS)
def test_cli_read_since_refuses_what_the_grammar_refuses(demo, text):
    result = _run(demo[0], "summary", "--group-by", "status", "--since", text)
    assert result.exit_code == 1 and result.stderr.startswith("runlake: since: ")


@pytest.fixture(scope="module")
def two_clusters(tmp_path_factory):
    from tests.helpers.clusters import archive_two_clusters

    store = LocalStore(str(tmp_path_factory.mktemp("clusters") / "store"))
    return store, archive_two_clusters(store)


def test_cli_read_cluster_filter_column_and_group_by(two_clusters):
    from tests.helpers.clusters import EU, STAGING

    store, twins = two_clusters
    listed = _run(store, "runs", "--cluster", STAGING, "--limit", "1000", "--format", "json")
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.stdout)
    assert {r["uid"] for r in runs} == twins.uids(STAGING)
    assert {r["cluster"] for r in runs} == {STAGING}
    both = _run(
        store, "runs", "--cluster", EU, "--cluster", STAGING, "--limit", "1000", "--format", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(both.stdout)))
    assert len(rows) == len(twins.runs[EU]) + len(twins.runs[STAGING])
    table = _run(store, "runs", "--cluster", EU, "--limit", "3")
    assert table.exit_code == 0 and "cluster" in table.stdout
    assert EU in table.stdout and STAGING not in table.stdout
    summary = _run(store, "summary", "--group-by", "cluster", "--format", "json")
    assert summary.exit_code == 0, summary.output
    assert {g["key"]: g["total"] for g in json.loads(summary.stdout)} == {
        EU: len(twins.runs[EU]),
        STAGING: len(twins.runs[STAGING]),
    }
    uid = next(iter(twins.uids(STAGING)))
    got = json.loads(_run(store, "get", uid, "--format", "json").stdout)
    assert got["cluster"] == STAGING


def test_cli_read_group_by_choices_are_the_apis():
    from query.summary import GROUP_BY
    from runlake.cli.read import summary

    choice = next(p for p in summary.params if p.name == "group_by").type
    assert set(choice.choices) == set(GROUP_BY)

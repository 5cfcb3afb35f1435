"""`runlake runs`, `runlake get`, `runlake summary` as a user runs them: in-process for the
answers, and through the installed entry point in a 100-column terminal for what a person
sees."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from layout.store import LocalStore
from runlake.cli.main import main
from runlake.demo.write import write_demo
from tests.helpers.expected import latest_runs, newest_first
from tests.helpers.terminal import environment, in_terminal, runlake
from tests.helpers.units import BAD_DURATIONS, DURATIONS
from tests.runlake.conftest import BRACKETED


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
    assert result.exit_code == 0 and lines[0].split() == [
        "CLUSTER",
        "NAMESPACE",
        "NAME",
        "KIND",
        "STATUS",
        "AGE",
        "DURATION",
        "UID",
    ]
    assert len(lines) == 1 + 3 and "\x1b[" not in result.stdout  # no colour into a pipe
    assert len({line.index(line.split()[-1]) for line in lines}) == 1  # the uids line up


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
    assert result.stderr == "runlake: no run has the uid, name or uid prefix 'no-such-uid'\n"


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
    assert table.exit_code == 0 and table.stdout.split()[0] == "CLUSTER"
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


# ------------------------------------------- as a person runs them: a 100-column terminal


def _json(archive, *args: str):
    done = runlake(*args, "--format", "json", env=environment(archive.store.root))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_cli_read_get_prints_the_demo_events_message_verbatim(archive):
    shown = in_terminal(
        "get", archive.pending["metadata"]["name"], env=environment(archive.store.root)
    )
    assert shown.code == 0, shown.text
    message = archive.pending["status"]["conditions"][0]["message"]
    assert "[place-tools]" in message and message in shown.text


def test_cli_read_get_of_a_bracketed_tekton_error_shows_it_in_every_format(archive):
    uid = archive.bracketed["metadata"]["uid"]
    shown = in_terminal("get", uid, env=environment(archive.store.root))
    assert shown.code == 0 and "Traceback" not in shown.text, shown.text
    assert BRACKETED in shown.text
    assert _json(archive, "get", uid)["message"] == BRACKETED
    csv_text = runlake("get", uid, "--format", "csv", env=environment(archive.store.root)).stdout
    assert next(csv.DictReader(io.StringIO(csv_text)))["message"] == BRACKETED


def test_cli_read_runs_never_cut_a_uid_at_100_columns(archive):
    listed = _json(archive, "runs", "--limit", "30")
    shown = in_terminal("runs", "--limit", "30", env=environment(archive.store.root))
    assert shown.code == 0, shown.text
    assert "…" not in shown.text
    for run in listed:
        assert run["uid"] in shown.text and run["name"] in shown.text


def test_cli_read_get_takes_a_name_or_a_unique_uid_prefix(archive):
    env = environment(archive.store.root)
    run = archive.bracketed
    for ref in (run["metadata"]["name"], run["metadata"]["uid"][:8]):
        shown = in_terminal("get", ref, env=env)
        assert shown.code == 0, shown.text
        assert "UID:" in shown.text and run["metadata"]["uid"] in shown.text


def test_cli_read_a_name_in_two_namespaces_is_one_line_naming_both(archive):
    env = environment(archive.store.root)
    first, second = archive.twins
    shown = in_terminal("get", first["metadata"]["name"], env=env)
    assert shown.code == 1 and len(shown.lines) == 1, shown.text
    for run in archive.twins:
        assert f"{run['metadata']['namespace']}/{run['metadata']['name']}" in shown.text
        assert run["metadata"]["uid"] in shown.text
    assert "--namespace" in shown.text
    chosen = in_terminal("get", first["metadata"]["name"], "--namespace", "ci", env=env)
    assert chosen.code == 0 and second["metadata"]["uid"] in chosen.text


def test_cli_read_a_name_made_twice_in_one_namespace_asks_for_the_uid(archive):
    older, newer = archive.recreated
    namespace = older["metadata"]["namespace"]
    shown = in_terminal(
        "get", "nightly-build", "--namespace", namespace, env=environment(archive.store.root)
    )
    assert shown.code == 1 and len(shown.lines) == 1, shown.text
    assert older["metadata"]["uid"] in shown.text and newer["metadata"]["uid"] in shown.text


def test_cli_read_an_ambiguous_uid_prefix_lists_its_candidates(archive):
    # The two recreated runs' uids share their first 34 characters.
    prefix = archive.recreated[0]["metadata"]["uid"][:12]
    shown = in_terminal("get", prefix, env=environment(archive.store.root))
    assert shown.code == 1 and len(shown.lines) == 1
    assert all(run["metadata"]["uid"] in shown.text for run in archive.recreated)


def test_cli_read_get_of_a_pipelinerun_lists_its_taskruns_with_their_uids(archive):
    pipelinerun = _json(archive, "runs", "--kind", "PipelineRun", "--status", "Failed")[0]
    children = _json(archive, "get", pipelinerun["uid"])["steps"]
    shown = in_terminal("get", pipelinerun["name"], env=environment(archive.store.root))
    assert shown.code == 0 and children
    rows = {line.split()[-1]: line for line in shown.lines if line.split()}
    for child in children:
        assert child["uid"] in rows and child["name"] in rows[child["uid"]]


def test_cli_read_tables_are_for_people_and_json_is_exact(archive):
    env = environment(archive.store.root)
    listed = _json(archive, "runs", "--status", "Succeeded", "--limit", "5")
    shown = in_terminal("runs", "--status", "Succeeded", "--limit", "5", env=env)
    for run in listed:
        row = next(line for line in shown.lines if run["uid"] in line)
        assert re.search(r"   (\d+m \d\ds|\d+(\.\d)?s|\d+h \d\dm)   ", row), row
        assert str(run["duration_seconds"]) not in row.split()  # 185.0 is for programs
    groups = _json(archive, "summary", "--group-by", "pipeline")
    table = in_terminal("summary", "--group-by", "pipeline", env=env)
    rate = groups[0]["success_rate"]
    assert 0 < rate < 1 and isinstance(groups[0]["p95_duration_seconds"], float)
    assert f"{rate * 100:.1f} %" in table.text and str(rate) not in table.text


def test_cli_read_an_empty_answer_says_no_runs_on_stderr(archive):
    done = runlake("runs", "--namespace", "no-such-namespace", env=environment(archive.store.root))
    assert done.returncode == 0 and done.stdout == ""
    assert "no runs" in done.stderr and done.stderr.count("\n") == 1
    assert _json(archive, "runs", "--namespace", "no-such-namespace") == []


def test_cli_read_a_run_unheard_of_for_30_days_is_shown_by_when_it_was_last_seen(archive):
    uid = archive.stale["metadata"]["uid"]
    env = environment(archive.store.root)
    listed = in_terminal("runs", "--name", archive.stale["metadata"]["name"], env=env)
    row = next(line for line in listed.lines if uid in line)
    assert "last seen 30d ago" in row and "running" not in row
    shown = in_terminal("get", uid, env=env)
    assert "last seen 30d ago" in shown.text and "running" not in shown.text


def test_cli_read_the_pending_demo_event_is_not_running_for_years(archive):
    shown = in_terminal("runs", "--name", "curl-run", env=environment(archive.store.root))
    row = next(line for line in shown.lines if archive.pending["metadata"]["uid"] in line)
    assert "Pending" in row and "running" not in row and "d " not in row


def test_cli_read_a_name_in_two_clusters_asks_for_the_cluster(two_clusters):
    from tests.helpers.clusters import EU, STAGING

    store, twins = two_clusters
    run = twins.first(STAGING, "TaskRun", with_steps=True)
    env = environment(store.root)
    shown = in_terminal("get", run["metadata"]["name"], env=env)
    assert shown.code == 1 and len(shown.lines) == 1, shown.text
    for cluster in (EU, STAGING):
        twin = twins.twin_of(run, cluster)
        assert f"{cluster}:{run['metadata']['namespace']}/" in shown.text
        assert twin["metadata"]["uid"] in shown.text
    assert "--cluster" in shown.text and "--namespace" not in shown.text
    chosen = in_terminal("logs", run["metadata"]["name"], "--cluster", STAGING, env=env)
    assert chosen.code == 0 and f"{STAGING}: the log of" in chosen.text

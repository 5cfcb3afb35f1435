"""`runlake logs` as a person runs it: by name or uid, into a pipe that closes early, and
with a step that has no log."""

from __future__ import annotations

import json
import subprocess

from tests.helpers.terminal import RUNLAKE, environment, in_terminal, reading_a_little, runlake


def _logs(archive, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RUNLAKE), "logs", *args],
        capture_output=True,
        env=environment(archive.store.root),
        timeout=120,
    )


def _failed_taskrun(archive) -> dict:
    done = runlake(
        "runs",
        "--kind",
        "TaskRun",
        "--status",
        "Failed",
        "--format",
        "json",
        env=environment(archive.store.root),
    )
    return next(run for run in json.loads(done.stdout) if run["namespace"] != "fixtures")


def test_cli_logs_by_name_prints_what_the_uid_prints(archive):
    run = _failed_taskrun(archive)
    by_uid, by_name = _logs(archive, run["uid"]), _logs(archive, run["name"])
    assert by_uid.returncode == 0 and by_uid.stdout.startswith(b"==> ")
    assert by_name.returncode == 0 and by_name.stdout == by_uid.stdout


def test_cli_logs_into_a_pipe_closed_early_exits_0_quietly(archive):
    uid, step = archive.noisy
    code, lines, stderr = reading_a_little(
        "logs", uid, env=environment(archive.store.root), lines=2
    )
    assert lines == [f"==> {step} <==\n", "line 000000 of a long build log\n"]
    assert code == 0 and stderr == ""


def test_cli_logs_of_an_unknown_step_lists_the_steps_that_have_logs(archive):
    run = _failed_taskrun(archive)
    got = runlake("get", run["uid"], "--format", "json", env=environment(archive.store.root))
    stored = json.loads(got.stdout)["logs"]
    shown = in_terminal("logs", run["name"], "--step", "build", env=environment(archive.store.root))
    assert "build" not in [log["step"] for log in stored] and stored
    assert shown.code == 1 and len(shown.lines) == 1, shown.text
    assert "'build'" in shown.text
    assert all(log["step"] in shown.text for log in stored)

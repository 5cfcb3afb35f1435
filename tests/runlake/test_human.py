from datetime import UTC, datetime, timedelta

import pytest

from runlake.cli import human

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _at(delta: timedelta) -> str:
    return (NOW - delta).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    "seconds, text",
    [(0.4, "400 ms"), (7, "7.0s"), (42, "42s"), (185, "3m 05s"), (3725, "1h 02m"),
     (180000, "2d 02h"), (None, "")],
)  # fmt: skip
def test_human_duration_reads_as_the_web_page_writes_it(seconds, text):
    assert human.duration(seconds) == text


def test_human_percent_moment_and_age():
    assert human.percent(15 / 17) == "88.2 %" and human.percent(None) == ""
    assert human.moment("2026-11-25T21:10:03.123456Z") == "2026-11-25 21:10:03 UTC"
    assert [human.age(_at(timedelta(seconds=s)), NOW) for s in (45, 300, 7200, 86400 * 12)] == [
        "45s",
        "5m",
        "2h",
        "12d",
    ]
    assert human.age(_at(timedelta(days=2131)), NOW) == "5y"


def test_human_status_adds_the_reason_when_it_says_more():
    assert (
        human.status({"status": "Failed", "reason": "TaskRunTimeout"}) == "Failed(TaskRunTimeout)"
    )
    assert human.status({"status": "Running", "reason": "Running"}) == "Running"


def _run(status: str, started: timedelta | None, seen: timedelta, **more) -> dict:
    return {
        "status": status,
        "started_at": _at(started) if started is not None else None,
        "received_at": _at(seen),
        "duration_seconds": None,
        **more,
    }


def test_human_progress_of_a_running_run_counts_from_its_start():
    assert human.progress(_run("Running", timedelta(minutes=4), timedelta(minutes=1)), NOW) == (
        "running 4m 00s"
    )


def test_human_progress_of_a_run_not_heard_of_for_long_says_when_it_was_last_seen():
    stale = _run("Running", timedelta(days=2131), timedelta(days=30))
    assert human.progress(stale, NOW) == "last seen 30d ago"


def test_human_progress_of_a_pending_run_counts_nothing():
    # The README's demo event: a TaskRun pending since 2021, received just now.
    pending = _run("Pending", timedelta(days=2131), timedelta(minutes=1))
    assert human.progress(pending, NOW) == ""


def test_human_progress_of_a_finished_run_is_its_duration():
    done = _run("Succeeded", timedelta(days=40), timedelta(days=40), duration_seconds=185.2)
    assert human.progress(done, NOW) == "3m 05s"

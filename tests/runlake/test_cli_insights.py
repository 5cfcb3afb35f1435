"""The insight views through `runlake sql`, as a user asks them."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ingest.archive import import_objects
from runlake.cli.main import main
from tests.helpers.insight_history import crafted_history


def test_cli_insights_sql_over_the_views(local_store):
    import_objects(local_store, crafted_history())
    result = CliRunner().invoke(
        main,
        [
            "sql",
            "SELECT pipeline_task, flips, passed_on_retry FROM flaky_tasks "
            "WHERE flips > 0 OR passed_on_retry > 0 ORDER BY 1",
            "--format",
            "json",
        ],
        env={"RUNLAKE_STORE": local_store.root},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"pipeline_task": "lint", "flips": 0, "passed_on_retry": 1},
        {"pipeline_task": "test", "flips": 1, "passed_on_retry": 0},
    ]

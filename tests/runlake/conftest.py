"""An archive as a new user has it after `make run` and a few days of use: `make run`'s demo
history, plus real Tekton runs whose awkward values the CLI must show as they are."""

from __future__ import annotations

import copy
import gzip
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from ingest.app import create_app
from ingest.archive import import_document
from layout.inbox import write_inbox
from layout.keys import log_key
from layout.store import LocalStore
from runlake.demo.write import write_demo
from tests.helpers.apps import close_writer
from tests.helpers.makefile import demo_event
from tests.helpers.tekton import fixture_object
from webhooks.snapshots import objects_to_rows

# A message as Tekton writes it when a workspace cannot be mounted: brackets and all.
BRACKETED = (
    'failed to create task run pod "build-pod": translating TaskSpec to Pod: '
    "invalid volume mount [/workspace/source]: not a directory"
)


@dataclass(frozen=True)
class Archive:
    store: LocalStore
    pending: dict  # the README's demo event, as `make run`'s hint posts it
    bracketed: dict  # a failed TaskRun whose message holds [/workspace/source]
    twins: tuple[dict, dict]  # one name in two namespaces
    recreated: tuple[dict, dict]  # one name twice in one namespace, the run made again
    stale: dict  # a Running TaskRun whose last snapshot arrived 30 days ago
    noisy: tuple[str, str]  # (uid, step) of a step log of many megabytes


def _renamed(obj: dict, uid: str, **metadata: str) -> dict:
    twin = copy.deepcopy(obj)
    twin["metadata"].update(uid=uid, **metadata)
    return twin


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    store = LocalStore(str(tmp_path_factory.mktemp("daily") / "store"))
    write_demo(store, 500, seed=7)  # what `make run` writes: `runlake demo`'s defaults

    headers, body = demo_event()
    app = create_app({"RUNLAKE_STORE": store.url})
    answer = app.test_client().post("/", headers=headers, data=body.read_bytes())
    assert answer.status_code == 202 and answer.json["accepted"] == 1, answer.json
    close_writer(app)

    bracketed = fixture_object("009_TaskRun_lighthouse-failed-step-exit2-v1.json")
    bracketed = _renamed(bracketed, "0b7c5a8e-1111-4a4a-9f9f-000000000009")
    bracketed["status"]["conditions"][0]["message"] = BRACKETED
    base = fixture_object("029_TaskRun_konflux-succeeded-results-v1.json")
    twins = (base, _renamed(base, "5e1f0c2d-2222-4b4b-8a8a-000000000029", namespace="ci"))
    recreated = (
        _renamed(base, "7a2b3c4d-3333-4c4c-9b9b-000000000001", name="nightly-build"),
        _renamed(base, "7a2b3c4d-3333-4c4c-9b9b-000000000002", name="nightly-build"),
    )
    import_document(store, [bracketed, *twins, *recreated])
    step = bracketed["status"]["steps"][0]["name"]
    lines = "".join(f"line {n:06d} of a long build log\n" for n in range(200_000))
    store.write_bytes(
        log_key(bracketed["metadata"]["namespace"], bracketed["metadata"]["uid"], step),
        gzip.compress(lines.encode(), 1),
    )
    # Received 30 days ago and never since: ingest's clock cannot be set, so its rows are
    # made as ingest makes them and stored with the writer ingest uses.
    stale = fixture_object("016_TaskRun_experimental-echo-incomplete.json")
    write_inbox(store, objects_to_rows(stale, datetime.now(UTC) - timedelta(days=30), "watcher"))
    return Archive(
        store=store,
        pending=fixture_object(body.name),
        bracketed=bracketed,
        twins=twins,
        recreated=recreated,
        stale=stale,
        noisy=(bracketed["metadata"]["uid"], step),
    )

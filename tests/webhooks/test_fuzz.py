"""Generated hostile input: whatever arrives, decoding either gives rows that can be written
or refuses with InvalidInput, and the ingest endpoint never answers 5xx for it nor stores
anything of a refused request. A row that could not be written would be a poison event:
answered 503, retried by Tekton forever."""

from __future__ import annotations

import copy
import json
import tempfile
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.app import create_app
from layout.inbox import encode_rows
from layout.store import LocalStore
from tests.helpers.rows import as_table
from tests.helpers.tekton import fixture_object
from webhooks.cloudevents import events_to_rows
from webhooks.errors import InvalidInput
from webhooks.normalize import normalize

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TEMPLATE = fixture_object("029_TaskRun_konflux-succeeded-results-v1.json")
FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Any code point, lone surrogates and NUL included.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
huge_text = st.builds(lambda c, n: c * n, st.characters(codec=None), st.integers(0, 200_000))
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=20,
)
deep = st.integers(1, 3000).map(lambda n: json.loads("[" * min(n, 900) + "]" * min(n, 900)))
odd_values = json_values | huge_text | deep

PATHS = [
    ("metadata", "uid"),
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("metadata", "labels"),
    ("metadata", "annotations"),
    ("metadata", "resourceVersion"),
    ("metadata", "creationTimestamp"),
    ("status", "startTime"),
    ("status", "completionTime"),
    ("status", "conditions"),
    ("metadata",),
    ("status",),
    ("spec",),
    ("kind",),
    ("apiVersion",),
]


@st.composite
def mutated_runs(draw) -> dict:
    """A real TaskRun with a few fields replaced by anything at all."""
    obj = copy.deepcopy(TEMPLATE)
    for path in draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=4)):
        target = obj
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[path[-1]] = draw(odd_values)
    return obj


def _writable(rows: list[dict]) -> None:
    assert encode_rows(rows)  # the inbox takes them
    assert as_table(rows).num_rows == len(rows)  # and so do the tables' types


@FUZZ
@given(mutated_runs())
def test_fuzz_normalize_gives_writable_rows_or_invalid_input(obj):
    try:
        row = normalize(obj, received_at=NOW, event_id="e", source="watcher")
    except InvalidInput as exc:
        assert exc.errors and all(isinstance(e, str) for e in exc.errors)
        return
    _writable([row])


ce_headers = st.fixed_dictionaries(
    {},
    optional={
        "ce-id": any_text,
        "ce-specversion": st.sampled_from(["1.0", "0.3", "", "2"]) | any_text,
        "ce-source": any_text,
        "ce-time": any_text,
        "ce-type": st.sampled_from(
            [
                "dev.tekton.event.taskrun.successful.v1",
                "dev.tekton.event.pipelinerun.failed.v1",
                "x",
            ]
        )
        | any_text,
        "content-type": st.sampled_from(
            [
                "application/json",
                "application/cloudevents+json",
                "application/cloudevents-batch+json",
                "text/plain",
                "",
            ]
        ),
    },
)
bodies = (
    st.builds(lambda o: json.dumps({"taskRun": o}).encode(), mutated_runs())
    | st.builds(lambda v: json.dumps(v).encode(), json_values)
    | st.binary(max_size=200)
)


@FUZZ
@given(ce_headers, bodies)
def test_fuzz_events_decode_to_writable_rows_or_invalid_input(headers, body):
    try:
        rows, ignored = events_to_rows(headers, body, NOW)
    except InvalidInput as exc:
        assert exc.status in (400, 415) and exc.errors
        return
    assert ignored >= 0
    if rows:
        _writable(rows)


@FUZZ
@given(ce_headers, bodies)
def test_fuzz_ingest_never_5xx_and_stores_nothing_it_refuses(headers, body):
    with tempfile.TemporaryDirectory() as directory:
        store = LocalStore(directory)
        app = create_app({"RUNLAKE_STORE": directory})
        # What can reach a WSGI app: latin-1 header text without line breaks.
        safe = {
            k: v.encode("utf-8", "replace").decode("latin-1").replace("\r", " ").replace("\n", " ")
            for k, v in headers.items()
        }
        response = app.test_client().post("/", headers=safe, data=body)
        assert response.status_code in (202, 400, 413, 415), response.get_data(as_text=True)
        payload = response.get_json()
        if response.status_code != 202:
            assert set(payload) == {"error", "errors", "status"}
            assert store.list("inbox") == []
        else:
            assert len(store.list("inbox")) == (1 if payload["accepted"] else 0)

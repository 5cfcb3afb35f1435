"""schemathesis generates requests from the query service's /openapi.json over a small demo
history: every answer is in its documented shape and none is a server error."""

from __future__ import annotations

import tempfile

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from layout.store import LocalStore
from query.http.app import create_app
from runlake.demo.write import write_demo

STORE = tempfile.mkdtemp(prefix="runlake-query-openapi-")
write_demo(LocalStore(STORE), 60, seed=3)
APP = create_app({"RUNLAKE_STORE": STORE, "RUNLAKE_SQL_TIMEOUT_S": "5"})
SCHEMA = schemathesis.openapi.from_wsgi("/openapi.json", APP)


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_openapi_query_conforms_and_never_fails(case):
    response = case.call()
    assert response.status_code < 500 or response.status_code in (503, 504), response.text
    # A filter value or SQL text can be schema-valid and still wrong (an unknown status, a
    # refused query): 400 is then the right answer.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])

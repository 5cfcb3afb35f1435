"""The query service's OpenAPI description, served at GET /openapi.json and fuzzed by the
tests with schemathesis. The web page and the Tekton Results API's record paths are left
out of the fuzzing surface where their shapes are HTML or Results' own."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from query.filters import FILTER_PARAMS
from query.summary import GROUP_BY
from service.openapi import ERROR, error_spec

_STR = {"type": "string"}
_TIME = {"type": "string", "nullable": True}

RUN_FIELDS = ["uid", "cluster", "namespace", "name", "kind", "status", "created_at"]
RUN = {
    "type": "object",
    "required": RUN_FIELDS,
    "properties": {
        "uid": _STR,
        "cluster": _STR,
        "namespace": {"type": "string", "nullable": True},
        "name": {"type": "string", "nullable": True},
        "kind": _STR,
        "status": {"type": "string", "nullable": True},
        "created_at": _TIME,
    },
}

# An empty value counts as unset (query.filters), as an empty form field of the web page does.
_OPTIONAL = {"in": "query", "required": False, "allowEmptyValue": True}
_FILTERS = [{"name": name, **_OPTIONAL, "schema": _STR} for name in FILTER_PARAMS]

_INSIGHT_FILTERS = [
    {"name": name, **_OPTIONAL, "schema": _STR}
    for name in ("cluster", "namespace", "pipeline", "task", "label", "since", "until")
] + [
    {"name": "page_token", **_OPTIONAL, "schema": _STR},
    {
        "name": "page_size",
        **_OPTIONAL,
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
    },
]
# GET /v1/insights/<insight>, and whether it takes group_by (README: Insights lists values).
_INSIGHT_GROUPED = {
    "retries": False,
    "flaky": False,
    "queue": True,
    "critical-path": True,
    "usage": True,
    "step-failures": False,
}
_PAGE = {
    "type": "object",
    "required": ["rows", "next_page_token"],
    "properties": {
        "rows": {"type": "array", "items": {"type": "object"}},
        "next_page_token": {"type": "string", "nullable": True},
    },
}
_RUNS_PAGE = {
    "type": "object",
    "required": ["runs", "next_page_token"],
    "properties": {
        "runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}},
        "next_page_token": {"type": "string", "nullable": True},
    },
}


def _insight_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for insight, grouped in _INSIGHT_GROUPED.items():
        parameters = list(_INSIGHT_FILTERS)
        if grouped:
            parameters.append({"name": "group_by", **_OPTIONAL, "schema": _STR})
        if insight == "queue":
            # A string, as for /v1/runs: an empty value means no filter.
            parameters.append({"name": "kind", **_OPTIONAL, "schema": _STR})
        name = insight.replace("-", "_")
        paths[f"/v1/insights/{insight}"] = {
            "get": {
                "operationId": f"insight_{name}",
                "parameters": parameters,
                "responses": {
                    "200": {
                        "description": "a page of the insight's rows",
                        "content": {"application/json": {"schema": _PAGE}},
                    },
                    **_REFUSED,
                },
            }
        }
        drill = [
            {"name": key, **_OPTIONAL, "schema": _STR}
            for key in ("pipeline_task", "step", "exit_code", "measure")
        ]
        paths[f"/v1/insights/{insight}/runs"] = {
            "get": {
                "operationId": f"insight_{name}_runs",
                "parameters": [*parameters, *drill],
                "responses": {
                    "200": {
                        "description": "the runs behind a number, newest first",
                        "content": {"application/json": {"schema": _RUNS_PAGE}},
                    },
                    **_REFUSED,
                },
            }
        }
    return paths


# grpc-gateway's error since Results v0.15: an empty `details` is left out.
_GRPC_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "integer"}, "message": _STR, "details": {"type": "array"}},
}


def _grpcerror_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Grpc"}}},
    }


_REFUSED = {
    "400": error_spec("invalid parameters, every problem listed"),
    "401": error_spec("missing or wrong query token"),
    "503": error_spec("the store cannot be read; retry after Retry-After seconds"),
}

_GRPC_REFUSED = {
    code: _grpcerror_response(text)
    for code, text in (
        ("400", "INVALID_ARGUMENT"),
        ("401", "UNAUTHENTICATED"),
        ("404", "NOT_FOUND"),
        ("503", "UNAVAILABLE"),
        ("504", "DEADLINE_EXCEEDED"),
    )
}

_RESULTS = "/apis/results.tekton.dev/v1alpha2/parents/{parent}/results"
_PARENT = {"name": "parent", "in": "path", "required": True, "schema": _STR}
_RESULT = {"name": "result", "in": "path", "required": True, "schema": _STR}
_LISTING = [
    {"name": name, **_OPTIONAL, "schema": _STR} for name in ("filter", "order_by", "page_token")
] + [{"name": "page_size", **_OPTIONAL, "schema": {"type": "integer"}}]

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "runlake query", "version": "1"},
    "components": {"schemas": {"Error": ERROR, "Grpc": _GRPC_ERROR, "Run": RUN}},
    "paths": {
        "/v1/runs": {
            "get": {
                "operationId": "listRuns",
                "parameters": [
                    *_FILTERS,
                    {
                        "name": "page_size",
                        **_OPTIONAL,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                    {"name": "page_token", **_OPTIONAL, "schema": _STR},
                ],
                "responses": {
                    "200": {
                        "description": "newest created_at first",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["runs", "next_page_token"],
                                    "properties": {
                                        "runs": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Run"},
                                        },
                                        "next_page_token": {"type": "string", "nullable": True},
                                    },
                                }
                            }
                        },
                    },
                    **_REFUSED,
                },
            }
        },
        "/v1/runs/{uid}": {
            "get": {
                "operationId": "getRun",
                "parameters": [{"name": "uid", "in": "path", "required": True, "schema": _STR}],
                "responses": {
                    "200": {
                        "description": "the latest snapshot",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Run"}}
                        },
                    },
                    "404": error_spec("unknown run"),
                    **_REFUSED,
                },
            }
        },
        "/v1/runs/{uid}/logs": {
            "get": {
                "operationId": "getRunLogs",
                "parameters": [
                    {"name": "uid", "in": "path", "required": True, "schema": _STR},
                    {"name": "step", "in": "query", "required": False, "schema": _STR},
                ],
                "responses": {
                    "200": {
                        "description": "the step logs, streamed",
                        "content": {"text/plain": {"schema": _STR}},
                    },
                    "404": error_spec("unknown run or step"),
                    **_REFUSED,
                },
            }
        },
        "/v1/summary": {
            "get": {
                "operationId": "summary",
                "parameters": [
                    {
                        "name": "group_by",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "string",
                            "enum": list(GROUP_BY),
                        },
                    },
                    *_FILTERS,
                ],
                "responses": {
                    "200": {
                        "description": "totals per group",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["groups"],
                                    "properties": {
                                        "groups": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "required": ["key", "total", "success_rate"],
                                            },
                                        }
                                    },
                                }
                            }
                        },
                    },
                    **_REFUSED,
                },
            }
        },
        "/v1/sql": {
            "post": {
                "operationId": "sql",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["sql"],
                                "properties": {
                                    "sql": _STR,
                                    "limit": {"type": "integer", "minimum": 1, "maximum": 10000},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "one read-only query's rows",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["columns", "rows", "truncated"],
                                    "properties": {
                                        "columns": {"type": "array", "items": _STR},
                                        "rows": {"type": "array", "items": {"type": "array"}},
                                        "truncated": {"type": "boolean"},
                                    },
                                }
                            }
                        },
                    },
                    "415": error_spec("not JSON"),
                    **_REFUSED,
                },
            }
        },
        _RESULTS: {
            "get": {
                "operationId": "listResults",
                "parameters": [_PARENT, *_LISTING],
                "responses": {
                    "200": {
                        "description": "Tekton Results' ListResults",
                        "content": {
                            "application/json": {
                                # Empty fields are left out: no results is {}.
                                "schema": {
                                    "type": "object",
                                    "properties": {"results": {"type": "array"}},
                                }
                            }
                        },
                    },
                    **_GRPC_REFUSED,
                },
            }
        },
        _RESULTS + "/{result}/records": {
            "get": {
                "operationId": "listRecords",
                "parameters": [_PARENT, _RESULT, *_LISTING],
                "responses": {
                    "200": {
                        "description": "Tekton Results' ListRecords",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"records": {"type": "array"}},
                                }
                            }
                        },
                    },
                    **_GRPC_REFUSED,
                },
            }
        },
        **_insight_paths(),
        "/v1/external-logs/{namespace}/{pod}/{container}": {
            "get": {
                "operationId": "externalLogs",
                "description": "a step's log for the Tekton Dashboard's --external-logs",
                "parameters": [
                    {"name": name, "in": "path", "required": True, "schema": _STR}
                    for name in ("namespace", "pod", "container")
                ]
                + [
                    {"name": name, "in": "query", "required": False, "schema": _STR}
                    for name in ("startTime", "completionTime")
                ],
                "responses": {
                    "200": {
                        "description": "the step's text",
                        "content": {"text/plain": {"schema": _STR}},
                    },
                    "404": error_spec("unknown pod, container or log"),
                    **_REFUSED,
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "responses": {"200": {"description": "the process answers"}},
            }
        },
    },
}


blueprint = Blueprint("openapi", __name__)


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(SPEC)

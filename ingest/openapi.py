"""The ingest service's OpenAPI description, served at GET /openapi.json and fuzzed by the
tests with schemathesis."""

from __future__ import annotations

from typing import Any

from service.openapi import ERROR, error_spec

ACCEPTED = {
    "description": "every accepted row is durable in the store",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["accepted", "ignored"],
                "properties": {
                    "accepted": {"type": "integer", "minimum": 0},
                    "ignored": {"type": "integer", "minimum": 0},
                },
            }
        }
    },
}

REFUSALS = {
    "400": error_spec("malformed input: every problem listed, nothing stored"),
    "401": error_spec("missing or wrong token"),
    "403": error_spec("?cluster= names another cluster than the token's"),
    "408": error_spec("the sender stalled mid-body (30 s), or an event body took over 60 s"),
    "413": error_spec("body larger than RUNLAKE_MAX_BODY_BYTES"),
    "415": error_spec("unsupported content type or encoding"),
    "503": error_spec("the store cannot be written; retry after Retry-After seconds"),
}

_CE_HEADERS = [
    {"name": f"ce-{name}", "in": "header", "required": False, "schema": {"type": "string"}}
    for name in ("specversion", "id", "source", "type", "time")
]

_DNS_LABEL = {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"}
# The sender's cluster; a token bound to a cluster decides it (ingest.auth). Empty is unset.
_CLUSTER = {
    "name": "cluster",
    "in": "query",
    "required": False,
    "allowEmptyValue": True,
    "schema": _DNS_LABEL,
}

_EVENTS = {
    "summary": "A Tekton CloudEvent in binary, structured or batch mode",
    "parameters": [*_CE_HEADERS, _CLUSTER],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/cloudevents+json": {"schema": {"type": "object"}},
            "application/cloudevents-batch+json": {
                "schema": {"type": "array", "items": {"type": "object"}}
            },
        },
    },
    "responses": {"202": ACCEPTED, **REFUSALS},
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "runlake ingest", "version": "1"},
    "components": {
        "schemas": {"Error": ERROR},
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "token": {"type": "apiKey", "in": "query", "name": "token"},
        },
    },
    "paths": {
        "/": {"post": {**_EVENTS, "operationId": "postEventRoot"}},
        "/v1/events": {"post": {**_EVENTS, "operationId": "postEvent"}},
        "/v1/snapshots": {
            "post": {
                "operationId": "postSnapshots",
                "summary": 'A Kubernetes object, {"items": [...]} as kubectl get -o json prints, '
                "or a JSON array of objects",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {"type": "object"},
                                    {"type": "array", "items": {"type": "object"}},
                                ]
                            }
                        }
                    },
                },
                "parameters": [_CLUSTER],
                "responses": {"202": ACCEPTED, **REFUSALS},
            }
        },
        "/v1/logs/{namespace}/{uid}/{step}": {
            "put": {
                "operationId": "putLog",
                "summary": "A step's log text, streamed, any size; a repeat replaces",
                "parameters": [
                    {"name": "namespace", "in": "path", "required": True, "schema": _DNS_LABEL},
                    {
                        "name": "uid",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[a-z0-9-]{1,63}$"},
                    },
                    {"name": "step", "in": "path", "required": True, "schema": _DNS_LABEL},
                ],
                # A step that printed nothing has an empty log.
                "requestBody": {
                    "required": False,
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "responses": {
                    "201": {
                        "description": "stored",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["key", "size_bytes", "stored_bytes"],
                                    "properties": {
                                        "key": {"type": "string"},
                                        "size_bytes": {"type": "integer"},
                                        "stored_bytes": {"type": "integer"},
                                    },
                                }
                            }
                        },
                    },
                    **{k: v for k, v in REFUSALS.items() if k not in ("403", "413")},
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "responses": {"200": {"description": "the process answers"}},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "responses": {
                    "200": {"description": "the store is reachable"},
                    "503": error_spec("the store cannot be reached"),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "responses": {
                    "200": {
                        "description": "Prometheus text exposition",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    },
}

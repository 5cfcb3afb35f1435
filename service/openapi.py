"""The OpenAPI description of the one error shape, shared by both services' specs."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "required": ["error", "errors", "status"],
    "properties": {
        "error": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "status": {"type": "integer"},
    },
}


def error_spec(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }

"""Status and kind names are declared once, in layout/schema.py: a module that spells one as
a string literal again fails here (Tekton's own vocabulary, the condition type and reasons
that webhooks/status.py maps, is not runlake's and is allowed there)."""

from __future__ import annotations

import ast
from pathlib import Path

from layout.schema import KINDS, STATUSES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("layout", "query", "service", "ingest", "webhooks", "runlake/cli")
# webhooks/status.py: the `Succeeded` condition type and the reasons `Cancelled`, `Pending`.
TEKTON_VOCABULARY = {
    "webhooks/status.py": {"Succeeded", "Cancelled", "Pending"},
    # Results' summary counts condition reasons (Tekton's words), not runlake's statuses.
    "query/http/results_sql.py": {"Succeeded", "Failed", "Cancelled", "Running"},
}


def _spelled(source: str) -> set[str]:
    """The names written as a string literal, or quoted inside one (SQL: `status = 'Failed'`)."""
    names = set(KINDS) | set(STATUSES)
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= {n for n in names if node.value == n or f"'{n}'" in node.value}
    return found


def test_schema_status_and_kind_names_are_spelled_only_in_schema():
    spelled = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            extra = _spelled(path.read_text()) - TEKTON_VOCABULARY.get(name, set())
            if extra and name != "layout/schema.py":
                spelled[name] = sorted(extra)
    assert spelled == {}, "import these from layout.schema"
    assert _spelled((ROOT / "layout" / "schema.py").read_text()) == set(KINDS) | set(STATUSES)

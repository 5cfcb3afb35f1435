"""CEL filters of the Tekton Results API, checked as Results' cel-go environments check them
and translated to parameterized DuckDB SQL as Results' cel2sql translates them.

Three environments (tektoncd/results pkg/api/server/cel/env.go and records.go):

- RESULTS: `parent`, `cluster` (runlake's own: one archive holds many clusters), `uid`,
  `annotations` (map), `summary` (record, type, start_time,
  end_time, status, annotations), `create_time`, `update_time`; constants PIPELINE_RUN,
  TASK_RUN and the status enum UNKNOWN, SUCCESS, FAILURE, TIMEOUT, CANCELLED (ints).
- RECORDS: `parent`, `cluster`, `result_name`, `name` (the short record name), `data_type`, `data`
  (dyn: the stored object); constants PIPELINE_RUN and TASK_RUN.
- LOGS (the logs list): `name` (the full record name), `data_type`, `data` (a Log).

What cel2sql translates is translated: `! && || == != < <= > >= in`, `+` (CONCAT for
strings), `- * / %` on numbers, `startsWith`, `endsWith`, `contains`, `matches`, `getDate`,
`getDayOfMonth`, `getDayOfWeek`, `getDayOfYear`, `getFullYear`, `timestamp()`, literals
and lists. What cel-go's checker refuses (an undeclared name, no matching overload, a filter
that is not boolean) and what cel2sql refuses (`size`, `duration`, `getHours`, `?:`, macros,
...) is refused, with upstream's message. A `data` field is text, as in Results' SQL: a
field the object lacks is NULL, so neither a condition nor its negation matches that row.

Where Results' SQL fails at run time (and Results answers an empty list), this module gives
what the expression means in CEL instead: a data field compared with a number or a boolean,
`has()`, `k in map`, a map value compared with `!=`, quotes inside strings; a filter that
is not boolean is refused (README, Tekton Results API, lists each difference).

User text never reaches the SQL: every literal becomes a `$n` parameter, and names only
select among SQL expressions written here. Pure logic: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from layout.schema import CANCELLED, FAILED, PIPELINE_RUN, SUCCEEDED, TASK_RUN, TIMED_OUT
from query.cel_parse import (
    MAX_FILTER_CHARS,
    Binary,
    Call,
    CelError,
    Ident,
    Index,
    ListLit,
    Lit,
    Node,
    Select,
    Unary,
    parse,
)

__all__ = [
    "LOGS",
    "LOG_TYPES",
    "MAX_FILTER_CHARS",
    "RECORDS",
    "RESULTS",
    "STATUS_NAMES",
    "CelError",
    "Params",
    "Scope",
    "parse",
    "record_types",
    "translate",
]

# RecordSummary.Status by number (resources.proto).
STATUS_NAMES = ("UNKNOWN", "SUCCESS", "FAILURE", "TIMEOUT", "CANCELLED")
TYPE_CONSTANTS = {
    "TASK_RUN": f"tekton.dev/v1.{TASK_RUN}",
    "PIPELINE_RUN": f"tekton.dev/v1.{PIPELINE_RUN}",
}
LOG_TYPES = frozenset({"results.tekton.dev/v1alpha3.Log", "results.tekton.dev/v1alpha2.Log"})


# runlake's `status` column to RecordSummary.Status numbers; anything else is UNKNOWN (0).
_RESULTS_STATUS = {SUCCEEDED: 1, FAILED: 2, TIMED_OUT: 3, CANCELLED: 4}


def status_sql(column: str = "status") -> str:
    """The RecordSummary.Status number of a runlake `status` column, in SQL."""
    cases = " ".join(f"WHEN '{ours}' THEN {number}" for ours, number in _RESULTS_STATUS.items())
    return f"CASE {column} {cases} ELSE 0 END"


# -- types -------------------------------------------------------------------------------

# CEL's names, as cel-go prints them in its messages.
STRING, INT, DOUBLE, BOOL = "string", "int", "double", "bool"
TIMESTAMP, NULL, DYN = "google.protobuf.Timestamp", "null_type", "dyn"
MAP, SUMMARY, LIST = "map(string, string)", "tekton.results.v1alpha2.RecordSummary", "list"
_NUMBERS = (INT, DOUBLE)


@dataclass(frozen=True)
class Sql:
    text: str
    type: str
    literal: Any = None  # the Python value when the expression is a literal
    is_literal: bool = False
    moment: str | None = None  # DYN: a TIMESTAMPTZ column holding the same instant
    path: tuple = ()  # DYN: the path below `data`
    key: Any = None  # a map lookup: the key (for Results' `m["k"] == "v"` form)


class Params:
    """The parameters of one statement, numbered `$1`, `$2`, ... in the order added."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


@dataclass(frozen=True)
class Data:
    """How `data.*` reads: the JSON column, and columns that hold some of its fields."""

    column: str
    scalars: Mapping[tuple, str] = field(default_factory=dict)  # path -> VARCHAR column
    moments: Mapping[tuple, str] = field(default_factory=dict)  # path -> TIMESTAMPTZ column
    maps: Mapping[tuple, str] = field(default_factory=dict)  # path -> MAP(VARCHAR, VARCHAR)
    # path -> VARCHAR column equal to the field wherever the field is not empty: an equality
    # with a non-empty string reads the same over it, and a narrow column is far cheaper
    # to scan than the map (and its statistics skip files).
    nonempty: Mapping[tuple, str] = field(default_factory=dict)
    schema: Mapping[tuple, str] | None = None  # known paths and their types (a Log), or any


@dataclass(frozen=True)
class Scope:
    name: str
    variables: Mapping[str, Sql]
    constants: Mapping[str, Sql]
    messages: Mapping[str, Mapping[str, Sql]] = field(default_factory=dict)
    data: Data | None = None


_RUN_DATA = Data(
    '"object"',
    scalars={
        ("metadata", "name"): "name",
        ("metadata", "namespace"): "namespace",
        ("metadata", "uid"): "uid",
    },
    moments={
        ("metadata", "creationTimestamp"): "created_at",
        ("status", "startTime"): "started_at",
        ("status", "completionTime"): "completed_at",
    },
    maps={("metadata", "labels"): "labels", ("metadata", "annotations"): "annotations"},
    # webhooks.normalize's label columns; `task` is left out, as it also takes
    # tekton.dev/clusterTask.
    nonempty={
        ("metadata", "labels", "tekton.dev/pipeline"): "pipeline",
        ("metadata", "labels", "tekton.dev/pipelineRun"): "pipeline_run",
        ("metadata", "labels", "tekton.dev/pipelineTask"): "pipeline_task",
    },
)

# The Log record's JSON (tektoncd/results pkg/apis/v1alpha3/types.go), as query.http.results
# builds it: the logs list evaluates CEL over it, where a missing key is an error.
LOG_SCHEMA: dict[tuple, str] = {
    ("kind",): STRING,
    ("apiVersion",): STRING,
    ("metadata",): DYN,
    ("metadata", "name"): STRING,
    ("metadata", "namespace"): STRING,
    ("metadata", "uid"): STRING,
    ("metadata", "creationTimestamp"): DYN,
    ("spec",): DYN,
    ("spec", "resource"): DYN,
    ("spec", "resource", "kind"): STRING,
    ("spec", "resource", "namespace"): STRING,
    ("spec", "resource", "name"): STRING,
    ("spec", "resource", "uid"): STRING,
    ("spec", "type"): STRING,
    ("status",): DYN,
    ("status", "size"): DOUBLE,
    ("status", "isStored"): BOOL,
    ("status", "errorOnStoreMsg"): STRING,
    ("status", "isRetryableErr"): BOOL,
}


def _const(value: str) -> Sql:
    return Sql("", STRING, value, True)


_TYPE_CONSTANTS = {name: _const(value) for name, value in TYPE_CONSTANTS.items()}
_STATUS_CONSTANTS = {name: Sql("", INT, n, True) for n, name in enumerate(STATUS_NAMES)}

RECORDS = Scope(
    "records",
    variables={
        "parent": Sql("namespace", STRING),
        # runlake's own: Results serves one cluster, a runlake archive many.
        "cluster": Sql("cluster", STRING),
        "result_name": Sql("result_uid", STRING),
        "name": Sql("short_name", STRING),
        "data_type": Sql("data_type", STRING),
        "data": Sql('"object"', DYN),
    },
    constants=_TYPE_CONSTANTS,
    data=_RUN_DATA,
)
RESULTS = Scope(
    "results",
    variables={
        "parent": Sql("parent", STRING),
        "cluster": Sql("cluster", STRING),
        "uid": Sql("uid", STRING),
        "annotations": Sql("result_annotations", MAP),
        "summary": Sql("", SUMMARY),
        "create_time": Sql("create_time", TIMESTAMP),
        "update_time": Sql("update_time", TIMESTAMP),
    },
    constants={**_TYPE_CONSTANTS, **_STATUS_CONSTANTS},
    messages={
        "summary": {
            "record": Sql("summary_record", STRING),
            "type": Sql("summary_type", STRING),
            "start_time": Sql("summary_start_time", TIMESTAMP),
            "end_time": Sql("summary_end_time", TIMESTAMP),
            "status": Sql("summary_status", INT),
            "annotations": Sql("summary_annotations", MAP),
        }
    },
)
LOGS = Scope(
    "logs",
    variables={
        "name": Sql("record_name", STRING),
        "data_type": Sql("data_type", STRING),
        "data": Sql('"object"', DYN),
    },
    constants={},
    data=replace(_RUN_DATA, schema=LOG_SCHEMA),
)

# cel-go's standard functions and macros: the checker knows them, and cel2sql refuses those
# it does not translate (any other name is an undeclared reference).
_STANDARD = {
    "size", "duration", "timestamp", "int", "uint", "double", "string", "bytes", "bool", "type",
    "dyn", "matches", "contains", "startsWith", "endsWith", "has", "getDate", "getDayOfMonth",
    "getDayOfWeek", "getDayOfYear", "getFullYear", "getHours", "getMinutes", "getSeconds",
    "getMonth", "getMilliseconds", "exists", "all", "exists_one", "map", "filter", "_?_:_",
}  # fmt: skip
_MACROS = {"exists", "all", "exists_one", "map", "filter"}
_DATE_PARTS = {
    "getDate": "EXTRACT(DAY FROM {})",
    "getDayOfMonth": "(EXTRACT(DAY FROM {}) - 1)",
    "getDayOfWeek": "EXTRACT(DOW FROM {})",
    "getDayOfYear": "(EXTRACT(DOY FROM {}) - 1)",
    "getFullYear": "EXTRACT(YEAR FROM {})",
}
_STRING_FUNCTIONS = {
    "startsWith": "starts_with",
    "endsWith": "suffix",
    "contains": "contains",
    "matches": "regexp_matches",
}
_COMPARE = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_CAST = {STRING: "VARCHAR", INT: "DOUBLE", DOUBLE: "DOUBLE", BOOL: "BOOLEAN"}


def _pointer(path: tuple) -> str:
    """A JSON pointer (RFC 6901), which DuckDB's json functions take as a path."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


# -- timestamp literals ------------------------------------------------------------------

_ZONE = r"(?P<zone>Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?"
_CLOCK = r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?)?"
_ISO = re.compile(rf"(?P<y>\d{{4}})[-/](?P<m>\d{{1,2}})[-/](?P<d>\d{{1,2}}){_CLOCK}\s*{_ZONE}")
_COMPACT = re.compile(
    rf"(?P<y>\d{{4}})(?P<m>\d{{2}})(?P<d>\d{{2}})(?:T(?P<H>\d{{2}})(?P<M>\d{{2}})(?P<S>\d{{2}}))?{_ZONE}"
)
_US = re.compile(rf"(?P<m>\d{{1,2}})/(?P<d>\d{{1,2}})/(?P<y>\d{{4}}){_CLOCK}\s*{_ZONE}")
_NAMED_MONTH = re.compile(
    r"(?P<mon>[A-Za-z]{3})[a-z]*\.? (?P<d>\d{1,2}),? (?P<y>\d{4})"
    rf"(?: (?P<H>\d{{1,2}}):(?P<M>\d{{2}})(?::(?P<S>\d{{2}}))?)?\s*{_ZONE}"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def timestamp_literal(text: str, now: datetime | None = None) -> datetime | str:
    """A `timestamp("...")` literal in the forms PostgreSQL's timestamptz input takes (what
    Results' SQL accepts): RFC 3339, `2022/10/30T21:45:00.000Z`, a date alone (midnight),
    a space before the time, `20210202T223732Z`, `02/03/2021` (month first), `Feb 2 2021
    22:37`, `now`, `today`, `yesterday`, `tomorrow`, `epoch`; no zone means UTC. Returns
    "infinity" or "-infinity" for those. Raises ValueError otherwise. (Not runlake's own
    moments, layout.units: this is Results' grammar, so its users' filters carry over.)"""
    value = text.strip()
    special = value.lower()
    if special in ("infinity", "-infinity"):
        return special
    now = now or datetime.now(UTC)
    midnight = datetime.combine(now.date(), datetime.min.time(), UTC)
    days = {"today": 0, "yesterday": -1, "tomorrow": 1}
    if special in days:
        return midnight + timedelta(days=days[special])
    if special == "now":
        return now
    if special == "epoch":
        return datetime(1970, 1, 1, tzinfo=UTC)
    for pattern in (_ISO, _COMPACT, _US, _NAMED_MONTH):
        found = pattern.fullmatch(value)
        if found:
            return _moment(found.groupdict())
    raise ValueError(f"{text!r} is not a time")


def _moment(parts: dict[str, str | None]) -> datetime:
    month = (
        _MONTHS.index(parts["mon"].lower()) + 1
        if parts.get("mon") and parts["mon"].lower() in _MONTHS
        else int(parts["m"] or 0)
    )
    fraction = (parts.get("f") or "0")[:6].ljust(6, "0")
    local = datetime(
        int(parts["y"]),
        month,
        int(parts["d"]),
        int(parts.get("H") or 0),
        int(parts.get("M") or 0),
        int(parts.get("S") or 0),
        int(fraction),
    )
    zone = parts.get("zone")
    if zone in (None, "Z", "z", "UTC"):
        return local.replace(tzinfo=UTC)
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return (local - offset if zone[0] == "+" else local + offset).replace(tzinfo=UTC)


# -- checking and translating ------------------------------------------------------------


def _where(text: str, pos: int) -> tuple[int, int]:
    """(line from 1, column from 0) of an offset."""
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1)


class _Translator:
    def __init__(
        self, text: str, scope: Scope, params: Params, positive: frozenset[int] = frozenset()
    ) -> None:
        self.source = text
        self.scope = scope
        self.params = params
        self.positive = positive  # `_positive`'s equalities

    # -- errors, worded as cel-go's checker and cel2sql word them

    def compile_error(self, node: Node, message: str) -> CelError:
        line, column = _where(self.source, node.pos)
        where = f"<input>:{line}:{column + 1}"
        return CelError(f"error compiling CEL filters: ERROR: {where}: {message}")

    def unsupported(self, node: Node, what: str) -> CelError:
        line, column = _where(self.source, node.pos)
        return CelError(f"unsupported CEL {what} at line {line}, column {column}")

    def no_overload(self, node: Node, name: str, *types: str) -> CelError:
        operator = name[0] in "_@"
        shown = f"({', '.join(types)})" if operator else f"{types[0]}.({', '.join(types[1:])})"
        message = f"found no matching overload for '{name}' applied to '{shown}'"
        return self.compile_error(node, message)

    def check_names(self, tree: Node) -> None:
        """cel-go's checker sees every name before anything is translated: all undeclared
        ones are refused together, as it words them."""
        errors = []
        for node, name in _names(tree):
            known = name in self.scope.variables or name in self.scope.constants
            if not known and not (isinstance(node, Call) and name in _STANDARD):
                errors.append(self.compile_error(node, _undeclared(name)))
        if errors:
            details = [str(e).removeprefix("error compiling CEL filters: ") for e in errors]
            raise CelError("error compiling CEL filters: " + "\n".join(details))

    # -- expressions

    def boolean(self, node: Node) -> Sql:
        sql = self.expr(node)
        if sql.type == BOOL:
            return sql
        if sql.type == DYN:
            known = self.known_type(sql)
            if known == BOOL:
                return Sql(f"TRY_CAST({self.text(sql)} AS BOOLEAN)", BOOL)
            shown = ".".join(map(str, ("data", *sql.path)))
            raise CelError(
                f"expected boolean expression, but {shown} is a data field, which Results' "
                f'SQL reads as text: compare it, e.g. {shown} == "..."'
            )
        raise CelError(f"expected boolean expression, but got {sql.type}")

    def expr(self, node: Node) -> Sql:
        if isinstance(node, Lit):
            return self.literal(node.value)
        if isinstance(node, ListLit):
            return Sql("", LIST)
        if isinstance(node, (Ident, Select, Index)):
            return self.reference(node)
        if isinstance(node, Unary):
            if node.op == "-":
                raise self.unsupported(node, "`-_` function statement")
            operand = self.boolean(node.operand)
            return Sql(f"(NOT {operand.text})", BOOL)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Call):
            return self.call(node)
        raise self.unsupported(node, "statement")

    def literal(self, value: Any) -> Sql:
        if value is None:
            return Sql("NULL", NULL, None, True)
        if isinstance(value, bool):
            return Sql("true" if value else "false", BOOL, value, True)
        if isinstance(value, int):
            return Sql(f"CAST({self.params.add(value)} AS BIGINT)", INT, value, True)
        if isinstance(value, float):
            return Sql(f"CAST({self.params.add(value)} AS DOUBLE)", DOUBLE, value, True)
        return Sql(f"CAST({self.params.add(value)} AS VARCHAR)", STRING, value, True)

    def materialize(self, sql: Sql) -> Sql:
        """A constant (PIPELINE_RUN, SUCCESS) as a parameter."""
        return self.literal(sql.literal) if sql.is_literal and not sql.text else sql

    # -- names

    def reference(self, node: Node) -> Sql:
        if isinstance(node, Ident):
            return self.identifier(node)
        base = self.reference_or_value(node.operand)
        if isinstance(node, Select):
            return self.select(node, base)
        return self.index(node, base)

    def reference_or_value(self, node: Node) -> Sql:
        return self.reference(node) if isinstance(node, (Ident, Select, Index)) else self.expr(node)

    def identifier(self, node: Ident) -> Sql:
        scope = self.scope
        if node.name in scope.variables:
            return replace(scope.variables[node.name], path=())
        if node.name in scope.constants:
            return self.materialize(scope.constants[node.name])
        raise self.compile_error(node, _undeclared(node.name))

    def select(self, node: Select, base: Sql) -> Sql:
        if base.type == SUMMARY:
            fields = self.scope.messages["summary"]
            if node.field not in fields:
                raise self.compile_error(node, f"undefined field '{node.field}'")
            return fields[node.field]
        if base.type == DYN:
            return self.data_path(node, base.path + (node.field,))
        if base.type == MAP:
            line, column = _where(self.source, node.pos)
            raise CelError(
                f"unsupported CEL select statement at line {line}, column {column}. "
                f"{_first_name(node)}: not recognized field"
            )
        raise self.compile_error(node, f"type '{base.type}' does not support field selection")

    def index(self, node: Index, base: Sql) -> Sql:
        key = node.index
        if not isinstance(key, Lit) or isinstance(key.value, bool) or key.value is None:
            raise CelError("an index must be a string or integer literal")
        if base.type == DYN:
            return self.data_path(node, base.path + (key.value,))
        if base.type == MAP:
            if not isinstance(key.value, str):
                raise self.no_overload(node, "_[_]", MAP, INT)
            return Sql(
                f"json_extract_string({base.text}, {self.params.add(_pointer((key.value,)))})",
                STRING,
                key=key.value,
            )
        raise self.no_overload(node, "_[_]", base.type, STRING)

    def data_path(self, node: Node, path: tuple) -> Sql:
        """A data field; its SQL is written only when used (an unused parameter is an error
        in DuckDB), by `text`."""
        data = self.scope.data
        if data.schema is not None and path not in data.schema:
            raise CelError(
                f"failed to evaluate filter: no such key: {path[-1]} (a Log record has "
                f"{', '.join('.'.join(p) for p in data.schema if len(p) > 1)})"
            )
        return Sql("", DYN, moment=data.moments.get(path), path=path)

    def text(self, sql: Sql) -> str:
        if sql.type != DYN or sql.text:
            return sql.text
        data, path = self.scope.data, sql.path
        if path in data.scalars:
            return data.scalars[path]
        if len(path) == 3 and path[:2] in data.maps and isinstance(path[2], str):
            return f"{data.maps[path[:2]]}[{self.params.add(path[2])}]"
        if not path:
            return data.column
        return f"json_extract_string({data.column}, {self.params.add(_pointer(path))})"

    def known_type(self, sql: Sql) -> str:
        schema = self.scope.data.schema if self.scope.data else None
        return schema.get(sql.path, DYN) if schema is not None else DYN

    # -- operators

    def binary(self, node: Binary) -> Sql:
        if node.op in ("&&", "||"):
            left, right = self.boolean(node.left), self.boolean(node.right)
            return Sql(f"({left.text} {'AND' if node.op == '&&' else 'OR'} {right.text})", BOOL)
        if node.op in _COMPARE:
            return self.compare(node, node.op, self.expr(node.left), self.expr(node.right))
        if node.op == "in":
            return self.in_(node)
        return self.arithmetic(node)

    def compare(self, node: Node, op: str, left: Sql, right: Sql) -> Sql:
        if NULL in (left.type, right.type):
            other = right if left.type == NULL else left
            if op not in ("==", "!=") or other.type not in (DYN, NULL, MAP):
                raise self.no_overload(node, f"_{op}_", left.type, right.type)
            if other.type == NULL:
                return Sql("true" if op == "==" else "false", BOOL)
            # Results writes `<> NULL`, which never holds; this is what the filter says.
            return Sql(f"({self.text(other)} IS {'' if op == '==' else 'NOT '}NULL)", BOOL)
        if op == "==" and right.key is not None and left.type == STRING:
            left, right = right, left
        if op == "==" and id(node) in self.positive:
            column = self.nonempty_column(left, right) or self.nonempty_column(right, left)
            if column is not None:
                return column
        if op == "==" and left.key is not None and right.type == STRING:
            # Results: `m @> '{"k": "v"}'`, false (not NULL) where the key is absent.
            return Sql(f"coalesce({left.text} = {right.text}, false)", BOOL)
        left, right = self.coerce(left, right), self.coerce(right, left)
        if left.type in _NUMBERS and right.type in _NUMBERS:
            return Sql(f"({left.text} {_COMPARE[op]} {right.text})", BOOL)
        if left.type != right.type or left.type in (MAP, LIST, SUMMARY):
            raise self.no_overload(node, f"_{op}_", left.type, right.type)
        if left.type == BOOL and op not in ("==", "!="):
            raise self.no_overload(node, f"_{op}_", left.type, right.type)
        return Sql(f"({left.text} {_COMPARE[op]} {right.text})", BOOL)

    def nonempty_column(self, field: Sql, value: Sql) -> Sql | None:
        """`field == value` over the column that holds the field, where `value` is a
        non-empty string literal. The two differ only where the field is empty (false over
        the field, NULL over the column), which a filter cannot tell apart where the
        equality is positive (`_positive`)."""
        data = self.scope.data
        column = data.nonempty.get(field.path) if data and field.type == DYN else None
        literal = value.type == STRING and value.is_literal and value.text
        if column is None or not literal or not value.literal:
            return None
        return Sql(f"({column} = {value.text})", BOOL)

    def check_comparable(self, node: Node, left: Sql, right: Sql) -> None:
        kinds = {left.type, right.type}
        related = DYN in kinds or NULL in kinds or kinds <= set(_NUMBERS) or len(kinds) == 1
        if related and not kinds & {MAP, LIST, SUMMARY}:
            return
        raise self.no_overload(node, "_==_", left.type, right.type)

    def coerce(self, sql: Sql, other: Sql) -> Sql:
        """A data field takes the type of what it is compared with."""
        if sql.type != DYN:
            return sql
        if other.type == TIMESTAMP:
            return Sql(sql.moment or f"TRY_CAST({self.text(sql)} AS TIMESTAMPTZ)", TIMESTAMP)
        if other.type in (STRING, DYN):
            return Sql(self.text(sql), STRING)
        if other.type in _CAST:
            return Sql(f"TRY_CAST({self.text(sql)} AS {_CAST[other.type]})", other.type)
        return sql

    def in_(self, node: Binary) -> Sql:
        if not isinstance(node.right, ListLit):
            return self.key_in(node)
        left = self.expr(node.left)
        if not node.right.items:
            return Sql("false", BOOL)
        items = [self.expr(item) for item in node.right.items]
        for item in items:
            self.check_comparable(node, left, item)
        left = self.coerce(left, items[0])
        texts = [self.coerce(item, left).text for item in items]
        return Sql(f"({left.text} IN ({', '.join(texts)}))", BOOL)

    def key_in(self, node: Binary) -> Sql:
        """`"k" in m`: the map has the key. (Results' SQL compares k with the map's whole
        JSON text, or fails, so it never matches.)"""
        right = self.reference_or_value(node.right)
        key = node.left.value if isinstance(node.left, Lit) else None
        if not isinstance(key, str) or right.type not in (MAP, DYN):
            left = self.expr(node.left)
            raise self.no_overload(node, "@in", left.type, right.type)
        if right.type == MAP:
            pointer = self.params.add(_pointer((key,)))
            return Sql(f"(json_extract({right.text}, {pointer}) IS NOT NULL)", BOOL)
        data = self.scope.data
        if right.path in data.maps:
            return Sql(f"map_contains({data.maps[right.path]}, {self.params.add(key)})", BOOL)
        pointer = self.params.add(_pointer(right.path + (key,)))
        return Sql(f"(json_extract({data.column}, {pointer}) IS NOT NULL)", BOOL)

    def arithmetic(self, node: Binary) -> Sql:
        terms = self.concat_terms(node)
        if terms is not None:
            return Sql(f"concat({', '.join(terms)})", STRING)
        left, right = self.expr(node.left), self.expr(node.right)
        left, right = self.coerce(left, right), self.coerce(right, left)
        if left.type not in _NUMBERS or right.type not in _NUMBERS:
            raise self.no_overload(node, f"_{node.op}_", left.type, right.type)
        op = "//" if node.op == "/" and left.type == right.type == INT else node.op
        kind = INT if left.type == right.type == INT else DOUBLE
        return Sql(f"({left.text} {op} {right.text})", kind)

    def concat_terms(self, node: Node) -> list[str] | None:
        """`a + "b" + c` with a string among them: CONCAT's arguments, the chain flattened."""
        if not isinstance(node, Binary) or node.op != "+":
            return None
        parts: list[Node] = []

        def flatten(n: Node) -> None:
            if isinstance(n, Binary) and n.op == "+":
                flatten(n.left)
                flatten(n.right)
            else:
                parts.append(n)

        flatten(node)
        probe = _Translator(self.source, self.scope, Params())  # types only, no parameters
        if not any(probe.expr(part).type == STRING for part in parts):
            return None
        values = [self.expr(part) for part in parts]
        for part, value in zip(parts, values, strict=True):
            if value.type not in (STRING, DYN):
                raise self.no_overload(part, "_+_", STRING, value.type)
        return [self.text(v) for v in values]

    # -- functions

    def call(self, node: Call) -> Sql:
        name, args = node.name, node.args
        if name not in _STANDARD:
            raise self.compile_error(node, _undeclared(name))
        if name in _MACROS:
            raise self.unsupported(node, "statement")
        if node.target is None and name == "timestamp":
            return self.timestamp(node)
        if node.target is None and name == "has":
            return self.has(node)
        if node.target is None and name == "matches" and len(args) == 2:
            node = Call(node.pos, args[0], name, args[1:])
        if name in _STRING_FUNCTIONS and node.target is not None:
            return self.string_function(node)
        if name in _DATE_PARTS and node.target is not None:
            return self.date_part(node)
        raise self.unsupported(node, f"`{name}` function statement")

    def string_function(self, node: Call) -> Sql:
        target = self.reference_or_value(node.target)
        args = [self.expr(arg) for arg in node.args]
        types = [a.type for a in args]
        if target.type not in (STRING, DYN) or len(args) != 1 or args[0].type not in (STRING, DYN):
            raise self.no_overload(node, node.name, target.type, *types)
        function = _STRING_FUNCTIONS[node.name]
        return Sql(f"{function}({self.text(target)}, {self.text(args[0])})", BOOL)

    def date_part(self, node: Call) -> Sql:
        target = self.reference_or_value(node.target)
        if target.type == DYN:
            target = self.coerce(target, Sql("", TIMESTAMP))
        if target.type != TIMESTAMP or len(node.args) > 1:
            raise self.no_overload(node, node.name, target.type, *(["string"] * len(node.args)))
        moment = target.text
        if node.args:
            zone = self.expr(node.args[0])
            if zone.type != STRING:
                raise self.no_overload(node, node.name, TIMESTAMP, zone.type)
            moment = f"timezone({zone.text}, {moment})"  # Results ignores the zone
        return Sql(f"CAST({_DATE_PARTS[node.name].format(moment)} AS BIGINT)", INT)

    def timestamp(self, node: Call) -> Sql:
        if len(node.args) != 1:
            raise self.no_overload(node, "timestamp", *(["dyn"] * len(node.args)))
        arg = node.args[0]
        if isinstance(arg, Lit) and isinstance(arg.value, str):
            try:
                moment = timestamp_literal(arg.value)
            except ValueError:
                raise CelError(
                    f"timestamp({arg.value!r}): not a time; write RFC 3339, e.g. "
                    'timestamp("2024-01-02T03:04:05Z")'
                ) from None
            if isinstance(moment, str):
                return Sql(f"CAST({self.params.add(moment)} AS TIMESTAMPTZ)", TIMESTAMP)
            return Sql(f"CAST({self.params.add(moment)} AS TIMESTAMPTZ)", TIMESTAMP, moment, True)
        if isinstance(arg, Lit) and isinstance(arg.value, int) and not isinstance(arg.value, bool):
            try:
                moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=arg.value)
            except OverflowError:
                raise CelError(f"timestamp({arg.value}) is out of range") from None
            return Sql(f"CAST({self.params.add(moment)} AS TIMESTAMPTZ)", TIMESTAMP, moment, True)
        value = self.expr(arg)
        if value.type == DYN:
            return self.coerce(value, Sql("", TIMESTAMP))
        if value.type == TIMESTAMP:
            return value
        raise self.no_overload(node, "timestamp", value.type)

    def has(self, node: Call) -> Sql:
        arg = node.args[0] if len(node.args) == 1 else None
        if not isinstance(arg, Select):
            raise self.compile_error(node, "invalid argument to has() macro")
        value = self.reference(arg)
        if value.type != DYN:
            raise CelError("has() is supported for data fields only")
        pointer = self.params.add(_pointer(value.path))
        return Sql(f"(json_extract({self.scope.data.column}, {pointer}) IS NOT NULL)", BOOL)


def _undeclared(name: str) -> str:
    return f"undeclared reference to '{name}' (in container '')"


def _names(node: Node) -> list[tuple[Node, str]]:
    """The free names of a tree, in order: identifiers (the first of a dotted chain) and
    global functions. A macro's own variables (`c` in `exists(c, ...)`) are not free; only
    its target is looked at."""
    if isinstance(node, Ident):
        return [(node, node.name)]
    if isinstance(node, Select):
        return _names(node.operand)
    if isinstance(node, Index):
        return _names(node.operand) + _names(node.index)
    if isinstance(node, Call):
        found = [] if node.target is not None else [(node, node.name)]
        if node.name in _MACROS or node.name == "has":
            return found + (_names(node.target) if node.target is not None else [])
        target = _names(node.target) if node.target is not None else []
        return found + target + [n for arg in node.args for n in _names(arg)]
    if isinstance(node, Unary):
        return _names(node.operand)
    if isinstance(node, Binary):
        return _names(node.left) + _names(node.right)
    if isinstance(node, ListLit):
        return [n for item in node.items for n in _names(item)]
    return []


def _first_name(node: Node) -> str:
    while isinstance(node, (Select, Index)):
        node = node.operand
    return node.name if isinstance(node, Ident) else "expression"


def translate(text: str | None, scope: Scope, params: Params) -> str:
    """A WHERE condition for a CEL filter over `scope`'s rows; literals are added to
    `params`. An empty filter is `true`. Raises CelError with upstream's wording."""
    if text is None or not text.strip():
        return "true"
    try:
        tree = parse(text)
    except CelError as exc:
        raise CelError(f"error compiling CEL filters: {exc}") from None
    translator = _Translator(text, scope, params, _positive(tree))
    translator.check_names(tree)
    return translator.boolean(tree).text


def _positive(tree: Node) -> frozenset[int]:
    """The ids of the `==` nodes reached from the root through && and || alone: whether the
    filter holds depends only on whether each of them is true, so false and NULL answer
    alike there (under !, a ternary or another comparison they do not)."""
    if isinstance(tree, Binary) and tree.op in ("&&", "||"):
        return _positive(tree.left) | _positive(tree.right)
    return frozenset([id(tree)] if isinstance(tree, Binary) and tree.op == "==" else [])


def record_types(text: str | None) -> frozenset[str] | None:
    """The `data_type` values a records filter can match, when it says (`data_type ==
    TASK_RUN || ...`, `data_type in [...]` joined by && and ||); None when it may match any."""
    if text is None or not text.strip():
        return None
    try:
        return _types(parse(text))
    except CelError:
        return None


def _types(node: Node) -> frozenset[str] | None:
    if isinstance(node, Binary) and node.op in ("&&", "||"):
        left, right = _types(node.left), _types(node.right)
        if node.op == "||":
            return None if left is None or right is None else left | right
        return right if left is None else left if right is None else left & right
    if isinstance(node, Binary) and node.op == "==":
        for this, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(this, Ident) and this.name == "data_type":
                value = _type_value(other)
                return None if value is None else frozenset({value})
    if (
        isinstance(node, Binary)
        and node.op == "in"
        and isinstance(node.right, ListLit)
        and isinstance(node.left, Ident)
        and node.left.name == "data_type"
    ):
        values = [_type_value(item) for item in node.right.items]
        return None if None in values else frozenset(values)
    return None


def _type_value(node: Node) -> str | None:
    if isinstance(node, Lit) and isinstance(node.value, str):
        return node.value
    if isinstance(node, Ident) and node.name in TYPE_CONSTANTS:
        return TYPE_CONSTANTS[node.name]
    return None

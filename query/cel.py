"""CEL filters of the Tekton Results API, translated to parameterized DuckDB SQL.

Tekton Results accepts a `filter` in CEL and translates it to SQL over its PostgreSQL
tables; this module does the same over runlake's `runs` view, for the subset Results
supports: `== != < <= > >= in ! && ||`, `startsWith`, `endsWith`, `contains`, `matches`,
`timestamp()`, string/number/bool/null literals and lists. Anything else (arithmetic,
`?:`, map literals, `size()`, `duration()`, macros, ...) raises CelError naming the construct,
so a filter is either translated faithfully or refused, never half-applied.

User text never reaches the SQL: every literal becomes a `$n` parameter, and field names
only select among SQL expressions written here. Like Results, a comparison with a field
the object lacks is NULL, so the row does not match (negated or not).

Pure logic: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from layout.schema import CANCELLED, FAILED, PIPELINE_RUN, SUCCEEDED, TASK_RUN, TIMED_OUT

__all__ = ["RECORDS", "RESULTS", "CelError", "Params", "Scope", "parse", "translate"]

MAX_FILTER_CHARS = 8192
MAX_DEPTH = 64

# RecordSummary.Status, by name and number; runlake's `status` column to its name.
STATUS_NAMES = ("UNKNOWN", "SUCCESS", "FAILURE", "TIMEOUT", "CANCELLED")
_RESULTS_STATUS = {
    SUCCEEDED: "SUCCESS",
    FAILED: "FAILURE",
    TIMED_OUT: "TIMEOUT",
    CANCELLED: "CANCELLED",
}


def status_sql(column: str = "status") -> str:
    """The RecordSummary.Status name of a `status` column, in SQL."""
    cases = " ".join(f"WHEN '{ours}' THEN '{theirs}'" for ours, theirs in _RESULTS_STATUS.items())
    return f"CASE {column} {cases} ELSE 'UNKNOWN' END"


STATUS_SQL = status_sql()
# Results' CEL constants for data_type and summary.type.
TYPE_CONSTANTS = {
    "TASK_RUN": f"tekton.dev/v1.{TASK_RUN}",
    "PIPELINE_RUN": f"tekton.dev/v1.{PIPELINE_RUN}",
}


class CelError(ValueError):
    """A filter that is malformed or outside the supported subset; the message names why."""


# -- lexing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # ident, int, double, string, bytes, op, end
    value: Any
    pos: int


_OPS = (
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    "<",
    ">",
    "!",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ".",
    ",",
    "?",
    ":",
    "+",
    "-",
    "*",
    "/",
    "%",
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F]+[uU]?|"
    r"(?:[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|\.[0-9]+"
    r"(?:[eE][+-]?[0-9]+)?)|[0-9]+[uU]?"
)
_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "`": "`",
    "?": "?",
}


def _lex(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if text.startswith("//", i):  # CEL comments run to the end of the line
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        prefix = re.match(r"[rRbB]{0,2}(?=['\"])", text[i:])
        if prefix is not None:
            flags = prefix.group().lower()
            if "b" in flags:
                raise CelError(f"bytes literals are not supported (at {i})")
            value, i = _lex_string(text, i + len(flags), raw="r" in flags)
            tokens.append(Token("string", value, i))
            continue
        number = _NUMBER.match(text, i)
        if number and (c.isdigit() or c == "." and i + 1 < n and text[i + 1].isdigit()):
            tokens.append(_number_token(number.group(), i))
            i = number.end()
            continue
        ident = _IDENT.match(text, i)
        if ident:
            tokens.append(Token("ident", ident.group(), i))
            i = ident.end()
            continue
        op = next((op for op in _OPS if text.startswith(op, i)), None)
        if op is None:
            raise CelError(f"unexpected character {c!r} at {i}")
        tokens.append(Token("op", op, i))
        i += len(op)
    tokens.append(Token("end", None, n))
    return tokens


def _number_token(text: str, pos: int) -> Token:
    if text[-1] in "uU":
        text = text[:-1]
    if text.lower().startswith("0x"):
        return Token("int", int(text, 16), pos)
    if any(ch in text for ch in ".eE"):
        return Token("double", float(text), pos)
    return Token("int", int(text), pos)


def _lex_string(text: str, i: int, raw: bool) -> tuple[str, int]:
    quote = text[i : i + 3] if text[i : i + 3] in ("'''", '"""') else text[i]
    start, i = i, i + len(quote)
    out: list[str] = []
    while True:
        if i >= len(text):
            raise CelError(f"unterminated string starting at {start}")
        if text.startswith(quote, i):
            return "".join(out), i + len(quote)
        c = text[i]
        if c == "\n" and len(quote) == 1:
            raise CelError(f"newline in string starting at {start}")
        if c != "\\" or raw:
            out.append(c)
            i += 1
            continue
        esc = text[i + 1 : i + 2]
        if esc in _ESCAPES:
            out.append(_ESCAPES[esc])
            i += 2
        elif esc in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[esc]
            digits = text[i + 2 : i + 2 + width]
            if not re.fullmatch(f"[0-9a-fA-F]{{{width}}}", digits):
                raise CelError(f"bad \\{esc} escape at {i}")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        elif re.fullmatch(r"[0-3][0-7][0-7]", text[i + 1 : i + 4]):
            out.append(chr(int(text[i + 1 : i + 4], 8)))
            i += 4
        else:
            raise CelError(f"bad escape \\{esc} at {i}")


# -- parsing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Lit:
    value: Any  # str, int, float, bool, None


@dataclass(frozen=True)
class Ident:
    name: str


@dataclass(frozen=True)
class Select:
    operand: Any
    field: str


@dataclass(frozen=True)
class Index:
    operand: Any
    index: Any


@dataclass(frozen=True)
class Call:
    target: Any  # None for a global function
    name: str
    args: tuple


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Any


@dataclass(frozen=True)
class Binary:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class ListLit:
    items: tuple


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.i = 0
        self.depth = 0

    def peek(self, value: str | None = None) -> bool:
        token = self.tokens[self.i]
        return token.kind == "op" and (value is None or token.value == value)

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, op: str) -> None:
        token = self.take()
        if token.kind != "op" or token.value != op:
            raise CelError(f"expected {op!r} at {token.pos}, found {_describe(token)}")

    def parse(self) -> Any:
        node = self.expr()
        token = self.tokens[self.i]
        if token.kind != "end":
            raise CelError(f"unexpected {_describe(token)} at {token.pos}")
        return node

    def expr(self) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CelError(f"the filter nests deeper than {MAX_DEPTH} levels")
        node = self.binary(0)
        if self.peek("?"):
            raise CelError("the conditional operator ?: is not supported")
        self.depth -= 1
        return node

    _LEVELS: tuple[tuple[str, ...], ...] = (
        ("||",),
        ("&&",),
        ("==", "!=", "<", "<=", ">", ">=", "in"),
        ("+", "-"),
        ("*", "/", "%"),
    )

    def binary(self, level: int) -> Any:
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while True:
            token = self.tokens[self.i]
            ops = self._LEVELS[level]
            is_op = (
                token.kind == "op"
                and token.value in ops
                or token.kind == "ident"
                and token.value == "in"
                and "in" in ops
            )
            if not is_op:
                return node
            self.i += 1
            node = Binary(token.value, node, self.binary(level + 1))

    def unary(self) -> Any:
        if self.peek("!") or self.peek("-"):
            op = self.take().value
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise CelError(f"the filter nests deeper than {MAX_DEPTH} levels")
            operand = self.unary()
            self.depth -= 1
            if op == "-" and isinstance(operand, Lit) and type(operand.value) in (int, float):
                return Lit(-operand.value)
            return Unary(op, operand)
        return self.member()

    def member(self) -> Any:
        node = self.primary()
        while True:
            if self.peek("."):
                self.i += 1
                token = self.take()
                if token.kind != "ident":
                    raise CelError(f"expected a field name at {token.pos}")
                if self.peek("("):
                    node = Call(node, token.value, self.args())
                else:
                    node = Select(node, token.value)
            elif self.peek("["):
                self.i += 1
                index = self.expr()
                self.expect("]")
                node = Index(node, index)
            else:
                return node

    def args(self) -> tuple:
        self.expect("(")
        items = []
        while not self.peek(")"):
            items.append(self.expr())
            if not self.peek(")"):
                self.expect(",")
        self.expect(")")
        return tuple(items)

    def primary(self) -> Any:
        token = self.take()
        if token.kind in ("string", "int", "double"):
            return Lit(token.value)
        if token.kind == "ident":
            if token.value in ("true", "false"):
                return Lit(token.value == "true")
            if token.value == "null":
                return Lit(None)
            if self.peek("("):
                return Call(None, token.value, self.args())
            return Ident(token.value)
        if token.kind == "op" and token.value == "(":
            node = self.expr()
            self.expect(")")
            return node
        if token.kind == "op" and token.value == "[":
            items = []
            while not self.peek("]"):
                items.append(self.expr())
                if not self.peek("]"):
                    self.expect(",")
            self.expect("]")
            return ListLit(tuple(items))
        if token.kind == "op" and token.value == "{":
            raise CelError("map and message literals {...} are not supported")
        if token.kind == "op" and token.value == ".":
            raise CelError("leading-dot identifiers are not supported")
        raise CelError(f"unexpected {_describe(token)} at {token.pos}")


def _describe(token: Token) -> str:
    return "the end of the filter" if token.kind == "end" else repr(token.value)


def parse(text: str) -> Any:
    """The syntax tree of a CEL expression. Raises CelError."""
    if len(text) > MAX_FILTER_CHARS:
        raise CelError(f"the filter is longer than {MAX_FILTER_CHARS} characters")
    return _Parser(text).parse()


# -- translating -------------------------------------------------------------------------

# Types of translated expressions. JSON is a leaf read from the stored object: text whose
# type is only known from what it is compared with. MAP is a DuckDB MAP(VARCHAR, VARCHAR);
# JSONMAP a JSON object held as text.
STRING, NUMBER, BOOL, TIMESTAMP, JSON, MAP, JSONMAP, STATUS, NULL = (
    "string",
    "number",
    "bool",
    "timestamp",
    "json",
    "map",
    "jsonmap",
    "status",
    "null",
)


@dataclass(frozen=True)
class Sql:
    text: str
    type: str
    literal: Any = None  # the Python value when the expression is a literal
    is_literal: bool = False


class Params:
    """The parameters of one statement, numbered `$1`, `$2`, ... in the order added."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


@dataclass(frozen=True)
class Scope:
    """What a filter may name: `resolve(path, params)` gives the SQL of a field path such as
    ("data", "metadata", "labels", "app"), or None for an unknown one."""

    name: str
    resolve: Callable[[tuple, Params], Sql | None]
    known: str  # the fields, for the error message


def _pointer(path: Sequence) -> str:
    """A JSON pointer (RFC 6901), which DuckDB's json functions take as a path."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _json_leaf(column: str, path: Sequence, params: Params) -> Sql:
    return Sql(f"json_extract_string({column}, {params.add(_pointer(path))})", JSON)


def _map_value(column: str, key: Any, params: Params) -> Sql:
    return Sql(f"{column}[{params.add(str(key))}]", STRING)


_DATA_COLUMNS = {
    ("metadata", "name"): Sql("name", STRING),
    ("metadata", "namespace"): Sql("namespace", STRING),
    ("metadata", "uid"): Sql("uid", STRING),
    ("metadata", "creationTimestamp"): Sql("created_at", TIMESTAMP),
    ("metadata", "labels"): Sql("labels", MAP),
    ("metadata", "annotations"): Sql("annotations", MAP),
    ("status", "startTime"): Sql("started_at", TIMESTAMP),
    ("status", "completionTime"): Sql("completed_at", TIMESTAMP),
    ("kind",): Sql("kind", STRING),
    ("apiVersion",): Sql("api_version", STRING),
}


def _resolve_record(path: tuple, params: Params) -> Sql | None:
    """Fields of a record, over the Results API's record rows (the `runs` columns plus
    record_name, result_uid, data_type, create_time, update_time)."""
    simple = {
        ("parent",): Sql("namespace", STRING),
        # runlake's own: Results serves one cluster, a runlake archive many.
        ("cluster",): Sql("cluster", STRING),
        ("result_name",): Sql("result_uid", STRING),
        ("name",): Sql("record_name", STRING),
        ("data_type",): Sql("data_type", STRING),
        ("create_time",): Sql("create_time", TIMESTAMP),
        ("update_time",): Sql("update_time", TIMESTAMP),
        ("summary", "status"): Sql(f"({STATUS_SQL})", STATUS),
    }
    if path in simple:
        return simple[path]
    if not path or path[0] != "data":
        return None
    rest = path[1:]
    if not rest:
        raise CelError("the whole `data` object cannot be compared; name a field in it")
    if rest in _DATA_COLUMNS:
        return _DATA_COLUMNS[rest]
    if rest[:2] in (("metadata", "labels"), ("metadata", "annotations")):
        if len(rest) > 3:
            raise CelError(f"data.{'.'.join(map(str, rest[:3]))} is a string; it has no fields")
        return _map_value(rest[1], rest[2], params)
    return _json_leaf('"object"', rest, params)


def _resolve_result(path: tuple, params: Params) -> Sql | None:
    """Fields of a result, over the Results API's result rows."""
    simple = {
        ("parent",): Sql("parent", STRING),
        ("cluster",): Sql("cluster", STRING),
        ("uid",): Sql("uid", STRING),
        ("create_time",): Sql("create_time", TIMESTAMP),
        ("update_time",): Sql("update_time", TIMESTAMP),
        ("annotations",): Sql("coalesce(result_annotations, '{}')", JSONMAP),
        ("summary", "status"): Sql("summary_status", STATUS),
        ("summary", "type"): Sql("summary_type", STRING),
        ("summary", "record"): Sql("summary_record", STRING),
        ("summary", "start_time"): Sql("summary_start_time", TIMESTAMP),
        ("summary", "end_time"): Sql("summary_end_time", TIMESTAMP),
        ("summary", "annotations"): Sql("coalesce(summary_annotations, '{}')", JSONMAP),
    }
    if path in simple:
        return simple[path]
    if len(path) == 2 and path[0] == "annotations":
        return Sql(
            f"json_extract_string(result_annotations, {params.add(_pointer(path[1:]))})", STRING
        )
    if len(path) == 3 and path[:2] == ("summary", "annotations"):
        return Sql(
            f"json_extract_string(summary_annotations, {params.add(_pointer(path[2:]))})", STRING
        )
    return None


RECORDS = Scope(
    "records",
    _resolve_record,
    "parent, cluster, result_name, name, data_type, data.*, summary.status, create_time, "
    "update_time",
)
RESULTS = Scope(
    "results",
    _resolve_result,
    "parent, cluster, uid, annotations, summary.status, summary.type, summary.record, "
    "summary.start_time, summary.end_time, summary.annotations, create_time, "
    "update_time",
)

_SQL_CAST = {STRING: "VARCHAR", NUMBER: "DOUBLE", BOOL: "BOOLEAN", TIMESTAMP: "TIMESTAMPTZ"}
_COMPARE = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_UNSUPPORTED_FUNCTIONS_HINT = "supported: startsWith, endsWith, contains, matches, timestamp"


class _Translator:
    def __init__(self, scope: Scope, params: Params) -> None:
        self.scope = scope
        self.params = params

    # A field path (data.metadata.labels["x"]) as a tuple, or None if `node` is not one.
    def path(self, node: Any) -> tuple | None:
        if isinstance(node, Ident):
            return (node.name,)
        if isinstance(node, Select):
            base = self.path(node.operand)
            return None if base is None else base + (node.field,)
        if isinstance(node, Index):
            base = self.path(node.operand)
            if base is None:
                return None
            if (
                not isinstance(node.index, Lit)
                or not isinstance(node.index.value, (str, int))
                or isinstance(node.index.value, bool)
            ):
                raise CelError("an index must be a string or integer literal")
            return base + (node.index.value,)
        return None

    def expr(self, node: Any) -> Sql:
        if isinstance(node, Lit):
            return self.literal(node.value)
        if isinstance(node, Ident) and node.name in TYPE_CONSTANTS:
            return self.literal(TYPE_CONSTANTS[node.name])
        if isinstance(node, Ident) and node.name in STATUS_NAMES:
            return Sql(f"CAST({self.params.add(node.name)} AS VARCHAR)", STATUS, node.name, True)
        if isinstance(node, (Ident, Select, Index)):
            return self.field(node)
        if isinstance(node, ListLit):
            raise CelError("a list is only supported on the right of `in`")
        if isinstance(node, Unary):
            if node.op == "-":
                raise CelError("the operator '-' is not supported")
            operand = self.boolean(node.operand)
            return Sql(f"(NOT {operand.text})", BOOL)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Call):
            return self.call(node)
        raise CelError(f"unsupported expression {type(node).__name__}")

    def literal(self, value: Any) -> Sql:
        if value is None:
            return Sql("NULL", NULL, None, True)
        if isinstance(value, bool):
            return Sql("true" if value else "false", BOOL, value, True)
        if isinstance(value, (int, float)):
            return Sql(f"CAST({self.params.add(float(value))} AS DOUBLE)", NUMBER, value, True)
        return Sql(f"CAST({self.params.add(value)} AS VARCHAR)", STRING, value, True)

    def field(self, node: Any) -> Sql:
        path = self.path(node)
        if path is None:
            raise CelError("selecting a field of a function's result is not supported")
        sql = self.scope.resolve(path, self.params)
        if sql is None:
            shown = ".".join(str(p) for p in path)
            raise CelError(
                f"unknown field `{shown}`; the {self.scope.name} filter knows {self.scope.known}"
            )
        return sql

    def boolean(self, node: Any) -> Sql:
        sql = self.expr(node)
        if sql.type == BOOL:
            return sql
        if sql.type == JSON:
            return Sql(f"TRY_CAST({sql.text} AS BOOLEAN)", BOOL)
        raise CelError(f"expected a boolean, found a {sql.type} ({_show(node)})")

    def binary(self, node: Binary) -> Sql:
        if node.op in ("&&", "||"):
            left, right = self.boolean(node.left), self.boolean(node.right)
            return Sql(f"({left.text} {'AND' if node.op == '&&' else 'OR'} {right.text})", BOOL)
        if node.op in _COMPARE:
            return self.compare(node.op, self.expr(node.left), self.expr(node.right))
        if node.op == "in":
            return self.in_(node)
        raise CelError(f"the operator '{node.op}' is not supported")

    def compare(self, op: str, left: Sql, right: Sql) -> Sql:
        if NULL in (left.type, right.type):
            if op not in ("==", "!="):
                raise CelError(f"null cannot be compared with '{op}'")
            other = right if left.type == NULL else left
            if other.type == NULL:
                return Sql("true" if op == "==" else "false", BOOL)
            return Sql(f"({other.text} IS {'' if op == '==' else 'NOT '}NULL)", BOOL)
        left, right = self.status_operand(left, right), self.status_operand(right, left)
        left, right = self.coerce(left, right), self.coerce(right, left)
        if left.type != right.type:
            hint = (
                '; write timestamp("2024-01-02T03:04:05Z")'
                if TIMESTAMP in (left.type, right.type)
                else ""
            )
            raise CelError(f"cannot compare a {left.type} with a {right.type}{hint}")
        if left.type in (MAP, JSONMAP):
            raise CelError('a whole map cannot be compared; name a key, e.g. labels["app"]')
        if left.type in (STATUS, BOOL) and op not in ("==", "!="):
            raise CelError(f"a {left.type} can only be compared with == or !=")
        return Sql(f"({left.text} {_COMPARE[op]} {right.text})", BOOL)

    def status_operand(self, sql: Sql, other: Sql) -> Sql:
        # summary.status is an enum: its constants are numbers in Results' CEL.
        if other.type == STATUS and sql.is_literal and sql.type == NUMBER:
            value = sql.literal
            if not isinstance(value, int) or not 0 <= value < len(STATUS_NAMES):
                raise CelError(f"{value} is not a summary.status value")
            # Reuse the number's parameter: an unused one is an error in DuckDB.
            placeholder = re.search(r"\$\d+", sql.text).group()
            self.params.values[int(placeholder[1:]) - 1] = STATUS_NAMES[value]
            return Sql(f"CAST({placeholder} AS VARCHAR)", STATUS, STATUS_NAMES[value], True)
        if other.type == STATUS and sql.type not in (STATUS, NULL):
            raise CelError(
                "summary.status compares with UNKNOWN, SUCCESS, FAILURE, TIMEOUT or CANCELLED"
            )
        return sql

    def coerce(self, sql: Sql, other: Sql) -> Sql:
        """A JSON leaf takes the type of what it is compared with."""
        if sql.type == JSON and other.type in _SQL_CAST:
            if other.type == STRING:
                return Sql(sql.text, STRING)
            return Sql(f"TRY_CAST({sql.text} AS {_SQL_CAST[other.type]})", other.type)
        if sql.type == JSON and other.type == JSON:
            return Sql(sql.text, STRING)
        return sql

    def in_(self, node: Binary) -> Sql:
        left = self.expr(node.left)
        if isinstance(node.right, ListLit):
            if not node.right.items:
                return Sql("false", BOOL)
            items = [self.expr(item) for item in node.right.items]
            texts = []
            for item in items:
                compared = self.compare("==", left, item)  # type checks each element
                texts.append(compared.text)
            return Sql("(" + " OR ".join(texts) + ")", BOOL)
        right = self.expr(node.right)
        if left.type not in (STRING, JSON):
            raise CelError(f"`in` over a map takes a string key, not a {left.type}")
        if right.type == MAP:
            return Sql(f"map_contains({right.text}, {left.text})", BOOL)
        if right.type == JSONMAP:
            return Sql(
                f"(json_extract({right.text}, '$.' || to_json({left.text})::VARCHAR) IS NOT NULL)",
                BOOL,
            )
        raise CelError(f"`in` needs a list or a map on its right, not a {right.type}")

    def call(self, node: Call) -> Sql:
        name, args = node.name, node.args
        if node.target is None and name == "timestamp":
            return self.timestamp(args)
        if node.target is None and name == "matches" and len(args) == 2:
            node = Call(args[0], name, args[1:])
        if node.target is None or name not in ("startsWith", "endsWith", "contains", "matches"):
            raise CelError(f"the function {name}() is not supported; {_UNSUPPORTED_FUNCTIONS_HINT}")
        if len(node.args) != 1:
            raise CelError(f"{name}() takes one argument")
        target, arg = self.expr(node.target), self.expr(node.args[0])
        if arg.type == JSON:
            arg = Sql(arg.text, STRING)
        if arg.type != STRING:
            raise CelError(f"{name}() takes a string, not a {arg.type}")
        if target.type in (MAP, JSONMAP) and name == "contains":
            # As Results: the map's JSON text contains the string (a key or a value).
            text = target.text if target.type == JSONMAP else f"to_json({target.text})::VARCHAR"
            return Sql(f"contains({text}, {arg.text})", BOOL)
        if target.type not in (STRING, JSON):
            raise CelError(f"{name}() applies to a string, not a {target.type}")
        function = {
            "startsWith": "starts_with",
            "endsWith": "suffix",
            "contains": "contains",
            "matches": "regexp_matches",
        }[name]
        return Sql(f"{function}({target.text}, {arg.text})", BOOL)

    def timestamp(self, args: tuple) -> Sql:
        if len(args) != 1 or not isinstance(args[0], Lit) or not isinstance(args[0].value, str):
            raise CelError(
                'timestamp() takes one RFC 3339 string, e.g. timestamp("2024-01-02T03:04:05Z")'
            )
        text = args[0].value
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None or "T" not in text.upper():
            raise CelError(f"timestamp({text!r}) is not an RFC 3339 time with a zone")
        value = moment.astimezone(UTC)
        return Sql(f"CAST({self.params.add(value)} AS TIMESTAMPTZ)", TIMESTAMP, value, True)


def _show(node: Any) -> str:
    if isinstance(node, Ident):
        return node.name
    if isinstance(node, Select):
        return f"{_show(node.operand)}.{node.field}"
    if isinstance(node, Index):
        return (
            f"{_show(node.operand)}[{node.index.value!r}]"
            if isinstance(node.index, Lit)
            else f"{_show(node.operand)}[...]"
        )
    if isinstance(node, Lit):
        return repr(node.value)
    return type(node).__name__.lower()


def translate(text: str | None, scope: Scope, params: Params) -> str:
    """A WHERE condition for a CEL filter over `scope`'s rows; literals are added to
    `params`. An empty filter is `true`. Raises CelError naming what is not supported."""
    if text is None or not text.strip():
        return "true"
    return _Translator(scope, params).boolean(parse(text)).text

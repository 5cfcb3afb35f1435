"""CEL's syntax, as Tekton Results' filters use it: a lexer and a recursive-descent parser
into a small tree whose nodes carry their offset in the text (for error messages that point
where cel-go's do). No semantics here: query.cel checks and translates the tree.

Pure logic: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_FILTER_CHARS = 8192
MAX_DEPTH = 64


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
            value, end = _lex_string(text, i + len(flags), raw="r" in flags)
            tokens.append(Token("string", value, i))
            i = end
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
class Node:
    pos: int  # offset of the node in the filter (of the operator, for operators)


@dataclass(frozen=True)
class Lit(Node):
    value: Any  # str, int, float, bool, None


@dataclass(frozen=True)
class Ident(Node):
    name: str


@dataclass(frozen=True)
class Select(Node):
    operand: Node
    field: str


@dataclass(frozen=True)
class Index(Node):
    operand: Node
    index: Node


@dataclass(frozen=True)
class Call(Node):
    target: Node | None  # None for a global function
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...]


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

    def parse(self) -> Node:
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
            pos = self.take().pos
            then = self.binary(0)
            self.expect(":")
            node = Call(pos, None, "_?_:_", (node, then, self.expr()))
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
            node = Binary(token.pos, token.value, node, self.binary(level + 1))

    def unary(self) -> Any:
        if self.peek("!") or self.peek("-"):
            token = self.take()
            op = token.value
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise CelError(f"the filter nests deeper than {MAX_DEPTH} levels")
            operand = self.unary()
            self.depth -= 1
            if op == "-" and isinstance(operand, Lit) and type(operand.value) in (int, float):
                return Lit(token.pos, -operand.value)
            return Unary(token.pos, op, operand)
        return self.member()

    def member(self) -> Any:
        node = self.primary()
        while True:
            if self.peek("."):
                dot = self.take().pos
                token = self.take()
                if token.kind != "ident":
                    raise CelError(f"expected a field name at {token.pos}")
                if self.peek("("):
                    node = Call(self.tokens[self.i].pos, node, token.value, self.args())
                else:
                    node = Select(dot, node, token.value)
            elif self.peek("["):
                pos = self.take().pos
                index = self.expr()
                self.expect("]")
                node = Index(pos, node, index)
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
            return Lit(token.pos, token.value)
        if token.kind == "ident":
            if token.value in ("true", "false"):
                return Lit(token.pos, token.value == "true")
            if token.value == "null":
                return Lit(token.pos, None)
            if self.peek("("):
                return Call(self.tokens[self.i].pos, None, token.value, self.args())
            return Ident(token.pos, token.value)
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
            return ListLit(token.pos, tuple(items))
        if token.kind == "op" and token.value == "{":
            raise CelError("map and message literals {...} are not supported")
        if token.kind == "op" and token.value == ".":
            raise CelError("leading-dot identifiers are not supported")
        raise CelError(f"unexpected {_describe(token)} at {token.pos}")


def _describe(token: Token) -> str:
    return "the end of the filter" if token.kind == "end" else repr(token.value)


def parse(text: str) -> Node:
    """The syntax tree of a CEL expression. Raises CelError."""
    if len(text) > MAX_FILTER_CHARS:
        raise CelError(f"the filter is longer than {MAX_FILTER_CHARS} characters")
    return _Parser(text).parse()

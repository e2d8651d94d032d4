"""The small part of jq that the generated workflows pass to `gh --jq`, evaluated as gh's gojq does.

Supported: `.`, paths (`.a.b`, `.[0]`, `.[]`, `.["key"]`), `a // b`, `a | b`, `empty`, `length`,
string / number / null / true / false literals. Anything else raises JqError, so a workflow that
starts using more of jq makes the tests fail loudly instead of silently answering nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

TOKEN = re.compile(
    r'\s*(\.\[\]|\.\[|\.[A-Za-z_][A-Za-z0-9_]*|\.|\[\]|\[|\]|//|\||"(?:[^"\\]|\\.)*"|-?\d+|[a-z]+)'
)


class JqError(Exception):
    pass


def evaluate(expression: str, data) -> list:
    """All outputs of `expression` on `data`, in order."""
    return list(_pipe(_split(expression, "|"), data))


def format_outputs(outputs: list) -> str:
    """As gh prints them: strings raw, everything else as compact JSON, one per line."""
    return "".join(
        (o if isinstance(o, str) else json.dumps(o, separators=(",", ":"))) + "\n" for o in outputs
    )


def _split(expression: str, operator: str) -> list[str]:
    """Split on `operator` outside strings and brackets."""
    parts, depth, current, i = [], 0, "", 0
    while i < len(expression):
        char = expression[i]
        if char == '"':
            end = re.match(r'"(?:[^"\\]|\\.)*"', expression[i:])
            if not end:
                raise JqError(f"unterminated string in {expression!r}")
            current += end.group(0)
            i += len(end.group(0))
            continue
        depth += {"[": 1, "(": 1, "]": -1, ")": -1}.get(char, 0)
        if depth == 0 and expression.startswith(operator, i):
            parts.append(current)
            current, i = "", i + len(operator)
            continue
        current += char
        i += 1
    return [*parts, current]


def _pipe(stages: list[str], data) -> Iterator:
    if len(stages) == 1:
        yield from _alternative(stages[0], data)
        return
    for value in _alternative(stages[0], data):
        yield from _pipe(stages[1:], value)


def _alternative(expression: str, data) -> Iterator:
    """`a // b`: the outputs of a that are neither null nor false (errors count as none), else b."""
    choices = _split(expression, "//")
    for choice in choices[:-1]:
        try:
            found = [v for v in _term(choice.strip(), data) if v is not None and v is not False]
        except JqError:
            found = []
        if found:
            yield from found
            return
    yield from _term(choices[-1].strip(), data)


def _term(expression: str, data) -> Iterator:
    if not expression:
        raise JqError("empty expression")
    if expression == "empty":
        return
    if expression == "length":
        yield _length(data)
        return
    if expression in ("null", "true", "false") or expression[0] in '"-0123456789':
        yield json.loads(expression)
        return
    if expression.startswith("."):
        yield from _path(_tokens(expression), [data])
        return
    raise JqError(f"this fake jq does not support {expression!r}")


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    while position < len(expression):
        match = TOKEN.match(expression, position)
        if not match:
            raise JqError(f"this fake jq does not support {expression[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _path(tokens: list[str], values: list) -> Iterator:
    """Apply `.a`, `[0]`, `["a"]` and `[]` steps left to right to every current value."""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == ".":
            i += 1
        elif token in (".[]", "[]"):
            values = [item for v in values for item in _iterate(v)]
            i += 1
        elif token in (".[", "["):
            key = json.loads(tokens[i + 1])
            if tokens[i + 2] != "]":
                raise JqError("expected ]")
            values = [_index(v, key) for v in values]
            i += 3
        elif token.startswith("."):
            values = [_index(v, token[1:]) for v in values]
            i += 1
        else:
            raise JqError(f"this fake jq does not support {token!r}")
    yield from values


def _index(value, key):
    if value is None:
        return None
    if isinstance(key, str) and isinstance(value, dict):
        return value.get(key)
    if isinstance(key, int) and isinstance(value, list):
        return value[key] if -len(value) <= key < len(value) else None
    wanted = "an object" if isinstance(key, str) else "an array"
    raise JqError(f"expected {wanted} but got: {_type(value)} ({json.dumps(value)[:40]})")


def _iterate(value) -> list:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    raise JqError(f"cannot iterate over: {_type(value)}")


def _length(value) -> int:
    if value is None:
        return 0
    if isinstance(value, (list, dict, str)):
        return len(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return abs(value)
    raise JqError(f"length cannot be applied to: {_type(value)}")


def _type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "number")

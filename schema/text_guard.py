"""Every string a GraphQL field receives is storable text of a sane size, checked once, before its resolver runs.

Postgres text cannot hold NUL, UTF-8 cannot encode a lone surrogate (JSON's "\\ud800" decodes to one), and nothing a
person types runs to MAX_TEXT_LENGTH characters: such a value is refused with INVALID_TEXT or TEXT_TOO_LONG and
`extensions.field` naming where it is ("input.name", "config.metrics[0].label"), instead of reaching a driver that
answers with its own words. KaoheSchema gives every field that takes arguments a TextGuard; it walks the converted
arguments (input objects, lists, JSON values and their keys) with an explicit stack, so no depth can exhaust it.
It runs after the field's permission (the innermost extension): callers without access learn nothing.

Field-specific lengths (a name's 128) stay the domain's, with the domain's codes. Batch arguments whose items the
domain checks one by one are not guarded here (KaoheSchema's item_checked_arguments): one bad item must cost only
itself, not the whole batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import FieldExtension
from strawberry.schema.name_converter import NameConverter
from strawberry.types import Info
from strawberry.types.base import get_object_definition
from strawberry.types.maybe import Some
from strawberry.utils.await_maybe import await_maybe

from schema.request_errors import CodedError, RequestErrorCode
from tenants.i18n import _
from tenants.text import is_storable_text

MAX_TEXT_LENGTH = 10_000

# A path as a chain of (parent, segment) pairs: built for every value walked, rendered only for the one refused.
Path = tuple[Any, str | int] | None


def render_path(path: Path) -> str:
    segments: list[str | int] = []
    while path is not None:
        path, segment = path
        segments.append(segment)
    text = ""
    for segment in reversed(segments):
        text += f"[{segment}]" if isinstance(segment, int) else (f".{segment}" if text else segment)
    return text


def text_problem(text: str) -> RequestErrorCode | None:
    if len(text) > MAX_TEXT_LENGTH:
        return RequestErrorCode.TEXT_TOO_LONG
    if not is_storable_text(text):
        return RequestErrorCode.INVALID_TEXT
    return None


class InputNames:
    """GraphQL names of input types' fields (python name -> GraphQL name), per class, for the schema's converter."""

    def __init__(self, name_converter: NameConverter) -> None:
        self._name_converter = name_converter
        self._names: dict[type, tuple[tuple[str, str], ...]] = {}

    def of(self, cls: type) -> tuple[tuple[str, str], ...] | None:
        names = self._names.get(cls)
        if names is None:
            definition = get_object_definition(cls)
            if definition is None or not definition.is_input:
                return None
            names = tuple(
                (field.python_name, self._name_converter.get_graphql_name(field)) for field in definition.fields
            )
            self._names[cls] = names
        return names


def _refusal(code: RequestErrorCode, path: Path, in_key: bool) -> GraphQLError:
    field = render_path(path)
    if code is RequestErrorCode.TEXT_TOO_LONG:
        if in_key:
            text = _(
                "A key in {field} is longer than {max_length} characters.", field=field, max_length=MAX_TEXT_LENGTH
            )
        else:
            text = _("{field} is longer than {max_length} characters.", field=field, max_length=MAX_TEXT_LENGTH)
    elif in_key:
        text = _(
            "A key in {field} holds a NUL character or an unpaired surrogate, which cannot be stored as text.",
            field=field,
        )
    else:
        text = _("{field} holds a NUL character or an unpaired surrogate, which cannot be stored as text.", field=field)
    return CodedError(code, text, extensions={"field": field})


def find_unstorable_text(arguments: Sequence[tuple[str, Any]], input_names: InputNames) -> GraphQLError | None:
    """The first string (in argument order) that cannot be stored, as a coded error; None when all can."""
    stack: list[tuple[Any, Path]] = [(value, (None, name)) for name, value in reversed(arguments)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if isinstance(value, Enum):
                continue  # a member of the schema's enum: text the schema itself defines
            code = text_problem(value)
            if code is not None:
                return _refusal(code, path, in_key=False)
        elif isinstance(value, dict):
            children: list[tuple[Any, Path]] = []
            for key, item in value.items():
                key_text = str(key)
                code = text_problem(key_text)
                if code is not None:
                    return _refusal(code, path, in_key=True)
                children.append((item, (path, key_text)))
            stack.extend(reversed(children))
        elif isinstance(value, list | tuple):
            stack.extend((value[index], (path, index)) for index in range(len(value) - 1, -1, -1))
        elif isinstance(value, Some):
            stack.append((value.value, path))
        elif value is not None and not isinstance(value, int | float | Enum):
            names = input_names.of(type(value))
            if names is not None:
                stack.extend(
                    (getattr(value, python_name, None), (path, graphql_name))
                    for python_name, graphql_name in reversed(names)
                )
    return None


class TextGuard(FieldExtension):
    """Refuses the field (before its resolver) when an argument holds unstorable or over-long text."""

    def __init__(self, arguments: Sequence[tuple[str, str]], input_names: InputNames) -> None:
        self.arguments = tuple(arguments)  # (python name, GraphQL name) of the guarded arguments
        self.input_names = input_names

    def _check(self, kwargs: dict[str, Any]) -> None:
        present = [(graphql, kwargs[python]) for python, graphql in self.arguments if python in kwargs]
        error = find_unstorable_text(present, self.input_names)
        if error is not None:
            raise error

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        self._check(kwargs)
        return next_(source, info, **kwargs)

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any) -> Any:
        self._check(kwargs)
        return await await_maybe(next_(source, info, **kwargs))

"""The one place where domain errors become GraphQL errors.

Every domain error is a `tenants.errors.DomainError` made of `Problem`s (a code from the domain's enum, an i18n
`Message`, a field, an index). Here they become typed errors whose `code` is that enum in the SDL, and whose
`message` is rendered in the reader's language: the tenant's locale when the caller belongs to a tenant (carried by
the principal, read with its membership: no query here), else the request's Accept-Language, else Simplified Chinese
(tenants/tenancy/locale.py). Errors of the request as a whole use the same locale (schema/request_errors.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

from schema.context import Info
from tenants.errors import DomainError, Problem
from tenants.i18n import Locale, Message


async def locale_of(info: Info) -> Locale:
    """Async for its callers' sake; the locale itself is known without I/O (`info.context.locale`)."""
    return info.context.locale


async def render(info: Info, message: Message) -> str:
    return message.render(info.context.locale)


@strawberry.interface(
    name="Problem", description="A problem the caller can act on: a stable code and a message in your language."
)
class ProblemInterface:
    field: str | None = strawberry.field(description="The input it is about: an argument path or a JSON path.")
    _message: strawberry.Private[Message]

    @strawberry.field(description="For people, in the tenant's language (zh-CN by default); branch on code.")
    def message(self, info: Info) -> str:
        # Sync: a batch answers up to thousands of problems, and an async resolver per message costs a coroutine each.
        return self._message.render(info.context.locale)


def problem_fields(problem: Problem[Any]) -> dict[str, Any]:
    """The keyword arguments every typed error takes from a Problem (its own type adds `code` and `index`)."""
    return {"field": problem.field, "_message": problem.message}


ErrorT = TypeVar("ErrorT", bound=ProblemInterface)


def coded_problems(error_type: Callable[..., ErrorT], error: DomainError[Any]) -> list[ErrorT]:
    """A domain error's problems as the domain's GraphQL error type, for types made of the code and the Problem's
    own fields only (types with more, such as an index or a rule check's code, have their own `of`)."""
    return [error_type(code=problem.code, **problem_fields(problem)) for problem in error.problems]

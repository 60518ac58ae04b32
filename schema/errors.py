"""The one place where domain errors become GraphQL errors.

Every domain error is a `tenants.errors.DomainError` made of `Problem`s (a code from the domain's enum, an i18n
`Message`, a field, an index). Here they become typed errors whose `code` is that enum in the SDL, and whose
`message` is rendered in the reader's language: the tenant's locale when the caller belongs to a tenant, else the
request's Accept-Language, else Simplified Chinese. The locale is looked up once per request.
"""

from __future__ import annotations

from typing import Any

import strawberry

from schema.context import Info
from tenants.errors import Problem
from tenants.i18n import Locale, Message, parse_locale
from tenants.tenancy.locale import tenant_locale

_LOCALE = "errors.locale"


async def locale_of(info: Info) -> Locale:
    context = info.context
    cached = context.loaders.get(_LOCALE)
    if cached is None:
        principal = context.principal
        if principal is not None and principal.tenant_id is not None:
            cached = await tenant_locale(principal.tenant_id)
        else:
            cached = parse_locale(context.request.headers.get("accept-language"))
        context.loaders[_LOCALE] = cached
    locale: Locale = cached
    return locale


async def render(info: Info, message: Message) -> str:
    return message.render(await locale_of(info))


@strawberry.interface(
    name="Problem", description="A problem the caller can act on: a stable code and a message in your language."
)
class ProblemInterface:
    field: str | None = strawberry.field(description="The input it is about: an argument path or a JSON path.")
    _message: strawberry.Private[Message]

    @strawberry.field(description="For people, in the tenant's language (zh-CN by default); branch on code.")
    async def message(self, info: Info) -> str:
        return await render(info, self._message)


def problem_fields(problem: Problem[Any]) -> dict[str, Any]:
    """The keyword arguments every typed error takes from a Problem (its own type adds `code` and `index`)."""
    return {"field": problem.field, "_message": problem.message}

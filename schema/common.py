"""GraphQL pieces shared by the domain modules: pages, ids, the actor (errors: schema/errors.py)."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from tenants.audit.service import Actor

__all__ = ["JSON", "PageArgs", "actor_of", "page_args", "parse_id"]

DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class PageArgs:
    limit: int
    offset: int


def page_args(info: Info, limit: int | None, offset: int | None) -> PageArgs:
    """Clamp paging: at most settings.page_size_max items, never a negative offset."""
    maximum = info.context.settings.page_size_max
    return PageArgs(limit=max(1, min(limit or DEFAULT_PAGE_SIZE, maximum)), offset=max(0, offset or 0))


def parse_id(raw: strawberry.ID | str) -> int | None:
    """Ids that are not integers cannot exist: callers answer NOT_FOUND, as for another tenant's id."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**63 else None


def actor_of(info: Info) -> Actor:
    context = info.context
    if context.user is not None:
        return Actor(user_id=context.user.user_id)
    if context.api_key is not None:
        return Actor(api_key_id=context.api_key.api_key_id)
    return Actor()

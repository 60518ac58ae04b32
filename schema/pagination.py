"""One generic page type for every listing: `Page[Team]` is `TeamPage` in the SDL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from schema.context import Info
from tenants.db.paging import Page as DomainPage
from tenants.db.paging import PageRequest

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, page: DomainPage[R], convert: Callable[[R], T]) -> Page[T]:
        return cls(items=[convert(item) for item in page.items], total=page.total, limit=page.limit, offset=page.offset)


def page_request(info: Info, limit: int | None, offset: int | None) -> PageRequest:
    """The caller's paging, clamped to the deployment's maximum page size."""
    return PageRequest.clamped(limit, offset, info.context.settings.page_size_max)

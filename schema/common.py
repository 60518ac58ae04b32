"""GraphQL pieces shared by the domain packages: the JSON scalar, ids, the actor (errors: schema/errors.py; paging:
schema/pagination.py)."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from tenants.audit.service import Actor

__all__ = ["JSON", "actor_of", "parse_id"]


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

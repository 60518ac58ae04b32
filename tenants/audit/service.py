"""Writing the audit log.

`record(conn, tenant_id, ...)` writes on the connection of the unit of work that makes the change, so the change and
its audit row commit together or neither does (the caller opens the unit of work; this never opens one). Values are
stored as JSON exactly as they were: Decimals as strings (never a float approximation), dates and datetimes in ISO
8601.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.audit import repository
from tenants.tenancy.identity import TenantId


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, an API key, or the system (both None: cron, CLI)."""

    user_id: int | None = None
    api_key_id: int | None = None


SYSTEM = Actor()


def _jsonable(value: Any) -> Any:
    # Decimals as strings: the log must show exactly what was stored, never a float approximation.
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


async def record(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None,
    before: Any = None,
    after: Any = None,
) -> None:
    """One audit row, written on `conn`: the caller's unit of work."""
    await repository.insert_entry(
        conn,
        tenant_id,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=_jsonable(before),
        after=_jsonable(after),
    )

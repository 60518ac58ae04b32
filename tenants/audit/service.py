"""Writing the audit log. Call inside the tenant unit of work that makes the change, so both commit or neither."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tenants.audit.models import AuditEntry
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
    tenant_id: TenantId,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None,
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    return await AuditEntry.create(
        tenant_id=tenant_id,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=_jsonable(before),
        after=_jsonable(after),
    )

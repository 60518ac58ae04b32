"""The audit log's statements. They run on the connection of the caller's unit of work: an audited change and its
audit row commit together or not at all."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.audit.models import AuditEntry
from tenants.tenancy.identity import TenantId


async def insert_entry(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    *,
    actor_user_id: int | None,
    actor_api_key_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    before: Any,
    after: Any,
) -> None:
    """One row; `before` and `after` are JSON values already (the service makes them so)."""
    await AuditEntry.create(
        using_db=conn,
        tenant_id=tenant_id,
        actor_user_id=actor_user_id,
        actor_api_key_id=actor_api_key_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
    )

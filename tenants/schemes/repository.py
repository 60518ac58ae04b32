"""The schemes domain's statements: schemes and their versions.

Every function runs on the connection of the caller's unit of work (it never opens one) and filters by tenant as well
as relying on RLS, so another tenant's id reads as absent. Versions are ordered by number wherever a list is returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.schemes.models import Scheme, SchemeVersion
from tenants.tenancy.identity import TenantId

# --- schemes --------------------------------------------------------------------------------------------------------


async def list_schemes(conn: BaseDBAsyncClient, tenant_id: TenantId, active: bool | None) -> list[Scheme]:
    query = Scheme.filter(tenant_id=tenant_id)
    if active is not None:
        query = query.filter(active=active)
    return await query.using_db(conn).order_by("name", "id")


async def get_scheme(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int) -> Scheme | None:
    return await Scheme.filter(tenant_id=tenant_id, id=scheme_id).using_db(conn).get_or_none()


async def lock_scheme(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int) -> Scheme | None:
    """The scheme, row-locked until the unit of work ends: serialises every change of its versions."""
    return await Scheme.filter(tenant_id=tenant_id, id=scheme_id).using_db(conn).select_for_update().first()


async def insert_scheme(conn: BaseDBAsyncClient, tenant_id: TenantId, name: str, description: str) -> Scheme:
    return await Scheme.create(using_db=conn, tenant_id=tenant_id, name=name, description=description)


# --- versions -------------------------------------------------------------------------------------------------------


async def versions_of_schemes(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_ids: Sequence[int]
) -> list[SchemeVersion]:
    """The versions of many schemes in one statement, by scheme then number."""
    return (
        await SchemeVersion.filter(tenant_id=tenant_id, scheme_id__in=list(set(scheme_ids)))
        .using_db(conn)
        .order_by("scheme_id", "number")
    )


async def versions_with_status(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, status: str
) -> list[SchemeVersion]:
    return await SchemeVersion.filter(tenant_id=tenant_id, scheme_id=scheme_id, status=status).using_db(conn).all()


async def get_version(conn: BaseDBAsyncClient, tenant_id: TenantId, version_id: int) -> SchemeVersion | None:
    return await SchemeVersion.filter(tenant_id=tenant_id, id=version_id).using_db(conn).get_or_none()


async def latest_version(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, status: str | None = None
) -> SchemeVersion | None:
    """The scheme's highest-numbered version (with that status, when given)."""
    query = SchemeVersion.filter(tenant_id=tenant_id, scheme_id=scheme_id)
    if status is not None:
        query = query.filter(status=status)
    return await query.using_db(conn).order_by("-number").first()


async def insert_version(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    *,
    scheme_id: int,
    number: int,
    config: dict[str, Any],
    status: str,
    created_by_user_id: int | None,
) -> SchemeVersion:
    return await SchemeVersion.create(
        using_db=conn,
        tenant_id=tenant_id,
        scheme_id=scheme_id,
        number=number,
        config=config,
        status=status,
        created_by_user_id=created_by_user_id,
    )


async def update_config(conn: BaseDBAsyncClient, version: SchemeVersion, config: dict[str, Any]) -> None:
    version.config = config
    await version.save(using_db=conn, update_fields=["config", "updated_at"])


async def mark_published(
    conn: BaseDBAsyncClient,
    version: SchemeVersion,
    *,
    status: str,
    effective_from: date,
    published_by_user_id: int | None,
    published_at: datetime,
) -> None:
    version.status = status
    version.effective_from = effective_from
    version.published_by_user_id = published_by_user_id
    version.published_at = published_at
    await version.save(
        using_db=conn, update_fields=["status", "effective_from", "published_by_user_id", "published_at", "updated_at"]
    )

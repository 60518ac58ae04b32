"""Helpers of the grading, follow-up and WeCom tests: orders, logins of other roles, grades as stored."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tenants.access.service import link_staff_user, set_member_teams
from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.events.service import ingest
from tenants.tenancy import service as tenancy
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tests.conftest import PASSWORD


def order(external_id: str, customer: str, amount: str, at: str, staff: str = "g1", **extra: Any) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "type": "order",
        "occurredAt": at,
        "staff": staff,
        "customer": customer,
        "amount": amount,
        **extra,
    }


def refund(external_id: str, order_id: str, customer: str, amount: str, at: str, staff: str = "g1") -> dict[str, Any]:
    return {
        "externalId": external_id,
        "type": "refund",
        "occurredAt": at,
        "staff": staff,
        "customer": customer,
        "amount": amount,
        "attributes": {"order": order_id},
    }


async def send(tenant_id: TenantId, events: Sequence[dict[str, Any]]) -> None:
    result = await ingest(tenant_id, enumerate(events))
    assert result.accepted == len(events), [(p.code, str(p.message)) for p in result.rejected]


async def member(tenant_id: TenantId, role: Role, *, staff_code: str | None = None, teams: Sequence[str] = ()) -> str:
    """A new login of `role` in the tenant (linked to `staff_code`, managing `teams`); its email."""
    email = f"{role.value}-{uuid.uuid4().hex[:10]}@example.com"
    user = await tenancy.create_user(email, PASSWORD)
    await tenancy.add_membership(tenant_id, user.id, role)
    if staff_code is not None:
        await link_staff_user(tenant_id, SYSTEM, staff_code, user.id)
    if teams:
        await set_member_teams(tenant_id, SYSTEM, user.id, list(teams))
    return email


async def stored_grades(tenant_id: TenantId, month: str) -> dict[str, tuple[str, Decimal, str | None]]:
    """customer code -> (grade, contribution, previous grade) as stored for the month."""
    async with tenant_unit_of_work(tenant_id) as conn:
        rows = await conn.execute_query_dict(
            "SELECT cu.code, g.grade, g.contribution, g.previous_grade FROM customer_grade g "
            "JOIN customer cu ON cu.tenant_id = g.tenant_id AND cu.id = g.customer_id "
            "WHERE g.tenant_id = $1 AND g.month = $2",
            [tenant_id, month],
        )
    return {row["code"]: (row["grade"], row["contribution"], row["previous_grade"]) for row in rows}


async def alerts_of(tenant_id: TenantId) -> list[dict[str, Any]]:
    async with tenant_unit_of_work(tenant_id) as conn:
        return await conn.execute_query_dict(
            "SELECT cu.code AS customer, a.month, a.kind, a.action, a.previous_grade, a.grade, s.code AS assignee, "
            "t.code AS team, a.state, a.note FROM customer_alert a "
            "JOIN customer cu ON cu.tenant_id = a.tenant_id AND cu.id = a.customer_id "
            "LEFT JOIN staff s ON s.tenant_id = a.tenant_id AND s.id = a.assignee_staff_id "
            "LEFT JOIN team t ON t.tenant_id = a.tenant_id AND t.id = a.team_id "
            "WHERE a.tenant_id = $1 ORDER BY cu.code",
            [tenant_id],
        )

"""Master data tests. Helpers shared by the test modules of this package live here: GraphQL documents, a call that
fails loudly on GraphQL errors, and direct reads of what the database holds (to prove what changed and what did not).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tenants.audit.models import AuditEntry
from tenants.db.uow import tenant_unit_of_work
from tenants.staff.models import Customer, Staff, Team
from tenants.tenancy.identity import TenantId
from tests.conftest import GraphQL

RESULT = "{ created updated codes errors { index code field message } }"
UPSERT_TEAMS = "mutation($items: [TeamInput!]!) { upsertTeams(teams: $items) " + RESULT + " }"
UPSERT_STAFF = "mutation($items: [StaffInput!]!) { upsertStaff(staff: $items) " + RESULT + " }"
UPSERT_CUSTOMERS = "mutation($items: [CustomerInput!]!) { upsertCustomers(customers: $items) " + RESULT + " }"
UPSERTS = {"teams": ("upsertTeams", UPSERT_TEAMS), "staff": ("upsertStaff", UPSERT_STAFF)}
UPSERTS["customers"] = ("upsertCustomers", UPSERT_CUSTOMERS)

TEAMS = """
query($parent: String, $search: String, $limit: Int, $offset: Int) {
  teams(parent: $parent, search: $search, limit: $limit, offset: $offset) {
    total limit offset items { id code name kind parentCode }
  }
}
"""
STAFF = """
query($team: String, $role: String, $active: Boolean, $search: String, $limit: Int, $offset: Int) {
  staff(team: $team, role: $role, active: $active, search: $search, limit: $limit, offset: $offset) {
    total limit offset items { id code name role teamCode active hiredOn leftOn }
  }
}
"""
CUSTOMERS = """
query($guide: String, $search: String, $limit: Int, $offset: Int) {
  customers(guide: $guide, search: $search, limit: $limit, offset: $offset) {
    total limit offset items { id code name guideCode boundSince }
  }
}
"""


async def upsert(gql: GraphQL, what: str, items: Sequence[object], token: str) -> dict[str, Any]:
    """Runs upsertTeams / upsertStaff / upsertCustomers and returns its result; a GraphQL error fails the test."""
    field, document = UPSERTS[what]
    body = await gql(document, {"items": list(items)}, token)
    assert not body.get("errors"), body
    result: dict[str, Any] = body["data"][field]
    return result


async def query(gql: GraphQL, document: str, token: str, **variables: Any) -> dict[str, Any]:
    body = await gql(document, variables, token)
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    page: dict[str, Any] = next(iter(data.values()))
    return page


def codes(page: dict[str, Any]) -> list[str]:
    return [item["code"] for item in page["items"]]


def errors_of(result: dict[str, Any]) -> list[tuple[int, str, str | None]]:
    return [(e["index"], e["code"], e["field"]) for e in result["errors"]]


def error_code(body: dict[str, Any]) -> str:
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    code: str = errors[0]["extensions"]["code"]
    return code


async def snapshot(tenant_id: TenantId) -> dict[str, list[dict[str, Any]]]:
    """Every master data row of a tenant, with updated_at, so "nothing changed" is a plain equality."""
    async with tenant_unit_of_work(tenant_id):
        return {
            "teams": await Team.filter(tenant_id=tenant_id)
            .order_by("code")
            .values("id", "code", "name", "kind", "parent_id", "updated_at"),
            "staff": await Staff.filter(tenant_id=tenant_id)
            .order_by("code")
            .values("id", "code", "name", "role", "team_id", "active", "hired_on", "left_on", "updated_at"),
            "customers": await Customer.filter(tenant_id=tenant_id)
            .order_by("code")
            .values("id", "code", "name", "guide_staff_id", "bound_since", "updated_at"),
        }


async def audit_entries(tenant_id: TenantId, entity: str) -> list[AuditEntry]:
    async with tenant_unit_of_work(tenant_id):
        return await AuditEntry.filter(tenant_id=tenant_id, entity=entity).order_by("id")

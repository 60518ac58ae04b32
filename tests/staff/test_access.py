"""Who may read and write master data, and tenants never see or touch each other's rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tenants.tenancy import service
from tenants.tenancy.auth import Role, Scope
from tests.conftest import GraphQL, TenantFactory
from tests.staff import (
    CUSTOMERS,
    STAFF,
    TEAMS,
    UPSERT_CUSTOMERS,
    UPSERT_STAFF,
    UPSERT_TEAMS,
    audit_entries,
    codes,
    error_code,
    errors_of,
    query,
    snapshot,
    upsert,
)

Login = Callable[..., Awaitable[str]]

ONE_TEAM = [{"code": "t1", "name": "T1"}]
ONE_STAFF = [{"code": "s1", "name": "S1", "role": "guide"}]
ONE_CUSTOMER = [{"code": "c1", "name": "C1"}]


async def test_managers_read_but_cannot_write(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    admin = await login(tenant.admin_email)
    await upsert(gql, "teams", ONE_TEAM, admin)
    before = await snapshot(tenant.tenant_id)
    manager = await make_tenant(role=Role.MANAGER)
    await service.add_membership(tenant.tenant_id, manager.admin_user_id, Role.MANAGER)
    token = await login(manager.admin_email, tenant=tenant.slug)

    for document, items in (
        (UPSERT_TEAMS, [{"code": "t1", "name": "Renamed"}]),
        (UPSERT_STAFF, ONE_STAFF),
        (UPSERT_CUSTOMERS, ONE_CUSTOMER),
    ):
        body = await gql(document, {"items": items}, token)
        assert error_code(body) == "FORBIDDEN"
        assert body["data"] is None
    assert await snapshot(tenant.tenant_id) == before
    assert codes(await query(gql, TEAMS, token)) == ["t1"]
    assert (await query(gql, STAFF, token))["total"] == 0

    # Below manager, not even reading.
    staff_user = await make_tenant(role=Role.STAFF)
    await service.add_membership(tenant.tenant_id, staff_user.admin_user_id, Role.STAFF)
    staff_token = await login(staff_user.admin_email, tenant=tenant.slug)
    for document in (TEAMS, STAFF, CUSTOMERS):
        assert error_code(await gql(document, {}, staff_token)) == "FORBIDDEN"


async def test_api_keys_need_their_scopes(make_tenant: TenantFactory, gql: GraphQL) -> None:
    tenant = await make_tenant()
    reader = (await service.create_api_key(tenant.tenant_id, "r", [Scope.STAFF_READ], None)).plaintext
    events = (await service.create_api_key(tenant.tenant_id, "e", [Scope.EVENTS_WRITE], None)).plaintext
    writer_key = await service.create_api_key(tenant.tenant_id, "w", [Scope.STAFF_WRITE], None)
    writer = writer_key.plaintext

    for token in (reader, events):
        for document, items in ((UPSERT_TEAMS, ONE_TEAM), (UPSERT_STAFF, ONE_STAFF), (UPSERT_CUSTOMERS, ONE_CUSTOMER)):
            assert error_code(await gql(document, {"items": items}, token)) == "MISSING_SCOPE"
    assert await snapshot(tenant.tenant_id) == {"teams": [], "staff": [], "customers": []}
    assert await audit_entries(tenant.tenant_id, "team") == []

    # staff:write writes (and the audit names the key), staff:read reads; neither implies the other.
    assert (await upsert(gql, "teams", ONE_TEAM, writer))["created"] == 1
    assert [e.actor_api_key_id for e in await audit_entries(tenant.tenant_id, "team")] == [writer_key.api_key.id]
    assert error_code(await gql(TEAMS, {}, writer)) == "MISSING_SCOPE"
    assert codes(await query(gql, TEAMS, reader)) == ["t1"]
    assert error_code(await gql(TEAMS, {}, events)) == "MISSING_SCOPE"
    assert error_code(await gql(TEAMS, {})) == "UNAUTHENTICATED"


async def test_other_tenants_master_data_is_invisible_and_untouchable(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    a, b = await make_tenant(), await make_tenant()
    token_a, token_b = await login(a.admin_email), await login(b.admin_email)
    await upsert(gql, "teams", [{"code": "x", "name": "B team"}, {"code": "b-only", "name": "B only"}], token_b)
    await upsert(gql, "staff", [{"code": "x", "name": "B staff", "role": "guide", "team": "x"}], token_b)
    await upsert(gql, "staff", [{"code": "b-guide", "name": "B guide", "role": "guide"}], token_b)
    await upsert(gql, "customers", [{"code": "x", "name": "B customer", "guide": "x"}], token_b)
    b_before = await snapshot(b.tenant_id)
    a_reader = (await service.create_api_key(a.tenant_id, "r", [Scope.STAFF_READ], None)).plaintext
    a_writer = (await service.create_api_key(a.tenant_id, "w", [Scope.STAFF_WRITE], None)).plaintext

    # Reading: A's admin and A's key see none of B's rows, whatever the filter.
    for token in (token_a, a_reader):
        assert (await query(gql, TEAMS, token))["total"] == 0
        assert (await query(gql, STAFF, token))["total"] == 0
        assert (await query(gql, STAFF, token, team="x"))["total"] == 0
        assert (await query(gql, CUSTOMERS, token, guide="x"))["total"] == 0
        assert (await query(gql, CUSTOMERS, token, search="B customer"))["total"] == 0

    # Referring to B's codes from A: they do not exist for A.
    result = await upsert(gql, "teams", [{"code": "a1", "name": "A1", "parent": "b-only"}], a_writer)
    assert errors_of(result) == [(0, "UNKNOWN_PARENT", "parent")]
    result = await upsert(gql, "staff", [{"code": "a1", "name": "A1", "role": "guide", "team": "b-only"}], token_a)
    assert errors_of(result) == [(0, "UNKNOWN_TEAM", "team")]
    result = await upsert(gql, "customers", [{"code": "a1", "guide": "b-guide"}], a_writer)
    assert errors_of(result) == [(0, "UNKNOWN_STAFF", "guide")]

    # Writing the code "x" that B uses creates A's own rows and leaves B's alone.
    assert (await upsert(gql, "teams", [{"code": "x", "name": "A team"}], a_writer))["created"] == 1
    created = await upsert(gql, "staff", [{"code": "x", "name": "A staff", "role": "sales", "team": "x"}], token_a)
    assert (created["created"], created["updated"]) == (1, 0)
    assert (await upsert(gql, "customers", [{"code": "x", "name": "A customer", "guide": "x"}], token_a))[
        "created"
    ] == 1

    assert await snapshot(b.tenant_id) == b_before
    a_after = await snapshot(a.tenant_id)
    assert [(t["code"], t["name"]) for t in a_after["teams"]] == [("x", "A team")]
    assert [(s["code"], s["name"], s["team_id"]) for s in a_after["staff"]] == [
        ("x", "A staff", a_after["teams"][0]["id"])
    ]
    assert a_after["customers"][0]["guide_staff_id"] == a_after["staff"][0]["id"]
    assert {s["id"] for s in a_after["staff"]}.isdisjoint(s["id"] for s in b_before["staff"])
    # Each tenant lists its own "x".
    assert [s["name"] for s in (await query(gql, STAFF, token_a))["items"]] == ["A staff"]
    assert [s["name"] for s in (await query(gql, STAFF, token_b, team="x"))["items"]] == ["B staff"]
    assert [c["guideCode"] for c in (await query(gql, CUSTOMERS, token_b))["items"]] == ["x"]
    # B's audit log has only B's own batches.
    assert len(await audit_entries(b.tenant_id, "staff")) == 2

"""saveAttributionRules / attributionRules: validated, effective-dated, audited versions; ingestion credits each event
by the version in force at its time; wrong roles and other tenants change and see nothing."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx

from tenants.audit.models import AuditEntry
from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.tenancy.auth import Role
from tenants.tenancy.models import Tenant
from tests.attribution.helpers import O2O, RULES, SAVE, order, store, stored
from tests.conftest import GraphQL, TenantFactory
from tests.factories import add_staff

Login = Callable[..., Awaitable[str]]


async def versions(tenant_id: Any) -> list[Any]:
    async with tenant_unit_of_work(tenant_id) as conn:
        return await conn.execute_query_dict("SELECT number FROM attribution_rule_version ORDER BY number")


async def test_invalid_rules_answer_every_problem_and_store_nothing(
    make_tenant: TenantFactory, gql: GraphQL, login: Login, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    rules = {
        "o2o": {
            "when": {},
            "splits": [{"staff_attribute": "a", "share": "0.5"}, {"staff_attribute": "a", "share": 0.25}],
        },
        "large_order_threshold": "__1e309__",
        "extra": 1,
    }
    # JSON 1e309 (infinity once read) as a client would send it: written into the request's text.
    text = json.dumps({"query": SAVE, "variables": {"rules": rules, "from": "2026-10-01"}})
    response = await client.post(
        "/graphql",
        content=text.replace('"__1e309__"', "1e309"),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    body = response.json()
    result = body["data"]["saveAttributionRules"]
    assert result["__typename"] == "AttributionErrors"
    assert sorted((e["field"], e["configCode"]) for e in result["errors"]) == [
        ("extra", "UNKNOWN_FIELD"),
        ("large_order_threshold", "INVALID_VALUE"),
        ("o2o.splits", "SHARES_NOT_1"),
        ("o2o.splits[1].staff_attribute", "DUPLICATE_ATTRIBUTE"),
        ("o2o.when", "CONDITIONS_REQUIRED"),
    ]
    assert {e["code"] for e in result["errors"]} == {"INVALID_CONFIG"}
    assert all(e["message"] for e in result["errors"])  # rendered (zh-CN by default)
    assert await versions(tenant.tenant_id) == []
    # 30 decimals in a share, a date out of range: refused too, nothing stored.
    thirty = {"o2o": {"when": {"c": "o"}, "splits": [{"staff_attribute": "a", "share": "0." + "1" * 30}]}}
    result = (await gql(SAVE, {"rules": thirty, "from": "2026-10-01"}, token))["data"]["saveAttributionRules"]
    assert ("o2o.splits[0].share", "TOO_MANY_DECIMALS") in [(e["field"], e["configCode"]) for e in result["errors"]]
    result = (await gql(SAVE, {"rules": {}, "from": "0001-01-01"}, token))["data"]["saveAttributionRules"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID", "effectiveFrom")]
    # NUL and a lone surrogate never reach the domain: the request's text guard refuses them, coded, nothing stored.
    for hostile in ({"o2o": {"when": {"c": "a\x00"}, "splits": []}}, {"o2o": {"when": {"c\ud800": "a"}, "splits": []}}):
        # json.dumps escapes both (\u0000, \ud800): the JSON text a client sends.
        text = json.dumps({"query": SAVE, "variables": {"rules": hostile, "from": "2026-10-01"}})
        response = await client.post(
            "/graphql", content=text, headers={"authorization": f"Bearer {token}", "content-type": "application/json"}
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_TEXT"
    assert await versions(tenant.tenant_id) == []


async def test_versions_are_effective_dated_and_audited(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    token = await login(tenant.admin_email)
    for code in ("clerk", "ops-1", "cs-1"):
        await add_staff(tid, code)
    first = (await gql(SAVE, {"rules": {"large_order_threshold": "1000"}, "from": "2026-10-01"}, token))["data"]
    assert first["saveAttributionRules"]["version"] == {
        "number": 1,
        "effectiveFrom": "2026-10-01",
        "effectiveAt": "2026-10-01T00:00:00+08:00",  # midnight in Asia/Shanghai, shown with its offset
        "config": {
            "exclusive_guide": None,
            "o2o": None,
            "large_order_threshold": "1000",
            "create_unknown_customers": True,
        },
    }
    second = (await gql(SAVE, {"rules": O2O, "from": "2026-11-01"}, token))["data"]["saveAttributionRules"]
    assert second["version"]["number"] == 2
    marked = {"channel": "offline", "lead": "online", "operator": "ops-1", "service": "cs-1"}
    await store(
        tid,
        order("before-any", at="2026-09-30T23:59:59+08:00", staff="clerk", amount="5000.00", attributes=marked),
        order("v1-large", at="2026-10-31T23:59:59+08:00", staff="clerk", amount="1000.00", attributes=marked),
        order("v2-split", at="2026-11-01T00:00:00+08:00", staff="clerk", amount="5000.00", attributes=marked),
    )
    before_any, large, split = [await stored(tid, e) for e in ("before-any", "v1-large", "v2-split")]
    assert (before_any.status, len(before_any.credit_staff_ids)) == ("counted", 1)  # no version yet: the actor
    assert (large.status, len(large.credit_staff_ids)) == ("pending", 1)  # version 1: threshold, no O2O
    assert (split.status, split.credit_shares) == ("counted", [Decimal("0.3"), Decimal("0.7")])  # version 2

    overview = (await gql(RULES, {}, token))["data"]["attributionRules"]
    assert overview["legacySettings"] is False
    assert [v["number"] for v in overview["versions"]] == [1, 2]
    assert overview["current"]["number"] == 2  # both are in force by now (2026-11-27)
    async with tenant_unit_of_work(tid):
        audit = await AuditEntry.filter(tenant_id=tid, action="attribution_rules.save").order_by("id")
    assert [(entry.after["number"], entry.actor_user_id) for entry in audit] == [
        (1, tenant.admin_user_id),
        (2, tenant.admin_user_id),
    ]
    assert audit[1].after["config"]["o2o"]["splits"][0]["share"] == "0.3"


async def test_wrong_roles_and_other_tenants(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    assert (await gql(SAVE, {"rules": O2O, "from": "2026-10-01"}, token))["data"]["saveAttributionRules"][
        "__typename"
    ] == "AttributionRulesSaved"
    staff = await make_tenant(role=Role.STAFF)
    staff_token = await login(staff.admin_email)
    refused = await gql(SAVE, {"rules": {}, "from": "2026-10-01"}, staff_token)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql(RULES, {}, staff_token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await versions(staff.tenant_id) == []
    manager = await make_tenant(role=Role.MANAGER)
    manager_token = await login(manager.admin_email)
    refused = await gql(SAVE, {"rules": {}, "from": "2026-10-01"}, manager_token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await versions(manager.tenant_id) == []
    # Another tenant sees its own (no) rules, never this tenant's.
    other = await make_tenant()
    other_view = (await gql(RULES, {}, await login(other.admin_email)))["data"]["attributionRules"]
    assert other_view == {"legacySettings": True, "current": None, "versions": []}
    assert len(await versions(tenant.tenant_id)) == 1


async def test_a_tenant_without_versions_keeps_its_settings(make_tenant: TenantFactory) -> None:
    """Legacy: unversioned tenant.settings still apply until rules are saved (migration 0015 moved valid ones)."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "clerk")
    async with platform_unit_of_work():
        await Tenant.filter(id=tid).update(settings={"large_order_threshold": "100"})
    await store(tid, order("legacy-large", staff="clerk", amount="100.00"))
    assert (await stored(tid, "legacy-large")).status == "pending"

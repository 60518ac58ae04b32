"""The shared database plumbing: code lookups stay inside the tenant, paging is clamped, jsonb reads one way."""

from __future__ import annotations

from tenants.db.codecs import json_value
from tenants.db.codes import ids_by_code
from tenants.db.paging import PageRequest
from tenants.db.uow import tenant_unit_of_work
from tests.conftest import TenantFactory


def test_page_requests_are_clamped() -> None:
    assert PageRequest.clamped(None, None, 200) == PageRequest(50, 0)
    assert PageRequest.clamped(10_000, -5, 200) == PageRequest(200, 0)
    assert PageRequest.clamped(0, 7, 200) == PageRequest(50, 7)
    assert PageRequest.clamped(-3, 7, 200) == PageRequest(1, 7)


def test_json_values_read_the_same_from_text_or_decoded() -> None:
    assert json_value('{"a": [1, 2]}') == {"a": [1, 2]}
    assert json_value({"a": [1, 2]}) == {"a": [1, 2]}
    assert json_value(None) is None


async def test_ids_by_code_finds_only_the_tenants_own_rows(make_tenant: TenantFactory) -> None:
    mine, other = await make_tenant(), await make_tenant()
    for tenant in (mine, other):
        async with tenant_unit_of_work(tenant.tenant_id) as conn:
            await conn.execute_query(
                "INSERT INTO team (tenant_id, code, name, kind, created_at, updated_at) "
                "VALUES ($1, 's1', 'Store', 'store', now(), now())",
                [int(tenant.tenant_id)],
            )
    async with tenant_unit_of_work(mine.tenant_id) as conn:
        found = await ids_by_code(conn, "team", mine.tenant_id, ["s1", "s2", "s1"])
        assert list(found) == ["s1"]
        # The other tenant's code is not found from here, whatever id is asked for.
        assert await ids_by_code(conn, "team", other.tenant_id, ["s1"]) == {}
        assert await ids_by_code(conn, "team", mine.tenant_id, []) == {}

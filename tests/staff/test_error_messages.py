"""Refused items of master data batches: a code from the MasterDataErrorCode enum in the SDL (never a free string),
and a message in the tenant's language, Simplified Chinese unless the merchant chose English."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tenants.db.uow import platform_unit_of_work
from tenants.staff.errors import MasterDataErrorCode
from tenants.tenancy.models import Tenant
from tests.conftest import GraphQL, TenantFactory
from tests.staff import UPSERT_STAFF, snapshot, upsert

Login = Callable[..., Awaitable[str]]

ERROR_TYPE = """
{
  errorType: __type(name: "MasterDataItemError") {
    kind
    interfaces { name }
    fields { name type { kind name ofType { kind name } } }
  }
  codes: __type(name: "MasterDataErrorCode") { kind enumValues { name } }
  result: __type(name: "UpsertResult") { fields { name type { ofType { ofType { ofType { name } } } } } }
}
"""

# Index 0 is stored; 1 and 2 are refused, each with a message quoting the input.
STAFF = [
    {"code": "g1", "name": "A", "role": "guide"},
    {"code": "g2", "name": "B", "role": "guide", "team": "nowhere"},
    {"code": "g3", "name": "C", "role": "guide", "hiredOn": "2025-05-01", "leftOn": "2025-04-30"},
]


def _type_ref(field: dict[str, Any]) -> tuple[str, str | None]:
    """(kind, name) of a field's type under its NON_NULL wrapper."""
    kind: str = field["type"]["kind"]
    if kind == "NON_NULL":
        inner = field["type"]["ofType"]
        return inner["kind"], inner["name"]
    return kind, field["type"]["name"]


async def test_upsert_errors_are_problems_whose_code_is_the_master_data_enum(gql: GraphQL) -> None:
    """Was `ItemError { code: String }`: clients could not see which codes exist."""
    body = await gql(ERROR_TYPE)
    assert not body.get("errors"), body
    data = body["data"]

    error_type = data["errorType"]
    assert error_type is not None, "no MasterDataItemError type in the schema"
    assert (error_type["kind"], [i["name"] for i in error_type["interfaces"]]) == ("OBJECT", ["Problem"])
    fields = {field["name"]: _type_ref(field) for field in error_type["fields"]}
    assert fields == {
        "field": ("SCALAR", "String"),
        "message": ("SCALAR", "String"),
        "index": ("SCALAR", "Int"),
        "code": ("ENUM", "MasterDataErrorCode"),
    }
    assert data["codes"]["kind"] == "ENUM"
    assert {value["name"] for value in data["codes"]["enumValues"]} == {code.value for code in MasterDataErrorCode}
    errors_field = next(field for field in data["result"]["fields"] if field["name"] == "errors")
    assert errors_field["type"]["ofType"]["ofType"]["ofType"]["name"] == "MasterDataItemError"


async def test_messages_are_in_simplified_chinese_by_default(
    make_tenant: TenantFactory, client: httpx.AsyncClient, login: Login
) -> None:
    """The tenant's language wins over the request's Accept-Language; codes stay English."""
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    response = await client.post(
        "/graphql",
        json={"query": UPSERT_STAFF, "variables": {"items": STAFF}},
        headers={"authorization": f"Bearer {token}", "accept-language": "en-US,en;q=0.9"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    result = body["data"]["upsertStaff"]
    assert result["errors"] == [
        {"index": 1, "code": "UNKNOWN_TEAM", "field": "team", "message": "没有编码为 'nowhere' 的门店/小组。"},
        {"index": 2, "code": "INVALID_DATES", "field": "leftOn", "message": "离职日期 leftOn 早于入职日期 hiredOn。"},
    ]
    assert result["codes"] == ["g1"]


async def test_a_tenant_that_chose_english_reads_english_messages(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    tenant = await make_tenant()
    other = await make_tenant()
    async with platform_unit_of_work():
        await Tenant.filter(id=tenant.tenant_id).update(settings={"locale": "en"})
    token = await login(tenant.admin_email)
    result = await upsert(gql, "staff", STAFF, token)
    assert result["errors"] == [
        {"index": 1, "code": "UNKNOWN_TEAM", "field": "team", "message": "No team with the code 'nowhere'."},
        {"index": 2, "code": "INVALID_DATES", "field": "leftOn", "message": "leftOn is before hiredOn."},
    ]

    # Another tenant keeps the default: the language is the reader's tenant's, not a global switch.
    before = await snapshot(other.tenant_id)
    other_result = await upsert(gql, "staff", STAFF[1:2], await login(other.admin_email))
    assert [(e["code"], e["message"]) for e in other_result["errors"]] == [
        ("UNKNOWN_TEAM", "没有编码为 'nowhere' 的门店/小组。")
    ]
    assert await snapshot(other.tenant_id) == before

"""Every DateTime an answer holds is shown with the reader's tenant's UTC offset (issue 8 item 7), in whichever
domain's type it is: the schema's DateTime scalar converts, with the zone the principal carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from tenants.db.uow import tenant_unit_of_work
from tenants.tenancy.models import ApiKey
from tests.conftest import GraphQL, TenantFactory
from tests.tenancy.test_auth import CREATE_KEY, REVOKE_KEY

CREATE_KEY_AT = CREATE_KEY.replace("apiKey { id prefix scopes }", "apiKey { id prefix scopes createdAt }")


async def created_key(gql: GraphQL, token: str) -> dict[str, str]:
    body = await gql(CREATE_KEY_AT, {"name": "pos", "scopes": ["EVENTS_WRITE"]}, token)
    result = body["data"]["createApiKey"]
    assert result["__typename"] == "ApiKeyCreated", body
    key: dict[str, str] = result["apiKey"]
    return key


async def test_times_of_any_domain_carry_the_tenants_offset(
    make_tenant: TenantFactory, login: Callable[..., Awaitable[str]], gql: GraphQL
) -> None:
    kolkata = await make_tenant(timezone="Asia/Kolkata")
    token = await login(kolkata.admin_email)
    key = await created_key(gql, token)
    assert key["createdAt"].endswith("+05:30"), key
    async with tenant_unit_of_work(kolkata.tenant_id):
        stored = await ApiKey.get(id=int(key["id"]))
    assert datetime.fromisoformat(key["createdAt"]) == stored.created_at  # the same instant, shown locally

    revoked = (await gql(REVOKE_KEY, {"id": key["id"]}, token))["data"]["revokeApiKey"]
    assert revoked["apiKey"]["revokedAt"].endswith("+05:30"), revoked

    # The next request of another tenant reads its own offset: nothing is left over from the previous one.
    shanghai = await make_tenant(timezone="Asia/Shanghai")
    other = await created_key(gql, await login(shanghai.admin_email))
    assert other["createdAt"].endswith("+08:00"), other

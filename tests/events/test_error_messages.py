"""Refused events in the one error model: a code from the EventErrorCode enum in the SDL (was `ItemError.code:
String`, and the enum never reached the schema), a message in the tenant's language (Simplified Chinese unless the
merchant chose English), through GraphQL recordEvents and POST /import/events alike; a refused whole call
(TOO_MANY_ITEMS) is coded and translated too. recordEvents takes the deployment's occurredAt range, as the import does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette

from server.app import create_app
from server.settings import Settings
from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.events.checks import check_item
from tenants.events.confirmation import MAX_CONFIRM
from tenants.events.contract import MAX_BATCH
from tenants.events.errors import EventErrorCode
from tenants.events.models import Event
from tenants.events.problems import problem_from_validation
from tenants.events.service import ingest
from tenants.tenancy import service
from tenants.tenancy.auth import Scope
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import Tenant
from tests.conftest import GraphQL, TenantFactory, TenantFixture
from tests.events.test_contract_fast import ITEMS, json_texts
from tests.factories import add_staff

RECORD = """
mutation($events: [EventInput!]!) {
  recordEvents(events: $events) { accepted duplicates { index } rejected { index code field message } }
}
"""
CONFIRM = "mutation($ids: [String!]!) { confirmLargeOrders(externalIds: $ids) { confirmed notPending } }"
SCHEMA = """
{
  errorType: __type(name: "EventItemError") {
    kind
    interfaces { name }
    fields { name type { kind name ofType { kind name } } }
  }
  codes: __type(name: "EventErrorCode") { kind enumValues { name } }
  result: __type(name: "RecordEventsResult") { fields { name type { ofType { ofType { ofType { name } } } } } }
  itemError: __type(name: "ItemError") { name }
}
"""


def order(external_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "type": "order",
        "occurredAt": "2026-10-05T10:00:00+08:00",
        "staff": "g1",
        "amount": "100.00",
        **extra,
    }


# Index 0 is stored; 1 is refused by the shape check, 2 by the tenant's data, 3 by a rule across fields.
EVENTS = [
    order("ok"),
    order("naive", occurredAt="2026-10-05T10:00:00"),
    order("ghost", staff="nobody"),
    order("split", staff=None, credits=[{"staff": "g1", "share": "0.5"}, {"staff": "g1", "share": "0.4"}]),
]
CHINESE = [
    {"index": 1, "code": "NAIVE_TIMESTAMP", "field": "occurredAt", "message": "occurredAt 须带时区偏移，如 +08:00。"},
    {"index": 2, "code": "UNKNOWN_STAFF", "field": "staff", "message": "没有编码为 'nobody' 的员工。"},
    {"index": 3, "code": "SHARES_NOT_1", "field": "credits", "message": "各归属比例 share 之和为 0.9，不等于 1。"},
]
ENGLISH = [
    {
        "index": 1,
        "code": "NAIVE_TIMESTAMP",
        "field": "occurredAt",
        "message": "occurredAt needs a timezone offset, e.g. +08:00.",
    },
    {"index": 2, "code": "UNKNOWN_STAFF", "field": "staff", "message": "No staff with code 'nobody'."},
    {"index": 3, "code": "SHARES_NOT_1", "field": "credits", "message": "Credit shares add up to 0.9, not 1."},
]


async def shop(make_tenant: TenantFactory, locale: str | None = None) -> TenantFixture:
    tenant = await make_tenant()
    await add_staff(tenant.tenant_id, "g1")
    if locale is not None:
        async with platform_unit_of_work():
            await Tenant.filter(id=tenant.tenant_id).update(settings={"locale": locale})
    return tenant


async def key_of(tenant: TenantFixture) -> str:
    scopes = [Scope.EVENTS_WRITE, Scope.EVENTS_READ]
    return (await service.create_api_key(tenant.tenant_id, "pos", scopes, tenant.admin_user_id)).plaintext


async def stored_ids(tenant_id: TenantId) -> list[str]:
    async with tenant_unit_of_work(tenant_id):
        ids = await Event.filter(tenant_id=tenant_id).values_list("external_id", flat=True)
    return sorted(str(external_id) for external_id in ids)


async def record(
    client: httpx.AsyncClient, key: str, events: list[dict[str, Any]], accept_language: str | None = None
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {key}"}
    if accept_language is not None:
        headers["accept-language"] = accept_language
    response = await client.post("/graphql", json={"query": RECORD, "variables": {"events": events}}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def import_ndjson(
    client: httpx.AsyncClient, key: str, events: list[dict[str, Any]], accept_language: str | None = None
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {key}"}
    if accept_language is not None:
        headers["accept-language"] = accept_language
    body = "\n".join(json.dumps(event) for event in events).encode()
    response = await client.post("/import/events", content=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _type_ref(field: dict[str, Any]) -> tuple[str, str | None]:
    """(kind, name) of a field's type under its NON_NULL wrapper."""
    kind: str = field["type"]["kind"]
    if kind == "NON_NULL":
        inner = field["type"]["ofType"]
        return inner["kind"], inner["name"]
    return kind, field["type"]["name"]


async def test_rejected_events_are_problems_whose_code_is_the_event_enum(gql: GraphQL) -> None:
    body = await gql(SCHEMA)
    assert not body.get("errors"), body
    data = body["data"]
    error_type = data["errorType"]
    assert error_type is not None, "no EventItemError type in the schema"
    assert (error_type["kind"], [i["name"] for i in error_type["interfaces"]]) == ("OBJECT", ["Problem"])
    assert {field["name"]: _type_ref(field) for field in error_type["fields"]} == {
        "field": ("SCALAR", "String"),
        "message": ("SCALAR", "String"),
        "index": ("SCALAR", "Int"),
        "code": ("ENUM", "EventErrorCode"),
    }
    assert [field["type"]["kind"] for field in error_type["fields"] if field["name"] in ("index", "code")] == [
        "NON_NULL",
        "NON_NULL",
    ]
    assert data["codes"]["kind"] == "ENUM"
    assert {value["name"] for value in data["codes"]["enumValues"]} == {code.value for code in EventErrorCode}
    rejected = next(field for field in data["result"]["fields"] if field["name"] == "rejected")
    assert rejected["type"]["ofType"]["ofType"]["ofType"]["name"] == "EventItemError"
    # Master data has its own MasterDataItemError: the untyped ItemError is gone from the schema.
    assert data["itemError"] is None


async def test_messages_are_in_simplified_chinese_by_default(
    make_tenant: TenantFactory, client: httpx.AsyncClient
) -> None:
    """The tenant's language wins over the request's Accept-Language; codes and fields stay English."""
    tenant = await shop(make_tenant)
    key = await key_of(tenant)
    body = await record(client, key, EVENTS, accept_language="en-US,en;q=0.9")
    assert not body.get("errors"), body
    result = body["data"]["recordEvents"]
    assert (result["accepted"], result["rejected"]) == (1, CHINESE)
    # The import answers the same problems the same way (other externalIds: these are already stored or refused).
    answer = await import_ndjson(client, key, [order("ok-2"), *EVENTS[1:]], accept_language="en")
    assert (answer["accepted"], answer["rejected"]) == (1, CHINESE)
    assert await stored_ids(tenant.tenant_id) == ["ok", "ok-2"]


async def test_a_tenant_that_chose_english_reads_english_messages(
    make_tenant: TenantFactory, client: httpx.AsyncClient
) -> None:
    tenant = await shop(make_tenant, locale="en")
    other = await shop(make_tenant)
    key = await key_of(tenant)
    result = (await record(client, key, EVENTS))["data"]["recordEvents"]
    assert (result["accepted"], result["rejected"]) == (1, ENGLISH)
    answer = await import_ndjson(client, key, [order("ok-2"), *EVENTS[1:]])
    assert (answer["accepted"], answer["rejected"]) == (1, ENGLISH)
    assert await stored_ids(tenant.tenant_id) == ["ok", "ok-2"]

    # Another tenant keeps the default: the language is the reader's tenant's, not a global switch.
    answer = await import_ndjson(client, await key_of(other), EVENTS, accept_language="en")
    assert (answer["accepted"], answer["rejected"]) == (1, CHINESE)
    assert await stored_ids(other.tenant_id) == ["ok"]


async def test_a_batch_over_the_limit_is_refused_whole_with_a_coded_translated_error(
    make_tenant: TenantFactory, client: httpx.AsyncClient
) -> None:
    tenant = await shop(make_tenant)
    events = [order(f"e{i}") for i in range(MAX_BATCH + 1)]
    body = await record(client, await key_of(tenant), events, accept_language="en")
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "TOO_MANY_ITEMS", "field": "events"}
    assert (
        error["message"]
        == "每次调用最多 5,000 条业务事件，本次有 5,001 条，未保存任何数据；更多请用 POST /import/events 导入。"
    )
    assert await stored_ids(tenant.tenant_id) == []


async def test_confirming_too_many_orders_is_refused_whole_in_the_readers_language(
    make_tenant: TenantFactory, gql: GraphQL, client: httpx.AsyncClient, login: Any
) -> None:
    tenant = await shop(make_tenant)
    tid = tenant.tenant_id
    async with platform_unit_of_work():
        await Tenant.filter(id=tid).update(settings={"large_order_threshold": "1000", "locale": "en"})
    assert (await ingest(tid, [(0, order("big", amount="5000.00"))])).accepted == 1
    token = await login(tenant.admin_email)
    ids = ["big"] + [f"none-{i}" for i in range(MAX_CONFIRM)]
    body = await gql(CONFIRM, {"ids": ids}, token)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "TOO_MANY_ITEMS", "field": "externalIds"}
    assert error["message"] == "At most 1,000 order ids per call; got 1,001. Nothing was confirmed."
    async with tenant_unit_of_work(tid):
        assert (await Event.get(tenant_id=tid, external_id="big")).status == "pending"
    # At the limit the call goes through (the service no longer drops ids past it silently).
    done = (await gql(CONFIRM, {"ids": ids[:MAX_CONFIRM]}, token))["data"]["confirmLargeOrders"]
    assert (done["confirmed"], len(done["notPending"])) == (["big"], MAX_CONFIRM - 1)


async def test_record_events_takes_the_time_range_from_the_settings(make_tenant: TenantFactory, app: Starlette) -> None:
    """Was: recordEvents used the contract's defaults (1970..2200) whatever the deployment configured."""
    tenant = await shop(make_tenant)
    settings: Settings = app.state.settings
    narrowed_settings = settings.model_copy(
        update={"event_time_min": datetime(2026, 1, 1, tzinfo=UTC), "event_time_max": datetime(2027, 1, 1, tzinfo=UTC)}
    )
    narrowed = create_app(narrowed_settings)
    # The session's connections (Tortoise is process-wide; its lifespan is the session app's).
    narrowed.state.settings = narrowed_settings
    narrowed.state.redis = app.state.redis
    narrowed.state.auth = app.state.auth
    events = [
        order("in-2026"),
        order("in-2025", occurredAt="2025-12-31T23:00:00Z"),
        order("in-2027", occurredAt="2027-01-01T00:00:00Z"),
    ]
    transport = httpx.ASGITransport(app=narrowed)
    async with httpx.AsyncClient(transport=transport, base_url="http://kaohe.test") as client:
        body = await record(client, await key_of(tenant), events)
    result = body["data"]["recordEvents"]
    assert [(r["index"], r["code"], r["field"]) for r in result["rejected"]] == [
        (1, "OCCURRED_AT_OUT_OF_RANGE", "occurredAt"),
        (2, "OCCURRED_AT_OUT_OF_RANGE", "occurredAt"),
    ]
    assert result["rejected"][0]["message"] == (
        "occurredAt 须在 2026-01-01T00:00:00+00:00（含）到 2027-01-01T00:00:00+00:00（不含）之间。"
    )
    assert await stored_ids(tenant.tenant_id) == ["in-2026"]


@pytest.mark.parametrize("raw", [*ITEMS, *json_texts()], ids=lambda raw: repr(raw)[:60])
def test_every_shape_problem_reads_in_our_words_in_both_languages(raw: dict[str, Any] | bytes) -> None:
    """The contract's corpus: each refused item's message is one of our templates, translated (pydantic's English,
    "Input should be ...", reached integrators for wrong types and lengths)."""
    checked = check_item(raw)
    if not isinstance(checked, ValidationError):
        return
    problem = problem_from_validation(7, checked)
    assert (problem.index, type(problem.code)) == (7, EventErrorCode)
    english, chinese = problem.message.render("en"), problem.message.render("zh-CN")
    assert "Input should" not in english and "String should" not in english, english
    assert chinese != english
    assert any("\u4e00" <= character <= "\u9fff" for character in chinese), chinese

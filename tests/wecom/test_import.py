"""POST /import/wecom/behavior against the real app: member-days become value events that sum_value/avg_value metrics
use; re-importing changes nothing; a changed figure is a conflict on that item; unknown userids and bad items are
reported per item; auth, roles and other tenants; a large body streamed in small chunks."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from tenants.audit.service import SYSTEM
from tenants.db.uow import tenant_unit_of_work
from tenants.periods.simulate import simulate
from tenants.schemes import service as schemes
from tenants.tenancy import service as tenancy
from tenants.tenancy.auth import Role, Scope
from tenants.tenancy.identity import TenantId
from tenants.wecom.importer import CHUNK_EVENTS, FIGURES
from tests.conftest import TenantFactory
from tests.factories import add_staff
from tests.grading.support import member

OCT_1 = 1_759_248_000  # 2025-10-01 00:00 in Shanghai
DAY = 86_400


def day(userid: str, stat_time: int | str, **figures: Any) -> dict[str, Any]:
    base = {
        "userid": userid,
        "stat_time": stat_time,
        "new_contact_cnt": 3,
        "new_apply_cnt": 5,
        "chat_cnt": 20,
        "message_cnt": 80,
        "reply_percentage": 95.5,
        "avg_reply_time": 4,
        "negative_feedback_cnt": 0,
    }
    return base | figures


async def api_key(tenant_id: TenantId) -> str:
    return (await tenancy.create_api_key(tenant_id, "wecom", [Scope.EVENTS_WRITE], None)).plaintext


async def post(client: httpx.AsyncClient, token: str, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post("/import/wecom/behavior", content=content, headers={"authorization": f"Bearer {token}"})


async def wecom_events(tenant_id: TenantId) -> list[tuple[str, str, str, Decimal]]:
    async with tenant_unit_of_work(tenant_id) as conn:
        rows = await conn.execute_query_dict(
            "SELECT e.external_id, e.type, s.code, e.value FROM event e "
            "JOIN staff s ON s.id = e.staff_id AND s.tenant_id = e.tenant_id WHERE e.type LIKE 'wecom%' "
            "ORDER BY e.external_id"
        )
    return [(r["external_id"], r["type"], r["code"], r["value"]) for r in rows]


async def test_member_days_become_value_events_and_reimport_changes_nothing(
    make_tenant: TenantFactory, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "guide-001")
    await add_staff(tid, "guide-002")
    token = await api_key(tid)
    body = {
        "errcode": 0,
        "errmsg": "ok",
        "mapping": {"zhangsan": "guide-001", "lisi": "guide-002"},
        "behavior_data": [day("zhangsan", OCT_1), day("zhangsan", OCT_1 + DAY, new_contact_cnt=7), day("lisi", OCT_1)],
    }
    answer = (await post(client, token, body)).json()
    assert answer | {"problems": None} == {
        "items": 3,
        "stored": 3,
        "unchanged": 0,
        "eventsAccepted": 21,
        "problemCount": 0,
        "problems": None,
        "truncated": False,
    }
    events = await wecom_events(tid)
    assert len(events) == 21
    assert ("wecom:zhangsan:2025-10-02:new_contact_cnt", "wecom_new_contacts", "guide-001", Decimal(7)) in events
    assert ("wecom:lisi:2025-10-01:reply_percentage", "wecom_reply_percentage", "guide-002", Decimal("95.5")) in events

    again = (await post(client, token, body)).json()
    assert (again["stored"], again["unchanged"], again["eventsAccepted"], again["problemCount"]) == (0, 3, 0, 0)
    assert len(await wecom_events(tid)) == 21

    # sum_value / avg_value metrics read them
    config = {
        "cycle": "month",
        "timezone": "Asia/Shanghai",
        "metrics": [
            {"key": "contacts", "aggregate": "sum_value", "events": ["wecom_new_contacts"], "target": 10, "weight": 50},
            {
                "key": "reply",
                "aggregate": "avg_value",
                "events": ["wecom_reply_percentage"],
                "target": 90,
                "weight": 50,
            },
        ],
    }
    scheme = await schemes.create_scheme(tid, SYSTEM, "wecom")
    draft = await schemes.save_draft(tid, SYSTEM, scheme.id, config)
    await schemes.publish_version(tid, SYSTEM, draft.id, date(2025, 10, 1))
    _, result = await simulate(tid, scheme.id, "2025-10")
    values = {card.staff_code: {m.key: m.value for m in card.metrics} for card in result.scorecards}
    assert values["guide-001"] == {"contacts": Decimal(10), "reply": Decimal("95.5")}


async def test_a_changed_figure_is_a_conflict_and_an_unknown_userid_is_reported_per_item(
    make_tenant: TenantFactory, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "guide-001")
    token = await api_key(tid)
    mapping = {"zhangsan": "guide-001", "ghost": "no-such-staff"}
    first = {"mapping": mapping, "behavior_data": [day("zhangsan", OCT_1)]}
    assert (await post(client, token, first)).json()["stored"] == 1

    second = {
        "mapping": mapping,
        "behavior_data": [
            day("zhangsan", OCT_1, new_contact_cnt=4),  # changed figure for the same day
            day("wangwu", OCT_1),  # not in the mapping
            day("ghost", OCT_1),  # mapped to a staff code the tenant does not have
            day("zhangsan", OCT_1 + DAY),  # a new day: stored
            day("zhangsan", "yesterday"),
            day("zhangsan", OCT_1 + 2 * DAY, chat_cnt=-1),
            day("zhangsan", OCT_1 + 3 * DAY, chat_cnt=1.5),
            day("zhangsan", OCT_1 + 4 * DAY, surprise=1),
            "not an object",
            day("bad user!", OCT_1),
        ],
    }
    answer = (await post(client, token, second)).json()
    assert (answer["items"], answer["stored"], answer["problemCount"]) == (10, 1, 9)
    problems = [(p["index"], p["code"], p["field"]) for p in answer["problems"]]
    assert problems == [
        (0, "FIGURE_CHANGED", "behavior_data[0].new_contact_cnt"),
        (1, "UNKNOWN_USERID", "behavior_data[1].userid"),
        (2, "UNKNOWN_STAFF", "behavior_data[2].userid"),
        (4, "INVALID_STAT_TIME", "behavior_data[4].stat_time"),
        (5, "INVALID_FIGURE", "behavior_data[5].chat_cnt"),
        (6, "INVALID_FIGURE", "behavior_data[6].chat_cnt"),
        (7, "UNKNOWN_FIELD", "behavior_data[7].surprise"),
        (8, "INVALID_ITEM", None),
        (9, "INVALID_USERID", "behavior_data[9].userid"),
    ]
    assert "zhangsan" in answer["problems"][0]["message"]
    stored = {event[0]: event[3] for event in await wecom_events(tid)}
    assert stored["wecom:zhangsan:2025-10-01:new_contact_cnt"] == Decimal(3)  # the first figure is kept
    assert "wecom:zhangsan:2025-10-02:new_contact_cnt" in stored
    assert not any(":2025-10-03:" in key or ":2025-10-04:" in key for key in stored)


async def test_wecom_errors_mapping_order_and_invalid_json(
    make_tenant: TenantFactory, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "guide-001")
    token = await api_key(tid)
    refused = (await post(client, token, {"errcode": 40001, "errmsg": "invalid", "behavior_data": []})).json()
    assert [p["code"] for p in refused["problems"]] == ["WECOM_ERROR"]
    late_mapping = (
        await post(client, token, {"behavior_data": [day("x", OCT_1)], "mapping": {"x": "guide-001"}})
    ).json()
    assert [p["code"] for p in late_mapping["problems"]] == ["MAPPING_AFTER_DATA", "UNKNOWN_STAFF"]
    broken = (await post(client, token, b'{"mapping": {"zhangsan": "guide-001"}, "behavior_data": [{"userid": ')).json()
    assert [p["code"] for p in broken["problems"]] == ["INVALID_JSON"]
    huge = {
        "mapping": {"zhangsan": "guide-001"},
        "behavior_data": [day("zhangsan", OCT_1), {"userid": "x" * 3_000_000}],
    }
    huge_body = json.dumps(huge).encode()

    async def pieces() -> AsyncIterator[bytes]:  # as a server receives it: 64 KB at a time
        for start in range(0, len(huge_body), 65536):
            yield huge_body[start : start + 65536]

    too_large = (
        await client.post("/import/wecom/behavior", content=pieces(), headers={"authorization": f"Bearer {token}"})
    ).json()
    assert [p["code"] for p in too_large["problems"]] == ["VALUE_TOO_LARGE"]
    assert too_large["stored"] == 1  # the item before it
    unstorable = (await post(client, token, {"behavior_data": [day("zh\u0000", OCT_1), day("\ud800", OCT_1)]})).json()
    assert [p["code"] for p in unstorable["problems"]] == ["INVALID_USERID", "INVALID_USERID"]
    bad_mapping = (await post(client, token, {"mapping": {"zhangsan": 1}, "behavior_data": []})).json()
    assert [p["code"] for p in bad_mapping["problems"]] == ["INVALID_MAPPING"]
    assert [event[0] for event in await wecom_events(tid)][:1] == ["wecom:zhangsan:2025-10-01:avg_reply_time"]


async def test_without_a_mapping_the_userid_is_the_staff_code(
    make_tenant: TenantFactory, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant()
    await add_staff(tenant.tenant_id, "zhangsan")
    answer = (await post(client, await api_key(tenant.tenant_id), {"behavior_data": [day("zhangsan", OCT_1)]})).json()
    assert answer["stored"] == 1


async def test_auth_roles_and_other_tenants(make_tenant: TenantFactory, client: httpx.AsyncClient, login: Any) -> None:
    mine, theirs = await make_tenant(), await make_tenant()
    await add_staff(mine.tenant_id, "guide-001")
    await add_staff(theirs.tenant_id, "guide-001")
    body = {"mapping": {"zhangsan": "guide-001"}, "behavior_data": [day("zhangsan", OCT_1)]}
    unauthenticated = await client.post("/import/wecom/behavior", content=json.dumps(body))
    assert unauthenticated.status_code == 401
    manager_email = await member(mine.tenant_id, Role.MANAGER)
    manager = await login(manager_email, tenant=mine.slug)
    forbidden = await post(client, manager, body)
    assert forbidden.status_code == 403 and forbidden.json()["errors"][0]["code"] == "FORBIDDEN"
    read_only = (await tenancy.create_api_key(mine.tenant_id, "ro", [Scope.EVENTS_READ], None)).plaintext
    assert (await post(client, read_only, body)).status_code == 403
    assert await wecom_events(mine.tenant_id) == []
    # their key writes their staff member only
    assert (await post(client, await api_key(theirs.tenant_id), body)).json()["stored"] == 1
    assert await wecom_events(mine.tenant_id) == []
    assert len(await wecom_events(theirs.tenant_id)) == 7


async def test_a_large_body_streamed_in_small_chunks(make_tenant: TenantFactory, client: httpx.AsyncClient) -> None:
    """3,000 member-days (21,000 events, several chunks of the events service) sent 1 KB at a time."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    for i in range(30):
        await add_staff(tid, f"g{i}")
    body = json.dumps(
        {
            "mapping": {f"u{i}": f"g{i}" for i in range(30)},
            "behavior_data": [day(f"u{i % 30}", OCT_1 + (i // 30) * DAY) for i in range(3000)],
        }
    ).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    response = await client.post(
        "/import/wecom/behavior", content=chunks(), headers={"authorization": f"Bearer {await api_key(tid)}"}
    )
    answer = response.json()
    assert (answer["items"], answer["stored"], answer["eventsAccepted"], answer["problemCount"]) == (
        3000,
        3000,
        21000,
        0,
    )


async def test_a_huge_stat_time_is_refused_at_once(make_tenant: TenantFactory, client: httpx.AsyncClient) -> None:
    """A stat_time like 1e400000 is refused by its range at once (converting it to an int first took seconds, and
    1e99999999 minutes, holding the worker)."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "guide-001")
    token = await api_key(tid)
    body = (
        b'{"mapping": {"zhangsan": "guide-001"}, "behavior_data": ['
        b'{"userid": "zhangsan", "stat_time": 1e400000, "chat_cnt": 1}]}'
    )
    started = time.monotonic()
    response = await post(client, token, body)
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    answer = response.json()
    assert [(p["code"], p["field"]) for p in answer["problems"]] == [
        ("INVALID_STAT_TIME", "behavior_data[0].stat_time"),
    ]
    assert await wecom_events(tid) == []


async def test_deep_nesting_keeps_memory_bounded(make_tenant: TenantFactory, client: httpx.AsyncClient) -> None:
    """10,000 nested arrays (20 KB) beside the data: the parser's prefixes are not built for them (ijson.parse built
    one of up to 50 KB per event, hundreds of MB at once); the member-day after them is stored."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "guide-001")
    token = await api_key(tid)
    deep = b"[" * 10_000 + b"]" * 10_000
    body = b'{"mapping": {"zhangsan": "guide-001"}, "junk": ' + deep + b', "behavior_data": ['
    body += json.dumps(day("zhangsan", OCT_1)).encode() + b"]}"
    tracemalloc.start()
    try:
        response = await post(client, token, body)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 30 * 1024 * 1024
    answer = response.json()
    assert (answer["stored"], answer["problemCount"]) == (1, 0)
    assert len(await wecom_events(tid)) == 7


async def test_an_import_refreshes_the_event_statistics_once(
    make_tenant: TenantFactory, client: httpx.AsyncClient, app_conn: asyncpg.Connection
) -> None:
    """Like an NDJSON import: the planner statistics of `event` are refreshed once, after the import, by what the
    whole import stored (refreshed per chunk of 5,000 events, a large table was never analysed and a small one
    several times)."""
    tenant = await make_tenant()
    tid = tenant.tenant_id
    await add_staff(tid, "guide-001")
    estimated = await app_conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = 'public.event'::regclass")
    analysed = await app_conn.fetchval("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'event'")
    events = max(2 * CHUNK_EVENTS + 1, int(0.2 * max(estimated, 1)) + 1)
    days = [day("zhangsan", OCT_1 + n * DAY) for n in range(-(-events // len(FIGURES)))]
    body = {"mapping": {"zhangsan": "guide-001"}, "behavior_data": days}
    answer = (await post(client, await api_key(tid), body)).json()
    assert answer["eventsAccepted"] == len(days) * len(FIGURES)
    assert await app_conn.fetchval("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'event'") == (
        analysed + 1
    )

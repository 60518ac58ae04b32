"""Master data batches: a bad string, date or offset in one item costs only that item, with a code naming the field;
nothing unstorable or unbounded reaches the database or a message. Checked both on the domain (the service, for
callers that do not use GraphQL) and through GraphQL with the JSON escapes an integration would send."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from tenants.audit.service import Actor
from tenants.i18n import LOCALES
from tenants.staff import service
from tenants.staff.records import CustomerItem, StaffItem, TeamItem, UpsertOutcome
from tests.conftest import GraphQL, TenantFactory, TenantFixture
from tests.staff import CUSTOMERS, STAFF, UPSERT_CUSTOMERS, codes, errors_of, query, snapshot, upsert

Login = Callable[..., Awaitable[str]]

NUL = "a\x00b"
SURROGATE = "x\ud800"


def problems_of(outcome: UpsertOutcome) -> list[tuple[int | None, str, str | None]]:
    return [(p.index, p.code.value, p.field) for p in outcome.errors]


def actor(tenant: TenantFixture) -> Actor:
    return Actor(user_id=tenant.admin_user_id)


# --- dates and times ------------------------------------------------------------------------------------------------


async def test_bound_since_out_of_range_or_with_an_impossible_offset_costs_only_its_item(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    await upsert(gql, "staff", [{"code": "g1", "name": "A", "role": "guide"}], token)
    bindings = [
        "2026-03-01T09:00:00+08:00",  # 0: fine
        "0001-01-01T00:00:00+00:00",  # 1: was stored
        "0001-01-01T00:00:00+14:00",  # 2: failed the whole batch ("date value out of range")
        "9999-12-31T23:00:00-14:00",  # 3: failed the whole batch
        "1969-12-31T23:59:59+00:00",  # 4
        "2200-01-01T00:00:00+00:00",  # 5
        "2026-03-01T09:00:00+16:00",  # 6: Python reads it, Postgres would not
        "2026-03-01T09:00:00-23:59",  # 7
        "1970-01-01T00:00:00+00:00",  # 8: the first instant allowed
        "2199-12-31T23:59:59.999999+00:00",  # 9: the last
        "2026-03-01T09:00:00+15:59",  # 10: the largest offset allowed
    ]
    items = [{"code": f"c{index}", "guide": "g1", "boundSince": since} for index, since in enumerate(bindings)]
    result = await upsert(gql, "customers", items, token)

    assert errors_of(result) == [
        (1, "DATE_OUT_OF_RANGE", "boundSince"),
        (2, "DATE_OUT_OF_RANGE", "boundSince"),
        (3, "DATE_OUT_OF_RANGE", "boundSince"),
        (4, "DATE_OUT_OF_RANGE", "boundSince"),
        (5, "DATE_OUT_OF_RANGE", "boundSince"),
        (6, "INVALID_UTC_OFFSET", "boundSince"),
        (7, "INVALID_UTC_OFFSET", "boundSince"),
    ]
    assert result["codes"] == ["c0", "c8", "c9", "c10"]
    stored = {c["code"]: c["boundSince"] for c in (await query(gql, CUSTOMERS, token))["items"]}
    assert {code: datetime.fromisoformat(since) for code, since in stored.items()} == {
        "c0": datetime(2026, 3, 1, 1, tzinfo=UTC),
        "c8": datetime(1970, 1, 1, tzinfo=UTC),
        "c9": datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        "c10": datetime(2026, 2, 28, 17, 1, tzinfo=UTC),
    }


async def test_staff_dates_outside_the_event_range_cost_only_their_item(
    make_tenant: TenantFactory, gql: GraphQL, login: Login
) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    staff = [
        {"code": "s0", "name": "A", "role": "guide", "hiredOn": "1970-01-01", "leftOn": "2199-12-31"},
        {"code": "s1", "name": "B", "role": "guide", "hiredOn": "0001-01-01"},
        {"code": "s2", "name": "C", "role": "guide", "leftOn": "9999-12-31"},
        {"code": "s3", "name": "D", "role": "guide", "hiredOn": "1969-12-31"},
        {"code": "s4", "name": "E", "role": "guide", "hiredOn": "2025-01-01", "leftOn": "2200-01-01"},
    ]
    result = await upsert(gql, "staff", staff, token)
    assert errors_of(result) == [
        (1, "DATE_OUT_OF_RANGE", "hiredOn"),
        (2, "DATE_OUT_OF_RANGE", "leftOn"),
        (3, "DATE_OUT_OF_RANGE", "hiredOn"),
        (4, "DATE_OUT_OF_RANGE", "leftOn"),
    ]
    assert codes(await query(gql, STAFF, token)) == ["s0"]


async def test_dates_given_as_objects_are_checked_too(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    outcome = await service.upsert_staff(
        tenant.tenant_id,
        actor(tenant),
        [
            StaffItem("s0", "A", "guide", hired_on=date(2020, 1, 1)),
            StaffItem("s1", "B", "guide", hired_on=date(1, 1, 1)),
        ],
    )
    assert problems_of(outcome) == [(1, "DATE_OUT_OF_RANGE", "hiredOn")]
    customers = await service.upsert_customers(
        tenant.tenant_id,
        actor(tenant),
        [
            CustomerItem("c0", guide="s0", bound_since=datetime(2026, 1, 1, tzinfo=UTC)),
            CustomerItem("c1", guide="s0", bound_since=datetime(9999, 12, 31, tzinfo=UTC)),
        ],
    )
    assert problems_of(customers) == [(1, "DATE_OUT_OF_RANGE", "boundSince")]
    assert customers.codes == ["c0"]


# --- text -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["NUL", "surrogate"])
async def test_unstorable_text_in_any_string_of_an_item_costs_only_that_item(
    make_tenant: TenantFactory, bad: str
) -> None:
    tenant = await make_tenant()
    who = actor(tenant)
    await service.upsert_teams(tenant.tenant_id, who, [TeamItem("t0", "Store")])
    await service.upsert_staff(tenant.tenant_id, who, [StaffItem("g0", "Guide", "guide")])

    teams = await service.upsert_teams(
        tenant.tenant_id,
        who,
        [
            TeamItem(bad, "Store"),
            TeamItem("t1", bad),
            TeamItem("t2", "Store", parent=bad),
            TeamItem("t3", "Store", kind=bad),
            TeamItem("t4", "Store", parent="t0"),
        ],
    )
    assert problems_of(teams) == [
        (0, "INVALID_TEXT", "code"),
        (1, "INVALID_TEXT", "name"),
        (2, "INVALID_TEXT", "parent"),
        (3, "INVALID_TEXT", "kind"),
    ]
    assert teams.codes == ["t4"]

    staff = await service.upsert_staff(
        tenant.tenant_id,
        who,
        [
            StaffItem(bad, "Guide", "guide"),
            StaffItem("s1", bad, "guide"),
            StaffItem("s2", "Guide", bad),
            StaffItem("s3", "Guide", "guide", team=bad),
            StaffItem("s4", "Guide", "guide", hired_on=bad),
            StaffItem("s5", "Guide", "guide", left_on=bad),
            StaffItem("s6", "Guide", "guide", team="t4"),
        ],
    )
    assert problems_of(staff) == [
        (0, "INVALID_TEXT", "code"),
        (1, "INVALID_TEXT", "name"),
        (2, "INVALID_TEXT", "role"),
        (3, "INVALID_TEXT", "team"),
        (4, "INVALID_TEXT", "hiredOn"),
        (5, "INVALID_TEXT", "leftOn"),
    ]
    assert staff.codes == ["s6"]

    customers = await service.upsert_customers(
        tenant.tenant_id,
        who,
        [
            CustomerItem(bad),
            CustomerItem("c1", name=bad),
            CustomerItem("c2", guide=bad),
            CustomerItem("c3", guide="g0", bound_since=bad),
            CustomerItem("c4", name="Ms Zhao", guide="s6"),
        ],
    )
    assert problems_of(customers) == [
        (0, "INVALID_TEXT", "code"),
        (1, "INVALID_TEXT", "name"),
        (2, "INVALID_TEXT", "guide"),
        (3, "INVALID_TEXT", "boundSince"),
    ]
    assert customers.codes == ["c4"]
    for outcome in (teams, staff, customers):
        texts = [p.message.render(locale) for p in outcome.errors for locale in LOCALES]
        assert all("\x00" not in text and text.isprintable() for text in texts)

    stored = await snapshot(tenant.tenant_id)
    assert [[row["code"] for row in rows] for rows in stored.values()] == [["t0", "t4"], ["g0", "s6"], ["c4"]]


async def test_over_long_strings_get_their_fields_code_and_a_short_message(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    who = actor(tenant)
    huge = "k" * 100_000
    teams = await service.upsert_teams(
        tenant.tenant_id,
        who,
        [
            TeamItem(huge, "Store"),
            TeamItem("t1", huge),
            TeamItem("t2", "S", parent=huge),
            TeamItem("t3", "S", kind=huge),
        ],
    )
    assert problems_of(teams) == [
        (0, "INVALID_CODE", "code"),
        (1, "INVALID_NAME", "name"),
        (2, "UNKNOWN_PARENT", "parent"),
        (3, "INVALID_KIND", "kind"),
    ]
    staff = await service.upsert_staff(
        tenant.tenant_id,
        who,
        [
            StaffItem("s0", "Guide", huge),
            StaffItem("s1", "Guide", "guide", team=huge),
            StaffItem("s2", "Guide", "guide", hired_on=huge),
        ],
    )
    assert problems_of(staff) == [
        (0, "INVALID_ROLE", "role"),
        (1, "UNKNOWN_TEAM", "team"),
        (2, "INVALID_DATE_FORMAT", "hiredOn"),
    ]
    customers = await service.upsert_customers(
        tenant.tenant_id,
        who,
        [
            CustomerItem("c0", name=huge),
            CustomerItem("c1", guide=huge),
            CustomerItem("c2", guide="g", bound_since=huge),
        ],
    )
    assert problems_of(customers) == [
        (0, "INVALID_NAME", "name"),
        (1, "UNKNOWN_STAFF", "guide"),
        (2, "INVALID_DATE_FORMAT", "boundSince"),
        (2, "UNKNOWN_STAFF", "guide"),
    ]
    for outcome in (teams, staff, customers):
        assert all(len(p.message.render(locale)) < 200 for p in outcome.errors for locale in LOCALES), outcome.errors
    assert await snapshot(tenant.tenant_id) == {"teams": [], "staff": [], "customers": []}


async def test_json_escapes_of_unstorable_text_through_graphql_cost_only_their_items(
    make_tenant: TenantFactory, client: httpx.AsyncClient, login: Login
) -> None:
    """As an integration sends them: \\u0000 and a lone \\ud800 escape in the request's JSON."""
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    items: list[dict[str, Any]] = [
        {"code": "c0", "name": "Ms \x00 Zhao"},
        {"code": "c1", "name": "Ms \ud800 Li"},
        {"code": "c2", "guide": "g\x00"},
        {"code": "c3", "name": "Ms Wang"},
    ]
    body = json.dumps({"query": UPSERT_CUSTOMERS, "variables": {"items": items}})  # ASCII, escapes kept
    response = await client.post(
        "/graphql",
        content=body,
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    result = response.json()["data"]["upsertCustomers"]
    assert errors_of(result) == [(0, "INVALID_TEXT", "name"), (1, "INVALID_TEXT", "name"), (2, "INVALID_TEXT", "guide")]
    assert result["codes"] == ["c3"]


async def test_a_code_repeated_a_thousand_times_answers_short_messages(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    outcome = await service.upsert_teams(
        tenant.tenant_id, actor(tenant), [TeamItem(code="same", name="Store") for _ in range(1_000)]
    )
    assert [p.code.value for p in outcome.errors] == ["DUPLICATE_IN_BATCH"] * 1_000
    assert max(len(str(p.message)) for p in outcome.errors) < 100
    assert str(outcome.errors[0].message) == "The code 'same' appears at indexes 0, 1, 2, 3, 4 (+995)."
    assert outcome.created == 0

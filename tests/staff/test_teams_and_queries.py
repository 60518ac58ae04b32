"""The team tree (parents in the same batch, cycles, unknown parents) and the listings' filters and paging."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.conftest import GraphQL, TenantFactory
from tests.staff import CUSTOMERS, STAFF, TEAMS, codes, errors_of, query, snapshot, upsert

Login = Callable[..., Awaitable[str]]

# Children listed before their parents on purpose: the batch is ordered by the server, not by the caller.
TREE = [
    {"code": "g1", "name": "Group 1", "kind": "group", "parent": "s1"},
    {"code": "s1", "name": "Store 1", "parent": "r1"},
    {"code": "g2", "name": "Group 2", "kind": "group", "parent": "s2"},
    {"code": "r1", "name": "East region", "kind": "region"},
    {"code": "s2", "name": "Store 2", "parent": "r1"},
    {"code": "r2", "name": "West region", "kind": "region"},
]
PEOPLE = [
    {"code": "p-g1", "name": "In group 1", "role": "guide", "team": "g1"},
    {"code": "p-s1", "name": "In store 1", "role": "guide", "team": "s1"},
    {"code": "p-g2", "name": "In group 2", "role": "sales", "team": "g2", "active": False},
    {"code": "p-r2", "name": "In the west", "role": "guide", "team": "r2"},
    {"code": "p-none", "name": "Floating 100%_x", "role": "agent"},
]


async def test_tree_in_one_batch_and_subtree_filter(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    result = await upsert(gql, "teams", TREE, token)
    assert (result["created"], result["errors"]) == (6, [])
    teams = {t["code"]: (t["parentCode"], t["kind"]) for t in (await query(gql, TEAMS, token))["items"]}
    assert teams == {
        "g1": ("s1", "group"),
        "g2": ("s2", "group"),
        "r1": (None, "region"),
        "r2": (None, "region"),
        "s1": ("r1", "store"),
        "s2": ("r1", "store"),
    }
    assert codes(await query(gql, TEAMS, token, parent="r1")) == ["s1", "s2"]  # direct children only
    assert (await upsert(gql, "staff", PEOPLE, token))["created"] == 5

    assert codes(await query(gql, STAFF, token, team="s1")) == ["p-g1", "p-s1"]
    assert codes(await query(gql, STAFF, token, team="r1")) == ["p-g1", "p-g2", "p-s1"]
    assert codes(await query(gql, STAFF, token, team="g2")) == ["p-g2"]
    assert codes(await query(gql, STAFF, token, team="r1", active=True)) == ["p-g1", "p-s1"]
    assert codes(await query(gql, STAFF, token, team="no-such-team")) == []

    # Moving a subtree moves its members with it.
    await upsert(gql, "teams", [{"code": "s2", "name": "Store 2", "parent": "r2"}], token)
    assert codes(await query(gql, STAFF, token, team="r2")) == ["p-g2", "p-r2"]
    assert codes(await query(gql, STAFF, token, team="r1")) == ["p-g1", "p-s1"]


async def test_cycles_and_unknown_parents_are_refused(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    await upsert(gql, "teams", TREE, token)
    stored = await snapshot(tenant.tenant_id)
    result = await upsert(
        gql,
        "teams",
        [
            {"code": "a", "name": "A", "parent": "b"},  # 0: a <-> b within the batch
            {"code": "b", "name": "B", "parent": "a"},  # 1
            {"code": "r1", "name": "East", "parent": "g1"},  # 2: closes a cycle through stored teams (g1 < s1 < r1)
            {"code": "self", "name": "Self", "parent": "self"},  # 3
            {"code": "orphan", "name": "O", "parent": "nowhere"},  # 4
            {"code": "under-a", "name": "U", "parent": "a"},  # 5: its parent was refused and does not exist
            {"code": "x", "name": "", "parent": "r2"},  # 6: invalid itself ...
            {"code": "under-x", "name": "UX", "parent": "x"},  # 7: ... so its child has no parent either
            {"code": "fine", "name": "Fine", "parent": "g1"},  # 8
            {"code": "k", "name": "K", "kind": ""},  # 9
        ],
        token,
    )
    assert errors_of(result) == [
        (0, "TEAM_CYCLE", "parent"),
        (1, "TEAM_CYCLE", "parent"),
        (2, "TEAM_CYCLE", "parent"),
        (3, "TEAM_CYCLE", "parent"),
        (4, "UNKNOWN_PARENT", "parent"),
        (5, "UNKNOWN_PARENT", "parent"),
        (6, "INVALID_NAME", "name"),
        (7, "UNKNOWN_PARENT", "parent"),
        (9, "INVALID_KIND", "kind"),
    ]
    assert (result["created"], result["updated"], result["codes"]) == (1, 0, ["fine"])
    after = await snapshot(tenant.tenant_id)
    assert [t for t in after["teams"] if t["code"] != "fine"] == stored["teams"]  # r1 was not moved
    assert codes(await query(gql, TEAMS, token, parent="g1")) == ["fine"]


async def test_filters_search_and_paging(make_tenant: TenantFactory, gql: GraphQL, login: Login) -> None:
    tenant = await make_tenant()
    token = await login(tenant.admin_email)
    await upsert(gql, "teams", TREE, token)
    await upsert(gql, "staff", PEOPLE, token)
    await upsert(gql, "customers", [{"code": f"cust-{i:02}", "name": f"Customer {i}"} for i in range(12)], token)

    assert codes(await query(gql, STAFF, token, role="guide")) == ["p-g1", "p-r2", "p-s1"]
    assert codes(await query(gql, STAFF, token, active=False)) == ["p-g2"]
    assert codes(await query(gql, STAFF, token, search="GROUP")) == ["p-g1", "p-g2"]  # name, case-insensitive
    assert codes(await query(gql, STAFF, token, search="p-r")) == ["p-r2"]  # code
    # LIKE wildcards in a search are literal characters.
    assert codes(await query(gql, STAFF, token, search="100%_")) == ["p-none"]
    assert codes(await query(gql, STAFF, token, search="%")) == ["p-none"]
    assert codes(await query(gql, TEAMS, token, search="region")) == ["r1", "r2"]

    page = await query(gql, CUSTOMERS, token, search="cust", limit=5, offset=10)
    assert (codes(page), page["total"], page["limit"], page["offset"]) == (["cust-10", "cust-11"], 12, 5, 10)
    past_the_end = await query(gql, CUSTOMERS, token, limit=5, offset=40)
    assert (past_the_end["items"], past_the_end["total"]) == ([], 12)
    past_the_end = await query(gql, STAFF, token, team="r1", limit=5, offset=40)
    assert (past_the_end["items"], past_the_end["total"]) == ([], 3)
    clamped = await query(gql, CUSTOMERS, token, limit=100_000, offset=-3)
    assert (clamped["limit"], clamped["offset"], clamped["total"]) == (200, 0, 12)

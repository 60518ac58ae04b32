"""Scheme service on the real database: drafts, publishing, closed periods, version in force, audit, isolation."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tenants.audit.models import AuditEntry
from tenants.audit.service import Actor
from tenants.db.uow import tenant_unit_of_work
from tenants.periods.models import Period
from tenants.rules.calendar import period_window
from tenants.rules.config import SchemeConfigErrorCode
from tenants.schemes import checks, service
from tenants.schemes.errors import SchemeError, SchemeErrorCode
from tenants.schemes.models import Scheme, SchemeVersion
from tenants.schemes.templates import TEMPLATES, get_template
from tenants.tenancy.identity import TenantId
from tests.conftest import TenantFactory, TenantFixture
from tests.schemes.test_config import example

Code = SchemeConfigErrorCode


def actor(tenant: TenantFixture) -> Actor:
    return Actor(user_id=tenant.admin_user_id)


def invalid_config() -> dict[str, Any]:
    config = example()
    config["metrics"][0]["weight"] = 50  # weights now add up to 110
    config["rewards"][0]["base"] = "revenue"  # no such metric
    config["penalties"][0]["amount"] = -100
    return config


async def versions_of(tenant_id: TenantId, scheme_id: int) -> list[SchemeVersion]:
    async with tenant_unit_of_work(tenant_id):
        return await SchemeVersion.filter(tenant_id=tenant_id, scheme_id=scheme_id).order_by("number")


async def audit_of(tenant_id: TenantId) -> list[AuditEntry]:
    async with tenant_unit_of_work(tenant_id):
        return await AuditEntry.filter(tenant_id=tenant_id).order_by("id")


async def add_period(
    tenant_id: TenantId, scheme_id: int, key: str, state: str, timezone: str = "Asia/Shanghai", cycle: str = "month"
) -> Period:
    starts_at, ends_at = period_window(cycle, key, timezone)
    async with tenant_unit_of_work(tenant_id):
        return await Period.create(
            tenant_id=tenant_id, scheme_id=scheme_id, key=key, starts_at=starts_at, ends_at=ends_at, state=state
        )


async def new_scheme(tenant: TenantFixture, name: str = "导购考核") -> Scheme:
    return await service.create_scheme(tenant.tenant_id, actor(tenant), name, "monthly guide scheme")


async def published(tenant: TenantFixture, scheme_id: int, effective_from: date, **changes: Any) -> SchemeVersion:
    config = example()
    config.update(changes)
    draft = await service.save_draft(tenant.tenant_id, actor(tenant), scheme_id, config)
    return await service.publish_version(tenant.tenant_id, actor(tenant), draft.id, effective_from)


async def test_create_scheme_is_audited(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme = await service.create_scheme(tenant.tenant_id, actor(tenant), "  导购考核 ", "monthly")
    assert (scheme.name, scheme.description, scheme.active) == ("导购考核", "monthly", True)
    [entry] = await audit_of(tenant.tenant_id)
    assert (entry.action, entry.entity, entry.entity_id, entry.actor_user_id) == (
        "scheme.create",
        "scheme",
        scheme.id,
        tenant.admin_user_id,
    )
    assert entry.before is None
    assert entry.after == {"name": "导购考核", "description": "monthly", "active": True}


async def test_create_scheme_refuses_a_blank_name(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    with pytest.raises(SchemeError) as raised:
        await service.create_scheme(tenant.tenant_id, actor(tenant), "   ")
    assert (raised.value.code, raised.value.problems[0].field) == (SchemeErrorCode.INVALID, "name")
    assert await service.list_schemes(tenant.tenant_id) == []
    assert await audit_of(tenant.tenant_id) == []


async def test_invalid_config_is_rejected_whole_and_nothing_is_stored(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme = await new_scheme(tenant)
    audit_before = len(await audit_of(tenant.tenant_id))

    with pytest.raises(SchemeError) as raised:
        await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, invalid_config())
    problems = {(p.code, p.detail, p.field) for p in raised.value.problems}
    assert problems == {
        (SchemeErrorCode.INVALID_CONFIG, Code.WEIGHTS_NOT_100, "metrics"),
        (SchemeErrorCode.INVALID_CONFIG, Code.UNKNOWN_METRIC, "rewards[0].base"),
        (SchemeErrorCode.INVALID_CONFIG, Code.NEGATIVE_AMOUNT, "penalties[0].amount"),
    }
    assert all(str(p.message) for p in raised.value.problems)
    assert await versions_of(tenant.tenant_id, scheme.id) == []
    assert len(await audit_of(tenant.tenant_id)) == audit_before

    # with a draft in place, an invalid save leaves it exactly as it was
    draft = await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, example())
    with pytest.raises(SchemeError):
        await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, invalid_config())
    [kept] = await versions_of(tenant.tenant_id, scheme.id)
    assert (kept.id, kept.config, kept.updated_at) == (draft.id, example(), draft.updated_at)


@pytest.mark.parametrize(
    ("name", "description", "field"),
    [
        ("导购\x00考核", "", "name"),
        ("x\ud800", "", "name"),
        ("导购考核", "monthly\x00", "description"),
        ("导购考核", "\udc00", "description"),
        ("n" * (checks.MAX_NAME_LENGTH + 1), "", "name"),
        ("导购考核", "d" * (checks.MAX_DESCRIPTION_LENGTH + 1), "description"),
    ],
)
async def test_names_and_descriptions_postgres_cannot_store_are_invalid(
    make_tenant: TenantFactory, name: str, description: str, field: str
) -> None:
    tenant = await make_tenant()
    with pytest.raises(SchemeError) as raised:
        await service.create_scheme(tenant.tenant_id, actor(tenant), name, description)
    assert [(p.code, p.field) for p in raised.value.problems] == [(SchemeErrorCode.INVALID, field)]
    if field == "name":
        with pytest.raises(SchemeError) as raised:
            await service.create_from_template(tenant.tenant_id, actor(tenant), TEMPLATES[0].key, name)
        assert [(p.code, p.field) for p in raised.value.problems] == [(SchemeErrorCode.INVALID, "name")]
    assert await service.list_schemes(tenant.tenant_id) == []
    assert await audit_of(tenant.tenant_id) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # the close failed later with an int64 overflow (and was retried every minute)
        (
            {"penalties": [{"key": "demote", "type": "demotion", "below_score": 60, "periods": 10**20}]},
            [(Code.VALUE_OUT_OF_RANGE, "penalties[0].periods")],
        ),
        # simulate failed: "target lists can have at most 1664 entries"
        (
            {
                "metrics": [
                    *example()["metrics"],
                    *({"key": f"m{index}", "aggregate": "count", "events": ["x"]} for index in range(10_000)),
                ]
            },
            [(Code.TOO_MANY_ITEMS, "metrics")],
        ),
        # the JSONB column refused it: "unsupported Unicode escape sequence" / "invalid input syntax for type json"
        ({"grades": [{"min": 0, "grade": "D\x00"}]}, [(Code.INVALID_TEXT, "grades[0].grade")]),
        ({"participants": {"roles": ["guide\ud800"]}}, [(Code.INVALID_TEXT, "participants.roles[0]")]),
        # JSON serialisation refused it: "Exceeds the limit (4300 digits) for integer string conversion"
        (
            {"penalties": [{"key": "p", "type": "per_event", "events": ["x"], "filter": {"n": 10**5000}, "amount": 1}]},
            [(Code.VALUE_OUT_OF_RANGE, "penalties[0].filter.n")],
        ),
    ],
)
async def test_a_config_beyond_its_bounds_is_refused_and_nothing_is_stored(
    make_tenant: TenantFactory, change: dict[str, Any], expected: list[tuple[Code, str]]
) -> None:
    tenant = await make_tenant()
    scheme = await new_scheme(tenant)
    audit_before = len(await audit_of(tenant.tenant_id))
    with pytest.raises(SchemeError) as raised:
        await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, {**example(), **change})
    assert [(p.detail, p.field) for p in raised.value.problems] == expected
    assert {p.code for p in raised.value.problems} == {SchemeErrorCode.INVALID_CONFIG}
    assert await versions_of(tenant.tenant_id, scheme.id) == []
    assert len(await audit_of(tenant.tenant_id)) == audit_before


async def test_invalid_json_text_is_one_problem(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme = await new_scheme(tenant)
    with pytest.raises(SchemeError) as raised:
        await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, '{"cycle": "month",')
    assert [(p.detail, p.field) for p in raised.value.problems] == [(Code.INVALID_JSON, "")]
    # valid JSON text is stored as the object it denotes
    draft = await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, json.dumps(example()))
    assert draft.config == example()


async def test_draft_is_edited_in_place_then_published(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme = await new_scheme(tenant)
    first = await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, example())
    assert (first.number, first.status, first.effective_from, first.created_by_user_id) == (
        1,
        "draft",
        None,
        tenant.admin_user_id,
    )

    edited_config = example()
    edited_config["metrics"][0]["target"] = 35
    edited = await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, edited_config)
    assert (edited.id, edited.number) == (first.id, 1)
    [stored] = await versions_of(tenant.tenant_id, scheme.id)
    assert stored.config["metrics"][0]["target"] == 35

    version = await service.publish_version(tenant.tenant_id, actor(tenant), first.id, date(2026, 10, 1))
    [stored] = await versions_of(tenant.tenant_id, scheme.id)
    assert (stored.status, stored.effective_from, stored.published_by_user_id) == (
        "published",
        date(2026, 10, 1),
        tenant.admin_user_id,
    )
    assert stored.published_at is not None and version.published_at == stored.published_at

    entries = [e for e in await audit_of(tenant.tenant_id) if e.entity == "scheme_version"]
    assert [e.action for e in entries] == [
        "scheme_version.create_draft",
        "scheme_version.update_draft",
        "scheme_version.publish",
    ]
    created, updated, publish = entries
    assert created.before is None and created.after["config"] == example()
    assert updated.before["config"]["metrics"][0]["target"] == 30
    assert updated.after["config"]["metrics"][0]["target"] == 35
    assert (publish.before["status"], publish.before["effective_from"]) == ("draft", None)
    assert (publish.after["status"], publish.after["effective_from"]) == ("published", "2026-10-01")
    assert publish.after["published_by_user_id"] == tenant.admin_user_id
    assert all(e.actor_user_id == tenant.admin_user_id and e.entity_id == first.id for e in entries)


async def test_saving_an_unchanged_draft_writes_nothing(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme = await new_scheme(tenant)
    await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, example())
    audit_count = len(await audit_of(tenant.tenant_id))
    await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, example())
    assert len(await audit_of(tenant.tenant_id)) == audit_count


async def test_a_published_version_never_changes(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme = await new_scheme(tenant)
    v1 = await published(tenant, scheme.id, date(2026, 10, 1))

    with pytest.raises(SchemeError) as raised:
        await service.publish_version(tenant.tenant_id, actor(tenant), v1.id, date(2027, 1, 1))
    assert raised.value.code == SchemeErrorCode.ALREADY_PUBLISHED

    # editing a published scheme opens version 2; version 1 stays as it was
    changed = example()
    changed["penalty_cap"] = 500
    v2 = await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, changed)
    assert (v2.number, v2.status) == (2, "draft")
    stored_v1, stored_v2 = await versions_of(tenant.tenant_id, scheme.id)
    assert (stored_v1.id, stored_v1.status, stored_v1.effective_from) == (v1.id, "published", date(2026, 10, 1))
    assert stored_v1.config == example()
    assert stored_v2.config["penalty_cap"] == 500


async def test_the_database_refuses_to_change_a_published_version(
    make_tenant: TenantFactory, app_conn: asyncpg.Connection
) -> None:
    tenant = await make_tenant()
    scheme = await new_scheme(tenant)
    v1 = await published(tenant, scheme.id, date(2026, 10, 1))
    draft = await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, example())

    async def as_app(sql: str, version_id: int) -> str:
        async with app_conn.transaction():
            await app_conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant.tenant_id))
            status: str = await app_conn.execute(sql, version_id)
            return status

    # the role sees and may change the draft (so a refusal below is the trigger, not RLS or grants)
    assert await as_app("UPDATE scheme_version SET config = '{}'::jsonb WHERE id = $1", draft.id) == "UPDATE 1"
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="published and cannot change"):
        await as_app("UPDATE scheme_version SET config = '{}'::jsonb WHERE id = $1", v1.id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="published and cannot change"):
        await as_app("UPDATE scheme_version SET status = 'draft' WHERE id = $1", v1.id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="published and cannot change"):
        await as_app("DELETE FROM scheme_version WHERE id = $1", v1.id)
    stored_v1 = (await versions_of(tenant.tenant_id, scheme.id))[0]
    assert (stored_v1.status, stored_v1.config) == ("published", example())


@pytest.mark.parametrize("state", ["closed", "closing", "stale"])
async def test_publishing_into_a_closed_period_is_refused(make_tenant: TenantFactory, state: str) -> None:
    tenant = await make_tenant()
    scheme = await new_scheme(tenant)
    await add_period(tenant.tenant_id, scheme.id, "2026-09", "closed")
    await add_period(tenant.tenant_id, scheme.id, "2026-10", state)
    await add_period(tenant.tenant_id, scheme.id, "2026-11", "open")
    draft = await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, example())
    audit_count = len(await audit_of(tenant.tenant_id))

    for refused in (date(2026, 10, 15), date(2026, 10, 31), date(2026, 10, 1), date(2026, 1, 1)):
        with pytest.raises(SchemeError) as raised:
            await service.publish_version(tenant.tenant_id, actor(tenant), draft.id, refused)
        assert (raised.value.code, raised.value.problems[0].field) == (SchemeErrorCode.PERIOD_CLOSED, "effectiveFrom")
        assert "2026-" in str(raised.value.problems[0].message)
    [stored] = await versions_of(tenant.tenant_id, scheme.id)
    assert (stored.status, stored.effective_from) == ("draft", None)
    assert len(await audit_of(tenant.tenant_id)) == audit_count

    # the day after the last closed period is fine, even though an open period covers it
    version = await service.publish_version(tenant.tenant_id, actor(tenant), draft.id, date(2026, 11, 1))
    assert version.effective_from == date(2026, 11, 1)


async def test_the_closed_period_check_uses_the_configs_timezone(make_tenant: TenantFactory) -> None:
    # New York's October ends 2026-11-01T04:00Z. Read in Shanghai time, 2026-11-01 would start at 2026-10-31T16:00Z,
    # inside that window, and be refused wrongly; 2026-10-31 would start in New York at 04:00Z, inside it: refused.
    tenant = await make_tenant()
    scheme = await new_scheme(tenant)
    await add_period(tenant.tenant_id, scheme.id, "2026-10", "closed", timezone="America/New_York")
    config = example()
    config["timezone"] = "America/New_York"
    draft = await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, config)
    with pytest.raises(SchemeError) as raised:
        await service.publish_version(tenant.tenant_id, actor(tenant), draft.id, date(2026, 10, 31))
    assert raised.value.code == SchemeErrorCode.PERIOD_CLOSED
    version = await service.publish_version(tenant.tenant_id, actor(tenant), draft.id, date(2026, 11, 1))
    assert version.status == "published"


async def test_closed_periods_of_other_schemes_do_not_block(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme, other = await new_scheme(tenant), await new_scheme(tenant, "other")
    await add_period(tenant.tenant_id, other.id, "2026-10", "closed")
    version = await published(tenant, scheme.id, date(2026, 10, 1))
    assert version.status == "published"


async def test_version_in_force_is_the_latest_effective_at_the_period_start(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme = await new_scheme(tenant)
    v1 = await published(tenant, scheme.id, date(2026, 1, 1))
    v2 = await published(tenant, scheme.id, date(2026, 10, 1), penalty_cap=900)
    v3 = await published(tenant, scheme.id, date(2026, 10, 1), penalty_cap=800)  # same date: the higher number wins
    v4 = await published(tenant, scheme.id, date(2026, 12, 1), penalty_cap=700)
    # published out of date order: number does not decide, the effective date does
    v5 = await published(tenant, scheme.id, date(2026, 6, 1), penalty_cap=600)
    await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, example())  # drafts are never in force
    assert [v.number for v in (v1, v2, v3, v4, v5)] == [1, 2, 3, 4, 5]

    async def in_force(key: str) -> int | None:
        starts_at, _ = period_window("month", key, "Asia/Shanghai")
        found = await service.version_in_force(tenant.tenant_id, scheme.id, starts_at)
        return found.number if found else None

    assert await in_force("2025-12") is None
    assert await in_force("2026-01") == 1
    assert await in_force("2026-05") == 1
    assert await in_force("2026-06") == 5
    assert await in_force("2026-09") == 5
    assert await in_force("2026-10") == 3
    assert await in_force("2026-11") == 3
    assert await in_force("2026-12") == 4
    assert await in_force("2027-03") == 4

    # effective dates are local: 2026-10-01 begins at 2026-09-30T16:00Z in Shanghai
    october = datetime(2026, 9, 30, 16, tzinfo=UTC)
    found = await service.version_in_force(tenant.tenant_id, scheme.id, october)
    assert found is not None and found.number == 3
    found = await service.version_in_force(tenant.tenant_id, scheme.id, october - timedelta(seconds=1))
    assert found is not None and found.number == 5
    found = await service.version_in_force(tenant.tenant_id, scheme.id, date(2026, 10, 1))
    assert found is not None and found.number == 3
    with pytest.raises(ValueError, match="aware"):
        await service.version_in_force(tenant.tenant_id, scheme.id, datetime(2026, 10, 1))  # noqa: DTZ001


async def test_create_from_template(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    for template in TEMPLATES:
        created = await service.create_from_template(tenant.tenant_id, actor(tenant), template.key, f"{template.key}!")
        assert (created.scheme.name, created.scheme.description) == (f"{template.key}!", template.description)
        [draft] = await versions_of(tenant.tenant_id, created.scheme.id)
        assert (draft.id, draft.number, draft.status) == (created.draft.id, 1, "draft")
        assert draft.config == get_template(template.key).config
    named_by_template = await service.create_from_template(tenant.tenant_id, actor(tenant), TEMPLATES[0].key)
    assert named_by_template.scheme.name == TEMPLATES[0].name

    actions = [(e.action, e.entity) for e in await audit_of(tenant.tenant_id)]
    assert actions == [("scheme.create", "scheme"), ("scheme_version.create_draft", "scheme_version")] * (
        len(TEMPLATES) + 1
    )


async def test_unknown_template_stores_nothing(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    with pytest.raises(SchemeError) as raised:
        await service.create_from_template(tenant.tenant_id, actor(tenant), "no_such_template", "x")
    assert (raised.value.code, raised.value.problems[0].field) == (SchemeErrorCode.UNKNOWN_TEMPLATE, "templateKey")
    with pytest.raises(SchemeError) as raised:
        await service.create_from_template(tenant.tenant_id, actor(tenant), "\x00" + "k" * 100_000, "x")
    assert raised.value.code == SchemeErrorCode.UNKNOWN_TEMPLATE
    for locale in ("en", "zh-CN"):
        shown = raised.value.problems[0].message.render(locale)
        assert len(shown) < 100 and "\x00" not in shown
    assert await service.list_schemes(tenant.tenant_id) == []


async def test_template_configs_are_not_shared_with_stored_drafts(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    original = copy.deepcopy(TEMPLATES[0].config)
    created = await service.create_from_template(tenant.tenant_id, actor(tenant), TEMPLATES[0].key)
    created.draft.config["metrics"].clear()
    assert TEMPLATES[0].config == original


async def test_another_tenants_scheme_is_not_found(make_tenant: TenantFactory) -> None:
    a, b = await make_tenant(), await make_tenant()
    b_scheme = await new_scheme(b)
    b_draft = await service.save_draft(b.tenant_id, actor(b), b_scheme.id, example())
    b_published = await published(b, b_scheme.id, date(2026, 1, 1))  # edits and publishes b_draft
    b_draft = await service.save_draft(b.tenant_id, actor(b), b_scheme.id, {**example(), "penalty_cap": 1})
    b_before = [(v.id, v.status, v.config, v.effective_from) for v in await versions_of(b.tenant_id, b_scheme.id)]

    assert await service.get_scheme(a.tenant_id, b_scheme.id) is None
    assert await service.list_schemes(a.tenant_id) == []
    assert await service.versions_by_scheme(a.tenant_id, [b_scheme.id]) == {}
    assert await service.version_in_force(a.tenant_id, b_scheme.id, date(2026, 6, 1)) is None
    for attempt in (
        service.save_draft(a.tenant_id, actor(a), b_scheme.id, example()),
        service.publish_version(a.tenant_id, actor(a), b_draft.id, date(2027, 1, 1)),
        service.publish_version(a.tenant_id, actor(a), b_published.id, date(2027, 1, 1)),
    ):
        with pytest.raises(SchemeError) as raised:
            await attempt
        assert raised.value.code == SchemeErrorCode.NOT_FOUND

    after = [(v.id, v.status, v.config, v.effective_from) for v in await versions_of(b.tenant_id, b_scheme.id)]
    assert after == b_before
    assert await audit_of(a.tenant_id) == []
    async with tenant_unit_of_work(a.tenant_id):
        assert await SchemeVersion.filter(scheme_id=b_scheme.id).count() == 0  # RLS, even without a tenant filter


def test_pick_version_in_force_is_pure_and_ignores_drafts() -> None:
    def version(number: int, status: str, effective: date | None) -> SchemeVersion:
        return SchemeVersion(number=number, status=status, effective_from=effective, config={"timezone": "UTC"})

    versions = [
        version(1, "published", date(2026, 1, 1)),
        version(2, "draft", None),
        version(3, "published", date(2026, 3, 1)),
    ]
    picked = service.pick_version_in_force(versions, datetime(2026, 3, 1, tzinfo=UTC))
    assert picked is not None and picked.number == 3
    picked = service.pick_version_in_force(versions, datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    assert picked is not None and picked.number == 1
    assert service.pick_version_in_force(versions, date(2025, 12, 31)) is None


async def test_an_unusable_effective_date_is_invalid(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    scheme = await new_scheme(tenant)
    draft = await service.save_draft(tenant.tenant_id, actor(tenant), scheme.id, example())
    # 0001-01-01: its first instant in Shanghai lies before the first representable UTC datetime; 9999-12-31 was
    # stored, a version no period could ever use; both lie outside the range events may occur in, as do the others
    for unusable in (date(1, 1, 1), date(1969, 12, 31), date(2200, 1, 1), date(9999, 12, 31)):
        with pytest.raises(SchemeError) as raised:
            await service.publish_version(tenant.tenant_id, actor(tenant), draft.id, unusable)
        assert (raised.value.code, raised.value.problems[0].field) == (SchemeErrorCode.INVALID, "effectiveFrom")
    [stored] = await versions_of(tenant.tenant_id, scheme.id)
    assert stored.status == "draft"
    for usable in (checks.EARLIEST_EFFECTIVE_DATE, checks.LATEST_EFFECTIVE_DATE):
        other = await new_scheme(tenant, f"scheme from {usable}")
        version = await published(tenant, other.id, usable)
        assert (version.status, version.effective_from) == ("published", usable)

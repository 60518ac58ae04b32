"""Schemes through the GraphQL API: validation, drafts, publishing, templates, permissions, tenant isolation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

import pytest

from schema import build_schema
from server.settings import Settings
from tenants.audit.models import AuditEntry
from tenants.audit.service import Actor
from tenants.db.uow import platform_unit_of_work, tenant_unit_of_work
from tenants.rules.calendar import period_window
from tenants.rules.config import SchemeConfigErrorCode
from tenants.schemes import service
from tenants.schemes.errors import SchemeErrorCode
from tenants.schemes.models import SchemeVersion
from tenants.schemes.templates import TEMPLATES
from tenants.tenancy.auth import Role
from tenants.tenancy.identity import TenantId
from tenants.tenancy.models import Tenant
from tests.conftest import GraphQL, TenantFactory
from tests.schemes.test_config import DESIGN_EXAMPLE_JSON, example
from tests.schemes.test_service import add_period, invalid_config

Login = Callable[..., Awaitable[str]]

VERSION_FIELDS = "id number status effectiveFrom config createdAt publishedAt"
ERRORS = "... on SchemeErrors { errors { field message code configCode } }"


VALIDATE = "query($config: JSON!) { validateSchemeConfig(config: $config) { field message code } }"
SCHEMES = f"""
query($active: Boolean) {{
  schemes(active: $active) {{ id name active versions {{ {VERSION_FIELDS} }} currentVersion {{ id number }} }}
}}
"""
SCHEME = f"""
query($id: ID!) {{
  scheme(id: $id) {{ id name description active versions {{ {VERSION_FIELDS} }} currentVersion {{ id number }} }}
}}
"""
TEMPLATES_QUERY = "{ schemeTemplates { key name description config } }"
CREATE = f"""
mutation($name: String!, $description: String!) {{
  createScheme(name: $name, description: $description) {{
    __typename
    ... on SchemeCreated {{ scheme {{ id name description active versions {{ id }} }} }}
    {ERRORS}
  }}
}}
"""
SAVE = f"""
mutation($schemeId: ID!, $config: JSON!) {{
  saveSchemeDraft(schemeId: $schemeId, config: $config) {{
    __typename
    ... on SchemeDraftSaved {{ version {{ {VERSION_FIELDS} }} }}
    {ERRORS}
  }}
}}
"""
PUBLISH = f"""
mutation($versionId: ID!, $effectiveFrom: Date!) {{
  publishSchemeVersion(versionId: $versionId, effectiveFrom: $effectiveFrom) {{
    __typename
    ... on SchemeVersionPublished {{ version {{ {VERSION_FIELDS} }} }}
    {ERRORS}
  }}
}}
"""
FROM_TEMPLATE = f"""
mutation($templateKey: String!, $name: String) {{
  createSchemeFromTemplate(templateKey: $templateKey, name: $name) {{
    __typename
    ... on SchemeCreatedFromTemplate {{ scheme {{ id name description versions {{ id number status }} }}
                                       draft {{ id number status config }} }}
    {ERRORS}
  }}
}}
"""


async def admin_token(make_tenant: TenantFactory, login: Login, role: Role = Role.ADMIN) -> tuple[TenantId, str]:
    tenant = await make_tenant(role=role)
    return tenant.tenant_id, await login(tenant.admin_email)


async def create(gql: GraphQL, token: str, name: str = "导购考核") -> str:
    body = await gql(CREATE, {"name": name, "description": "monthly"}, token=token)
    result = body["data"]["createScheme"]
    assert result["__typename"] == "SchemeCreated", result
    return str(result["scheme"]["id"])


async def save(gql: GraphQL, token: str, scheme_id: str, config: Any) -> dict[str, Any]:
    body = await gql(SAVE, {"schemeId": scheme_id, "config": config}, token=token)
    result: dict[str, Any] = body["data"]["saveSchemeDraft"]
    return result


async def publish(gql: GraphQL, token: str, version_id: str, effective_from: str) -> dict[str, Any]:
    body = await gql(PUBLISH, {"versionId": version_id, "effectiveFrom": effective_from}, token=token)
    result: dict[str, Any] = body["data"]["publishSchemeVersion"]
    return result


async def count_versions(tenant_id: TenantId) -> int:
    async with tenant_unit_of_work(tenant_id):
        return await SchemeVersion.filter(tenant_id=tenant_id).count()


def forbidden(body: dict[str, Any]) -> bool:
    return body.get("data") is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_design_example_validates(make_tenant: TenantFactory, login: Login, gql: GraphQL) -> None:
    _, token = await admin_token(make_tenant, login, Role.MANAGER)
    body = await gql(VALIDATE, {"config": example()}, token=token)
    assert body == {"data": {"validateSchemeConfig": []}}
    # the JSON text itself (as an admin console might send it) is accepted too
    body = await gql(VALIDATE, {"config": DESIGN_EXAMPLE_JSON}, token=token)
    assert body == {"data": {"validateSchemeConfig": []}}


async def test_validate_reports_every_problem(make_tenant: TenantFactory, login: Login, gql: GraphQL) -> None:
    _, token = await admin_token(make_tenant, login, Role.MANAGER)
    body = await gql(VALIDATE, {"config": invalid_config()}, token=token)
    problems = body["data"]["validateSchemeConfig"]
    assert {(p["code"], p["field"]) for p in problems} == {
        ("WEIGHTS_NOT_100", "metrics"),
        ("UNKNOWN_METRIC", "rewards[0].base"),
        ("NEGATIVE_AMOUNT", "penalties[0].amount"),
    }
    assert all(p["message"] for p in problems)
    body = await gql(VALIDATE, {"config": [1, 2]}, token=token)
    assert [p["code"] for p in body["data"]["validateSchemeConfig"]] == ["INVALID_TYPE"]


async def test_invalid_draft_is_rejected_whole_and_nothing_stored(
    make_tenant: TenantFactory, login: Login, gql: GraphQL
) -> None:
    tenant_id, token = await admin_token(make_tenant, login)
    scheme_id = await create(gql, token)
    before = await count_versions(tenant_id)

    result = await save(gql, token, scheme_id, invalid_config())
    assert result["__typename"] == "SchemeErrors"
    assert {(e["code"], e["configCode"], e["field"]) for e in result["errors"]} == {
        ("INVALID_CONFIG", "WEIGHTS_NOT_100", "metrics"),
        ("INVALID_CONFIG", "UNKNOWN_METRIC", "rewards[0].base"),
        ("INVALID_CONFIG", "NEGATIVE_AMOUNT", "penalties[0].amount"),
    }
    assert await count_versions(tenant_id) == before == 0
    body = await gql(SCHEME, {"id": scheme_id}, token=token)
    assert body["data"]["scheme"]["versions"] == []


async def test_configs_beyond_their_bounds_are_refused_with_codes(
    make_tenant: TenantFactory, login: Login, gql: GraphQL
) -> None:
    tenant_id, token = await admin_token(make_tenant, login)
    scheme_id = await create(gql, token)
    never_closes = {
        **example(),
        "metrics": [
            *example()["metrics"],
            *({"key": f"m{index}", "aggregate": "count", "events": ["x"]} for index in range(10_000)),
        ],
        "penalties": [{"key": "demote", "type": "demotion", "below_score": 60, "periods": 10**20}],
    }
    result = await save(gql, token, scheme_id, never_closes)
    assert result["__typename"] == "SchemeErrors"
    assert [(e["code"], e["configCode"], e["field"]) for e in result["errors"]] == [
        ("INVALID_CONFIG", "TOO_MANY_ITEMS", "metrics"),
        ("INVALID_CONFIG", "VALUE_OUT_OF_RANGE", "penalties[0].periods"),
    ]
    assert await count_versions(tenant_id) == 0

    body = await gql(VALIDATE, {"config": {**example(), "penalty_cap": "1000.001"}}, token=token)
    [problem] = body["data"]["validateSchemeConfig"]
    assert (problem["field"], problem["code"]) == ("penalty_cap", "TOO_MANY_DECIMALS")
    assert (
        problem["message"] == "金额 1000.001 超过 2 位小数（金额精确到分）"
    )  # the tenant's language: zh-CN by default


async def test_draft_edit_then_publish(make_tenant: TenantFactory, login: Login, gql: GraphQL) -> None:
    tenant_id, token = await admin_token(make_tenant, login)
    scheme_id = await create(gql, token)

    first = await save(gql, token, scheme_id, example())
    assert first["__typename"] == "SchemeDraftSaved", first
    draft = first["version"]
    assert (draft["number"], draft["status"], draft["effectiveFrom"], draft["publishedAt"]) == (1, "DRAFT", None, None)
    assert draft["config"] == example()

    edited = example()
    edited["metrics"][0]["target"] = 35
    second = await save(gql, token, scheme_id, edited)
    assert (second["version"]["id"], second["version"]["number"]) == (draft["id"], 1)
    assert second["version"]["config"]["metrics"][0]["target"] == 35

    # nothing is in force while the only version is a draft
    body = await gql(SCHEME, {"id": scheme_id}, token=token)
    assert body["data"]["scheme"]["currentVersion"] is None

    done = await publish(gql, token, draft["id"], "2026-01-01")
    assert done["__typename"] == "SchemeVersionPublished", done
    assert (done["version"]["status"], done["version"]["effectiveFrom"]) == ("PUBLISHED", "2026-01-01")
    assert done["version"]["publishedAt"] is not None

    again = await publish(gql, token, draft["id"], "2027-01-01")
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("ALREADY_PUBLISHED", "versionId")]

    # a save after publishing opens version 2; version 1 stays as published
    third = await save(gql, token, scheme_id, example())
    assert (third["version"]["number"], third["version"]["status"]) == (2, "DRAFT")
    body = await gql(SCHEME, {"id": scheme_id}, token=token)
    scheme = body["data"]["scheme"]
    assert [(v["number"], v["status"], v["effectiveFrom"]) for v in scheme["versions"]] == [
        (1, "PUBLISHED", "2026-01-01"),
        (2, "DRAFT", None),
    ]
    assert scheme["versions"][0]["config"]["metrics"][0]["target"] == 35
    assert scheme["currentVersion"] == {"id": draft["id"], "number": 1}

    async with tenant_unit_of_work(tenant_id):
        entries = await AuditEntry.filter(tenant_id=tenant_id).order_by("id")
    assert [entry.action for entry in entries] == [
        "scheme.create",
        "scheme_version.create_draft",
        "scheme_version.update_draft",
        "scheme_version.publish",
        "scheme_version.create_draft",
    ]


async def test_several_mutations_in_one_document_see_fresh_versions(
    make_tenant: TenantFactory, login: Login, gql: GraphQL
) -> None:
    # the per-request versions loader must not serve what it cached before a later change of the same request
    _, token = await admin_token(make_tenant, login)
    scheme_id = await create(gql, token)
    draft = (await save(gql, token, scheme_id, example()))["version"]
    body = await gql(
        """
        mutation($id: ID!, $versionId: ID!, $config: JSON!) {
          a: publishSchemeVersion(versionId: $versionId, effectiveFrom: "2026-01-01") {
            ... on SchemeVersionPublished { scheme { versions { number status } } }
          }
          b: saveSchemeDraft(schemeId: $id, config: $config) {
            ... on SchemeDraftSaved { scheme { versions { number status } currentVersion { number } } }
          }
        }
        """,
        {"id": scheme_id, "versionId": draft["id"], "config": {**example(), "penalty_cap": 1}},
        token=token,
    )
    assert body["data"]["a"]["scheme"]["versions"] == [{"number": 1, "status": "PUBLISHED"}]
    assert body["data"]["b"]["scheme"] == {
        "versions": [{"number": 1, "status": "PUBLISHED"}, {"number": 2, "status": "DRAFT"}],
        "currentVersion": {"number": 1},
    }


async def test_publish_into_a_closed_period_is_refused(make_tenant: TenantFactory, login: Login, gql: GraphQL) -> None:
    tenant_id, token = await admin_token(make_tenant, login)
    scheme_id = await create(gql, token)
    await add_period(tenant_id, int(scheme_id), "2026-10", "closed")
    draft = (await save(gql, token, scheme_id, example()))["version"]

    refused = await publish(gql, token, draft["id"], "2026-10-20")
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("PERIOD_CLOSED", "effectiveFrom")]
    assert "2026-10" in refused["errors"][0]["message"]
    body = await gql(SCHEME, {"id": scheme_id}, token=token)
    assert [v["status"] for v in body["data"]["scheme"]["versions"]] == ["DRAFT"]

    accepted = await publish(gql, token, draft["id"], "2026-11-01")
    assert accepted["__typename"] == "SchemeVersionPublished"


async def test_current_version_is_the_one_in_force_now(make_tenant: TenantFactory, login: Login, gql: GraphQL) -> None:
    _, token = await admin_token(make_tenant, login)
    scheme_id = await create(gql, token)
    v1 = (await save(gql, token, scheme_id, example()))["version"]
    await publish(gql, token, v1["id"], "2020-01-01")
    v2 = (await save(gql, token, scheme_id, {**example(), "penalty_cap": 900}))["version"]
    await publish(gql, token, v2["id"], "9000-01-01")  # published, but not effective yet
    body = await gql(SCHEME, {"id": scheme_id}, token=token)
    assert body["data"]["scheme"]["currentVersion"] == {"id": v1["id"], "number": 1}


async def test_templates_are_listed_and_create_a_scheme(make_tenant: TenantFactory, login: Login, gql: GraphQL) -> None:
    tenant_id, token = await admin_token(make_tenant, login)
    body = await gql(TEMPLATES_QUERY, token=token)
    templates = body["data"]["schemeTemplates"]
    assert len(templates) >= 3
    assert [t["key"] for t in templates] == [t.key for t in TEMPLATES]
    for template in templates:
        assert (await gql(VALIDATE, {"config": template["config"]}, token=token))["data"]["validateSchemeConfig"] == []

    body = await gql(FROM_TEMPLATE, {"templateKey": "store_guide_new_customers", "name": "一号店导购"}, token=token)
    result = body["data"]["createSchemeFromTemplate"]
    assert result["__typename"] == "SchemeCreatedFromTemplate", result
    assert result["scheme"]["name"] == "一号店导购"
    assert result["scheme"]["versions"] == [{"id": result["draft"]["id"], "number": 1, "status": "DRAFT"}]
    assert result["draft"]["config"] == templates[0]["config"] == example()

    # the draft can be published as it is
    done = await publish(gql, token, result["draft"]["id"], "2026-01-01")
    assert done["__typename"] == "SchemeVersionPublished"

    unknown = await gql(FROM_TEMPLATE, {"templateKey": "nope"}, token=token)
    errors = unknown["data"]["createSchemeFromTemplate"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("UNKNOWN_TEMPLATE", "templateKey")]
    assert len(await service.list_schemes(tenant_id)) == 1


async def test_schemes_filter_by_active(make_tenant: TenantFactory, login: Login, gql: GraphQL) -> None:
    _, token = await admin_token(make_tenant, login)
    first = await create(gql, token, "b")
    second = await create(gql, token, "a")
    body = await gql(SCHEMES, {"active": True}, token=token)
    assert [s["id"] for s in body["data"]["schemes"]] == [second, first]  # by name
    body = await gql(SCHEMES, {"active": False}, token=token)
    assert body["data"]["schemes"] == []


async def test_versions_of_all_schemes_load_in_one_query(
    make_tenant: TenantFactory, login: Login, gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = await admin_token(make_tenant, login)
    ids = [await create(gql, token, f"s{n}") for n in range(3)]
    for scheme_id in ids:
        await save(gql, token, scheme_id, example())

    calls: list[list[int]] = []
    real = service.versions_by_scheme

    async def counting(tenant_id: TenantId, scheme_ids: Sequence[int]) -> dict[int, list[SchemeVersion]]:
        calls.append(sorted(scheme_ids))
        return await real(tenant_id, scheme_ids)

    monkeypatch.setattr(service, "versions_by_scheme", counting)
    body = await gql(SCHEMES, token=token)
    assert [len(s["versions"]) for s in body["data"]["schemes"]] == [1, 1, 1]
    assert calls == [sorted(int(i) for i in ids)]  # versions and currentVersion of 3 schemes: one load


async def test_manager_reads_but_cannot_change(make_tenant: TenantFactory, login: Login, gql: GraphQL) -> None:
    tenant = await make_tenant(role=Role.MANAGER)
    token = await login(tenant.admin_email)
    assert (await gql(SCHEMES, token=token))["data"]["schemes"] == []
    assert len((await gql(TEMPLATES_QUERY, token=token))["data"]["schemeTemplates"]) >= 3

    assert forbidden(await gql(CREATE, {"name": "x", "description": ""}, token=token))
    assert forbidden(await gql(FROM_TEMPLATE, {"templateKey": TEMPLATES[0].key}, token=token))
    scheme = await service.create_scheme(tenant.tenant_id, Actor(), "made by the system")
    draft = await service.save_draft(tenant.tenant_id, Actor(), scheme.id, example())
    assert forbidden(await gql(SAVE, {"schemeId": str(scheme.id), "config": {"cycle": "week"}}, token=token))
    assert forbidden(await gql(PUBLISH, {"versionId": str(draft.id), "effectiveFrom": "2026-01-01"}, token=token))

    assert [s.id for s in await service.list_schemes(tenant.tenant_id)] == [scheme.id]
    async with tenant_unit_of_work(tenant.tenant_id):
        [stored] = await SchemeVersion.filter(tenant_id=tenant.tenant_id)
    assert (stored.id, stored.status, stored.config) == (draft.id, "draft", example())


async def test_staff_cannot_read_schemes(make_tenant: TenantFactory, login: Login, gql: GraphQL) -> None:
    _, token = await admin_token(make_tenant, login, Role.STAFF)
    assert forbidden(await gql(SCHEMES, token=token))
    assert forbidden(await gql(VALIDATE, {"config": example()}, token=token))


async def test_unauthenticated_is_refused(gql: GraphQL) -> None:
    body = await gql(SCHEMES)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_another_tenants_scheme_is_invisible_and_untouchable(
    make_tenant: TenantFactory, login: Login, gql: GraphQL
) -> None:
    a_id, a_token = await admin_token(make_tenant, login)
    b_id, b_token = await admin_token(make_tenant, login)
    b_scheme = await create(gql, b_token, "B's scheme")
    b_published = (await save(gql, b_token, b_scheme, example()))["version"]
    await publish(gql, b_token, b_published["id"], "2026-01-01")
    b_draft = (await save(gql, b_token, b_scheme, {**example(), "penalty_cap": 1}))["version"]
    b_before = (await gql(SCHEME, {"id": b_scheme}, token=b_token))["data"]["scheme"]

    assert (await gql(SCHEME, {"id": b_scheme}, token=a_token))["data"]["scheme"] is None
    assert (await gql(SCHEME, {"id": "not-a-number"}, token=a_token))["data"]["scheme"] is None
    assert (await gql(SCHEMES, token=a_token))["data"]["schemes"] == []

    saved = await save(gql, a_token, b_scheme, example())
    assert [(e["code"], e["field"]) for e in saved["errors"]] == [("NOT_FOUND", "schemeId")]
    for version_id in (b_draft["id"], b_published["id"], "junk"):
        refused = await publish(gql, a_token, version_id, "2027-01-01")
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", "versionId")]

    assert (await gql(SCHEME, {"id": b_scheme}, token=b_token))["data"]["scheme"] == b_before
    assert await count_versions(a_id) == 0
    assert await count_versions(b_id) == 2


async def test_period_window_matches_what_publishing_checks(make_tenant: TenantFactory) -> None:
    # a period inserted by the close stores its window from period_window; the publish check compares against it
    tenant = await make_tenant()
    scheme = await service.create_scheme(tenant.tenant_id, Actor(), "s")
    period = await add_period(tenant.tenant_id, scheme.id, "2026-10", "closed")
    assert (period.starts_at, period.ends_at) == period_window("month", "2026-10", "Asia/Shanghai")
    draft = await service.save_draft(tenant.tenant_id, Actor(), scheme.id, example())
    published = await service.publish_version(tenant.tenant_id, Actor(), draft.id, date(2026, 11, 1))
    assert published.effective_from == date(2026, 11, 1)


def _sdl_block(sdl: str, header: str) -> list[str]:
    block = sdl[sdl.index(header + " {") :]
    return [line.strip() for line in block[: block.index("}")].splitlines()[1:] if line.strip()]


def test_the_sdl_types_every_scheme_error_code(settings: Settings) -> None:
    sdl = build_schema(settings).as_str()
    error = _sdl_block(sdl, "type SchemeError implements Problem")
    assert {"field: String", "message: String!", "code: SchemeErrorCode!", "configCode: SchemeConfigErrorCode"} <= set(
        error
    )
    config_error = _sdl_block(sdl, "type SchemeConfigError implements Problem")
    assert {"field: String!", "message: String!", "code: SchemeConfigErrorCode!"} <= set(config_error)
    assert set(_sdl_block(sdl, "enum SchemeErrorCode")) == {code.value for code in SchemeErrorCode}
    assert set(_sdl_block(sdl, "enum SchemeConfigErrorCode")) == {code.value for code in SchemeConfigErrorCode}


WEIGHTS = "metrics"  # the field of the WEIGHTS_NOT_100 problem of invalid_config()


async def test_messages_are_in_the_tenants_language_chinese_by_default(
    make_tenant: TenantFactory, login: Login, gql: GraphQL
) -> None:
    tenant_id, token = await admin_token(make_tenant, login)
    scheme_id = await create(gql, token)

    async def messages() -> tuple[str, str, str, str]:
        saved = await save(gql, token, scheme_id, invalid_config())
        [weights] = [e for e in saved["errors"] if e["field"] == WEIGHTS]
        assert (weights["code"], weights["configCode"]) == ("INVALID_CONFIG", "WEIGHTS_NOT_100")
        body = await gql(VALIDATE, {"config": invalid_config()}, token=token)
        [validated] = [p for p in body["data"]["validateSchemeConfig"] if p["field"] == WEIGHTS]
        assert validated["code"] == "WEIGHTS_NOT_100"
        unnamed = (await gql(CREATE, {"name": " ", "description": ""}, token=token))["data"]["createScheme"]
        assert [(e["code"], e["configCode"], e["field"]) for e in unnamed["errors"]] == [("INVALID", None, "name")]
        unknown = (await gql(FROM_TEMPLATE, {"templateKey": "nope"}, token=token))["data"]["createSchemeFromTemplate"]
        assert [e["code"] for e in unknown["errors"]] == ["UNKNOWN_TEMPLATE"]
        return (
            weights["message"],
            validated["message"],
            unnamed["errors"][0]["message"],
            unknown["errors"][0]["message"],
        )

    assert await messages() == (
        "计分指标的权重合计为 110，必须等于 100",
        "计分指标的权重合计为 110，必须等于 100",
        "考核方案需要名称。",
        "没有模板 'nope'。",
    )

    async with platform_unit_of_work():
        await Tenant.filter(id=tenant_id).update(settings={"locale": "en"})
    assert await messages() == (
        "Weights of scored metrics add up to 110; they must be 100",
        "Weights of scored metrics add up to 110; they must be 100",
        "A scheme needs a name.",
        "No template 'nope'.",
    )
    # codes never change with the language, and nothing was stored either time
    assert await count_versions(tenant_id) == 0
    assert [s.id for s in await service.list_schemes(tenant_id)] == [int(scheme_id)]

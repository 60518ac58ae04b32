"""tenants/tenancy/repository.py runs on the caller's unit of work: what a statement sees is what that unit of work
may see (RLS), and the SECURITY DEFINER lookups are the only ways across tenants."""

from __future__ import annotations

from tenants.db.uow import global_unit_of_work, platform_unit_of_work, tenant_unit_of_work
from tenants.tenancy import repository, service
from tenants.tenancy.auth import Role, Scope
from tests.conftest import TenantFactory, unique


async def test_tenant_statements_see_only_the_unit_of_works_tenant(make_tenant: TenantFactory) -> None:
    a, b = await make_tenant(), await make_tenant()
    await service.create_api_key(b.tenant_id, "b-key", [Scope.EVENTS_READ], b.admin_user_id)
    async with tenant_unit_of_work(a.tenant_id) as conn:
        # The other tenant's rows, even asked for by its id: RLS answers nothing.
        assert await repository.api_keys(conn, b.tenant_id) == []
        assert await repository.membership_of(conn, b.admin_user_id) is None
        assert await repository.locale_setting(conn, b.tenant_id) is None
        assert (await repository.membership_of(conn, a.admin_user_id)) is not None
    async with tenant_unit_of_work(b.tenant_id) as conn:
        assert [key.name for key in await repository.api_keys(conn, b.tenant_id)] == ["b-key"]


async def test_tenant_tables_read_empty_in_the_global_unit_of_work(make_tenant: TenantFactory) -> None:
    a = await make_tenant()
    await service.create_api_key(a.tenant_id, "k", [Scope.EVENTS_READ], a.admin_user_id)
    async with global_unit_of_work() as conn:
        assert await repository.api_keys(conn, a.tenant_id) == []
        assert await repository.membership_of(conn, a.admin_user_id) is None


async def test_security_definer_lookups_cross_tenants_on_purpose(make_tenant: TenantFactory) -> None:
    a, b = await make_tenant(), await make_tenant()
    await service.add_membership(b.tenant_id, a.admin_user_id, Role.STAFF)
    created = await service.create_api_key(b.tenant_id, "k", [Scope.STAFF_READ, Scope.EVENTS_WRITE], b.admin_user_id)
    async with global_unit_of_work() as conn:
        memberships = await repository.memberships_of_user(conn, a.admin_user_id)
        user = await repository.active_user_with_memberships(conn, a.admin_user_id)
        key = await repository.api_key_by_prefix(conn, created.api_key.prefix)
    assert [(m.tenant_id, m.role) for m in memberships] == [(a.tenant_id, "admin"), (b.tenant_id, "staff")]
    assert user is not None and user.memberships == tuple(memberships)
    assert key is not None
    assert (key.id, key.tenant_id, key.revoked_at) == (created.api_key.id, b.tenant_id, None)
    assert key.scopes == ["events:write", "staff:read"]  # jsonb decoded, as stored (sorted)


async def test_a_user_without_memberships_and_an_unknown_user(make_tenant: TenantFactory) -> None:
    email = f"{unique('loner')}@example.com"
    loner = await service.create_user(email, "long enough password")
    async with global_unit_of_work() as conn:
        user = await repository.active_user_with_memberships(conn, loner.id)
        nobody = await repository.active_user_with_memberships(conn, 2**62)
        no_key = await repository.api_key_by_prefix(conn, "no-such-prefix")
    assert user is not None and (user.email, user.memberships) == (email, ())
    assert nobody is None and no_key is None


async def test_the_tenant_table_in_the_platform_unit_of_work(make_tenant: TenantFactory) -> None:
    a = await make_tenant()
    async with platform_unit_of_work() as conn:
        found = await repository.tenant_with_slug(conn, a.slug)
        assert await repository.tenant_slug_exists(conn, a.slug)
        assert not await repository.tenant_slug_exists(conn, "no-such-tenant")
    assert found is not None and found.id == a.tenant_id


async def test_a_taken_prefix_inserts_nothing(make_tenant: TenantFactory) -> None:
    a = await make_tenant()
    created = await service.create_api_key(a.tenant_id, "first", [Scope.EVENTS_READ], a.admin_user_id)
    async with tenant_unit_of_work(a.tenant_id) as conn:
        again = await repository.insert_api_key(
            conn,
            a.tenant_id,
            name="second",
            prefix=created.api_key.prefix,
            secret_hash="other",
            scopes=["events:read"],
            created_by_user_id=None,
        )
    assert again is None
    assert [key.name for key in await service.list_api_keys(a.tenant_id)] == ["first"]

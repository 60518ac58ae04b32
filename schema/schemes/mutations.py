"""SchemesMutation: create a scheme (blank or from a template), save a draft, publish a version. Changes need an
admin; each calls one service entry point and answers its SchemeError as SchemeErrors (another tenant's id is
NOT_FOUND)."""

from __future__ import annotations

from datetime import date

import strawberry

from schema.common import JSON, actor_of, parse_id
from schema.context import Info
from schema.permissions import tenant_access
from schema.schemes.loaders import forget_versions
from schema.schemes.types import (
    CreateSchemeFromTemplateResult,
    CreateSchemeResult,
    PublishSchemeVersionResult,
    SaveSchemeDraftResult,
    Scheme,
    SchemeCreated,
    SchemeCreatedFromTemplate,
    SchemeDraftSaved,
    SchemeErrors,
    SchemeVersion,
    SchemeVersionPublished,
)
from tenants.schemes import service
from tenants.schemes.errors import SchemeError, SchemeErrorCode
from tenants.schemes.models import SchemeVersion as SchemeVersionModel
from tenants.tenancy.auth import Role


async def _scheme_of(info: Info, version: SchemeVersionModel) -> Scheme:
    # the version's scheme, with its versions reloaded: several mutations of one document share the loader
    forget_versions(info, version.scheme_id)
    scheme = await service.get_scheme(info.context.tenant_id, version.scheme_id)
    assert scheme is not None  # it was just locked and changed in this tenant
    return Scheme.of(scheme)


@strawberry.type
class SchemesMutation:
    @strawberry.mutation(extensions=tenant_access(Role.ADMIN))
    async def create_scheme(self, info: Info, name: str, description: str = "") -> CreateSchemeResult:
        try:
            scheme = await service.create_scheme(info.context.tenant_id, actor_of(info), name, description)
        except SchemeError as error:
            return SchemeErrors.of(error)
        return SchemeCreated(scheme=Scheme.of(scheme))

    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description="Edit the scheme's draft, or open a new draft version when it has none. Invalid: nothing stored.",
    )
    async def save_scheme_draft(self, info: Info, scheme_id: strawberry.ID, config: JSON) -> SaveSchemeDraftResult:
        parsed_id = parse_id(scheme_id)
        try:
            if parsed_id is None:
                raise SchemeError.of(SchemeErrorCode.NOT_FOUND, service.NO_SUCH_SCHEME, "schemeId")
            version = await service.save_draft(info.context.tenant_id, actor_of(info), parsed_id, config)
        except SchemeError as error:
            return SchemeErrors.of(error)
        return SchemeDraftSaved(version=SchemeVersion.of(version), scheme=await _scheme_of(info, version))

    @strawberry.mutation(extensions=tenant_access(Role.ADMIN))
    async def publish_scheme_version(
        self, info: Info, version_id: strawberry.ID, effective_from: date
    ) -> PublishSchemeVersionResult:
        parsed_id = parse_id(version_id)
        try:
            if parsed_id is None:
                raise SchemeError.of(SchemeErrorCode.NOT_FOUND, service.NO_SUCH_VERSION, "versionId")
            version = await service.publish_version(info.context.tenant_id, actor_of(info), parsed_id, effective_from)
        except SchemeError as error:
            return SchemeErrors.of(error)
        return SchemeVersionPublished(version=SchemeVersion.of(version), scheme=await _scheme_of(info, version))

    @strawberry.mutation(
        extensions=tenant_access(Role.ADMIN),
        description="A new scheme with the template's config as its draft version 1 (name: the template's by default).",
    )
    async def create_scheme_from_template(
        self, info: Info, template_key: str, name: str | None = None
    ) -> CreateSchemeFromTemplateResult:
        try:
            created = await service.create_from_template(info.context.tenant_id, actor_of(info), template_key, name)
        except SchemeError as error:
            return SchemeErrors.of(error)
        return SchemeCreatedFromTemplate(scheme=Scheme.of(created.scheme), draft=SchemeVersion.of(created.draft))

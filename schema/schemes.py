"""GraphQL for schemes: schemes and versions, config validation, templates, drafts and publishing.

Errors: mutations return ``XResult = Success | SchemeErrors``. Each ``SchemeError`` implements the ``Problem``
interface (schema/errors.py): ``field``, ``message`` (rendered in the reader's language: the tenant's, Simplified
Chinese by default) and ``code`` (the ``SchemeErrorCode`` enum). An invalid config gives one error per problem with
``code: INVALID_CONFIG``, ``configCode`` (``SchemeConfigErrorCode``, the same codes ``validateSchemeConfig`` returns)
and ``field`` = the JSON path inside the config (``metrics[2].weight``; "" for the config itself). Two closed enums
instead of one merged enum: a client can switch on the kind of failure without knowing every config rule, and the
config codes stay owned by the config module. ``validateSchemeConfig`` answers ``SchemeConfigError``s, the same
``Problem`` with its ``SchemeConfigErrorCode`` as ``code``. All are built from ``tenants.errors.Problem``s.

Permissions: queries need a manager (or higher); changes need an admin. Another tenant's scheme is null / NOT_FOUND.
The versions of every scheme in a response come from one query (a per-request DataLoader).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import strawberry
from strawberry.dataloader import DataLoader

from schema.common import JSON, actor_of, parse_id
from schema.context import Info
from schema.errors import ProblemInterface, problem_fields
from schema.permissions import tenant_access
from tenants.errors import Problem
from tenants.rules.config import ConfigProblem, SchemeConfigErrorCode, validate_scheme_config
from tenants.schemes import service
from tenants.schemes.errors import SchemeError, SchemeErrorCode
from tenants.schemes.models import Scheme as SchemeModel
from tenants.schemes.models import SchemeVersion as SchemeVersionModel
from tenants.schemes.service import VersionStatus
from tenants.schemes.templates import TEMPLATES
from tenants.tenancy.auth import Role

# strawberry.enum registers the domain enums on the classes themselves, so annotations use the domain types.
strawberry.enum(SchemeErrorCode, name="SchemeErrorCode")
strawberry.enum(SchemeConfigErrorCode, name="SchemeConfigErrorCode")
strawberry.enum(VersionStatus, name="SchemeVersionStatus")

VERSIONS_LOADER = "schemes.versions"

VersionsLoader = DataLoader[int, list[SchemeVersionModel]]


def _versions_loader(info: Info) -> VersionsLoader:
    loaders = info.context.loaders
    loader = loaders.get(VERSIONS_LOADER)
    if loader is None:
        # bound to the caller's tenant when created, so it can never load another tenant's rows
        tenant_id = info.context.tenant_id

        async def load(scheme_ids: list[int]) -> list[list[SchemeVersionModel]]:
            grouped = await service.versions_by_scheme(tenant_id, scheme_ids)
            return [grouped.get(scheme_id, []) for scheme_id in scheme_ids]

        loader = loaders[VERSIONS_LOADER] = VersionsLoader(load_fn=load)
    assert isinstance(loader, DataLoader)
    return loader


@strawberry.type(name="SchemeError")
class SchemeErrorType(ProblemInterface):
    code: SchemeErrorCode
    config_code: SchemeConfigErrorCode | None = strawberry.field(
        default=None, description="Set when code is INVALID_CONFIG: which config rule failed; field is its JSON path."
    )

    @classmethod
    def of(cls, problem: Problem[SchemeErrorCode]) -> SchemeErrorType:
        detail = problem.detail
        config_code = SchemeConfigErrorCode(detail) if detail is not None else None
        return cls(**problem_fields(problem), code=problem.code, config_code=config_code)


@strawberry.type
class SchemeErrors:
    errors: list[SchemeErrorType]

    @classmethod
    def of(cls, error: SchemeError) -> SchemeErrors:
        return cls(errors=[SchemeErrorType.of(problem) for problem in error.problems])


@strawberry.type
class SchemeConfigError(ProblemInterface):
    field: str = strawberry.field(description='JSON path inside the config, e.g. "metrics[2].weight"; "" = the root.')
    code: SchemeConfigErrorCode

    @classmethod
    def of(cls, problem: ConfigProblem) -> SchemeConfigError:
        return cls(**{**problem_fields(problem), "field": problem.field or ""}, code=problem.code)


@strawberry.type
class SchemeVersion:
    id: strawberry.ID
    scheme_id: strawberry.ID
    number: int
    status: VersionStatus
    effective_from: date | None
    config: JSON
    created_by_user_id: strawberry.ID | None
    published_by_user_id: strawberry.ID | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @classmethod
    def of(cls, version: SchemeVersionModel) -> SchemeVersion:
        return cls(
            id=strawberry.ID(str(version.id)),
            scheme_id=strawberry.ID(str(version.scheme_id)),
            number=version.number,
            status=VersionStatus(version.status),
            effective_from=version.effective_from,
            config=JSON(version.config),
            created_by_user_id=_optional_id(version.created_by_user_id),
            published_by_user_id=_optional_id(version.published_by_user_id),
            created_at=version.created_at,
            updated_at=version.updated_at,
            published_at=version.published_at,
        )


def _optional_id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type
class Scheme:
    id: strawberry.ID
    name: str
    description: str
    active: bool
    created_at: datetime
    pk: strawberry.Private[int]

    @classmethod
    def of(cls, scheme: SchemeModel) -> Scheme:
        return cls(
            id=strawberry.ID(str(scheme.id)),
            name=scheme.name,
            description=scheme.description,
            active=scheme.active,
            created_at=scheme.created_at,
            pk=scheme.id,
        )

    @strawberry.field(description="Every version, by number ascending (at most one is a draft).")
    async def versions(self, info: Info) -> list[SchemeVersion]:
        return [SchemeVersion.of(version) for version in await _versions_loader(info).load(self.pk)]

    @strawberry.field(description="The published version in force now; null when none is effective yet.")
    async def current_version(self, info: Info) -> SchemeVersion | None:
        versions = await _versions_loader(info).load(self.pk)
        current = service.pick_version_in_force(versions, datetime.now(UTC))
        return SchemeVersion.of(current) if current is not None else None


@strawberry.type
class SchemeTemplate:
    key: str
    name: str
    description: str
    config: JSON


@strawberry.type
class SchemeCreated:
    scheme: Scheme


@strawberry.type
class SchemeCreatedFromTemplate:
    scheme: Scheme
    draft: SchemeVersion


@strawberry.type
class SchemeDraftSaved:
    version: SchemeVersion
    scheme: Scheme


@strawberry.type
class SchemeVersionPublished:
    version: SchemeVersion
    scheme: Scheme


async def _scheme_of(info: Info, version: SchemeVersionModel) -> Scheme:
    # the version's scheme, with its versions reloaded: several mutations of one document share the loader
    loader = info.context.loaders.get(VERSIONS_LOADER)
    if isinstance(loader, DataLoader):
        loader.clear(version.scheme_id)
    scheme = await service.get_scheme(info.context.tenant_id, version.scheme_id)
    assert scheme is not None  # it was just locked and changed in this tenant
    return Scheme.of(scheme)


CreateSchemeResult = Annotated[SchemeCreated | SchemeErrors, strawberry.union("CreateSchemeResult")]
CreateSchemeFromTemplateResult = Annotated[
    SchemeCreatedFromTemplate | SchemeErrors, strawberry.union("CreateSchemeFromTemplateResult")
]
SaveSchemeDraftResult = Annotated[SchemeDraftSaved | SchemeErrors, strawberry.union("SaveSchemeDraftResult")]
PublishSchemeVersionResult = Annotated[
    SchemeVersionPublished | SchemeErrors, strawberry.union("PublishSchemeVersionResult")
]


@strawberry.type
class SchemesQuery:
    @strawberry.field(extensions=tenant_access(Role.MANAGER))
    async def schemes(self, info: Info, active: bool | None = None) -> list[Scheme]:
        return [Scheme.of(scheme) for scheme in await service.list_schemes(info.context.tenant_id, active)]

    @strawberry.field(extensions=tenant_access(Role.MANAGER))
    async def scheme(self, info: Info, id: strawberry.ID) -> Scheme | None:
        scheme_id = parse_id(id)
        if scheme_id is None:
            return None
        scheme = await service.get_scheme(info.context.tenant_id, scheme_id)
        return Scheme.of(scheme) if scheme is not None else None

    @strawberry.field(
        extensions=tenant_access(Role.MANAGER),
        description="Every problem of a config, without storing anything; [] when it is valid.",
    )
    def validate_scheme_config(self, config: JSON) -> list[SchemeConfigError]:
        return [SchemeConfigError.of(problem) for problem in validate_scheme_config(config)]

    @strawberry.field(extensions=tenant_access(Role.MANAGER))
    def scheme_templates(self) -> list[SchemeTemplate]:
        return [
            SchemeTemplate(key=t.key, name=t.name, description=t.description, config=JSON(t.config)) for t in TEMPLATES
        ]


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

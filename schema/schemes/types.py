"""GraphQL types of schemes: schemes, versions, templates, the mutation results and the errors.

Errors: mutations return ``XResult = Success | SchemeErrors``. Each ``SchemeError`` implements the ``Problem``
interface (schema/errors.py): ``field``, ``message`` (rendered in the reader's language: the tenant's, Simplified
Chinese by default) and ``code`` (the ``SchemeErrorCode`` enum). An invalid config gives one error per problem with
``code: INVALID_CONFIG``, ``configCode`` (``SchemeConfigErrorCode``, the same codes ``validateSchemeConfig`` returns)
and ``field`` = the JSON path inside the config (``metrics[2].weight``; "" for the config itself). Two closed enums
instead of one merged enum: a client can switch on the kind of failure without knowing every config rule, and the
config codes stay owned by the config module. ``validateSchemeConfig`` answers ``SchemeConfigError``s, the same
``Problem`` with its ``SchemeConfigErrorCode`` as ``code``. All are built from ``tenants.errors.Problem``s.

Output types are built from the domain's records by ``of`` (never from SQL rows). A scheme's versions come from the
request's loader (loaders.py), so a response costs one versions query however many schemes it has.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import strawberry

from schema.common import JSON
from schema.context import Info
from schema.errors import ProblemInterface, problem_fields
from schema.schemes.loaders import versions_loader
from tenants.errors import Problem
from tenants.rules.config import ConfigProblem, SchemeConfigErrorCode
from tenants.schemes import service
from tenants.schemes.errors import SchemeError, SchemeErrorCode
from tenants.schemes.models import Scheme as SchemeModel
from tenants.schemes.models import SchemeVersion as SchemeVersionModel
from tenants.schemes.service import VersionStatus
from tenants.schemes.templates import SchemeTemplate as SchemeTemplateRecord

# strawberry.enum registers the domain enums on the classes themselves, so annotations use the domain types.
strawberry.enum(SchemeErrorCode, name="SchemeErrorCode")
strawberry.enum(SchemeConfigErrorCode, name="SchemeConfigErrorCode")
strawberry.enum(VersionStatus, name="SchemeVersionStatus")


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
        return [SchemeVersion.of(version) for version in await versions_loader(info).load(self.pk)]

    @strawberry.field(description="The published version in force now; null when none is effective yet.")
    async def current_version(self, info: Info) -> SchemeVersion | None:
        versions = await versions_loader(info).load(self.pk)
        current = service.pick_version_in_force(versions, datetime.now(UTC))
        return SchemeVersion.of(current) if current is not None else None


@strawberry.type
class SchemeTemplate:
    key: str
    name: str
    description: str
    config: JSON

    @classmethod
    def of(cls, template: SchemeTemplateRecord) -> SchemeTemplate:
        return cls(key=template.key, name=template.name, description=template.description, config=JSON(template.config))


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


CreateSchemeResult = Annotated[SchemeCreated | SchemeErrors, strawberry.union("CreateSchemeResult")]
CreateSchemeFromTemplateResult = Annotated[
    SchemeCreatedFromTemplate | SchemeErrors, strawberry.union("CreateSchemeFromTemplateResult")
]
SaveSchemeDraftResult = Annotated[SchemeDraftSaved | SchemeErrors, strawberry.union("SaveSchemeDraftResult")]
PublishSchemeVersionResult = Annotated[
    SchemeVersionPublished | SchemeErrors, strawberry.union("PublishSchemeVersionResult")
]

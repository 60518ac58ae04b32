"""SchemesQuery: schemes, one scheme, config validation and the templates. Reading needs a manager (or higher);
another tenant's scheme is null."""

from __future__ import annotations

import strawberry

from schema.common import JSON, parse_id
from schema.context import Info
from schema.permissions import tenant_access
from schema.schemes.types import Scheme, SchemeConfigError, SchemeTemplate
from tenants.rules.config import validate_scheme_config
from tenants.schemes import service
from tenants.schemes.templates import TEMPLATES
from tenants.tenancy.auth import Role


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
        return [SchemeTemplate.of(template) for template in TEMPLATES]

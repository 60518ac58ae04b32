"""GraphQL for master data: bulk upserts of teams, staff and customers keyed by external codes, and their listings.

Related objects are exposed by their codes (parentCode, teamCode, guideCode), joined in the listing query itself,
so a page costs one query however many rows it has (no N+1, no loader needed).

Refused items of an upsert are `MasterDataItemError`s: the `Problem` interface (field, a message in the reader's
language) with the item's `index` and a `code` from the `MasterDataErrorCode` enum (never a free string).
"""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from schema.common import actor_of, page_args
from schema.context import Info
from schema.errors import ProblemInterface, problem_fields
from schema.permissions import tenant_access
from tenants.staff import service
from tenants.staff.errors import ItemProblem, MasterDataErrorCode
from tenants.staff.service import MAX_BATCH, UpsertOutcome
from tenants.tenancy.auth import Role, Scope

_UPSERT_NOTE = (
    f"At most {MAX_BATCH:,} items: a larger batch is refused whole (TOO_MANY_ITEMS). Each item replaces the stored "
    "record with the same code (omitted optional fields take their defaults); refused items are reported in `errors` "
    "and do not stop the valid ones (text with a NUL or an unpaired surrogate, in any field, is INVALID_TEXT)."
)


@strawberry.input(description="A team; teams form a tree (region > store > group).")
class TeamInput:
    code: str
    name: str
    parent: str | None = strawberry.field(
        default=None, description="The parent team's code: a stored team or another item of the batch; null = a root."
    )
    kind: str = strawberry.field(default="store", description="The level's name, e.g. region, store, group.")


@strawberry.input(description="A staff member.")
class StaffInput:
    code: str
    name: str
    role: str = strawberry.field(
        description="guide, customer_service, operations, sales, agent, or any identifier ^[a-z][a-z0-9_]{0,31}$."
    )
    team: str | None = strawberry.field(default=None, description="The team's code.")
    active: bool = True
    hired_on: str | None = strawberry.field(
        default=None, description="ISO date, e.g. 2026-10-05; from 1970-01-01 to 2199-12-31."
    )
    left_on: str | None = strawberry.field(
        default=None, description="ISO date, not before hiredOn; from 1970-01-01 to 2199-12-31."
    )


@strawberry.input(description="A customer, optionally bound to an exclusive guide (专属导购).")
class CustomerInput:
    code: str
    name: str = ""
    guide: str | None = strawberry.field(default=None, description="The guide's staff code; null removes the binding.")
    bound_since: str | None = strawberry.field(
        default=None,
        description=(
            "ISO datetime with an offset (below 16 hours), from 1970 to 2199 (UTC). Default: kept while the guide "
            "is unchanged, else the time of the upsert."
        ),
    )


strawberry.enum(
    MasterDataErrorCode,
    name="MasterDataErrorCode",
    description="Why an item of a master data batch (teams, staff, customers) was refused; stable, never renamed.",
)


@strawberry.type(
    name="MasterDataItemError",
    description="A refused item of a master data batch; the other items are unaffected.",
)
class MasterDataItemError(ProblemInterface):
    index: int = strawberry.field(description="The item's position in the batch (0-based).")
    code: MasterDataErrorCode

    @classmethod
    def of(cls, problem: ItemProblem) -> MasterDataItemError:
        if problem.index is None:  # the service indexes every problem of a batch
            raise ValueError(f"a master data problem without an index: {problem.code}")
        return cls(index=problem.index, code=problem.code, **problem_fields(problem))


@strawberry.type
class UpsertResult:
    created: int
    updated: int
    errors: list[MasterDataItemError]
    codes: list[str] = strawberry.field(description="The codes stored (created or updated), in input order.")

    @classmethod
    def of(cls, outcome: UpsertOutcome) -> UpsertResult:
        return cls(
            created=outcome.created,
            updated=outcome.updated,
            errors=[MasterDataItemError.of(problem) for problem in outcome.errors],
            codes=outcome.codes,
        )


@strawberry.type
class Team:
    id: strawberry.ID
    code: str
    name: str
    kind: str
    parent_code: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: service.TeamRecord) -> Team:
        return cls(
            id=strawberry.ID(str(record.id)),
            code=record.code,
            name=record.name,
            kind=record.kind,
            parent_code=record.parent_code,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


@strawberry.type
class Staff:
    id: strawberry.ID
    code: str
    name: str
    role: str
    team_code: str | None
    active: bool
    hired_on: date | None
    left_on: date | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: service.StaffRecord) -> Staff:
        return cls(
            id=strawberry.ID(str(record.id)),
            code=record.code,
            name=record.name,
            role=record.role,
            team_code=record.team_code,
            active=record.active,
            hired_on=record.hired_on,
            left_on=record.left_on,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


@strawberry.type
class Customer:
    id: strawberry.ID
    code: str
    name: str
    guide_code: str | None
    bound_since: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: service.CustomerRecord) -> Customer:
        return cls(
            id=strawberry.ID(str(record.id)),
            code=record.code,
            name=record.name,
            guide_code=record.guide_code,
            bound_since=record.bound_since,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


@strawberry.type
class TeamPage:
    items: list[Team]
    total: int
    limit: int
    offset: int


@strawberry.type
class StaffPage:
    items: list[Staff]
    total: int
    limit: int
    offset: int


@strawberry.type
class CustomerPage:
    items: list[Customer]
    total: int
    limit: int
    offset: int


@strawberry.type
class StaffQuery:
    @strawberry.field(extensions=tenant_access(Role.MANAGER, Scope.STAFF_READ))
    async def teams(
        self,
        info: Info,
        parent: str | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> TeamPage:
        """Teams by code; `parent` keeps that team's direct children; `search` matches code or name."""
        page = page_args(info, limit, offset)
        found = await service.list_teams(
            info.context.tenant_id, parent=parent, search=search, limit=page.limit, offset=page.offset
        )
        return TeamPage(
            items=[Team.of(r) for r in found.items], total=found.total, limit=page.limit, offset=page.offset
        )

    @strawberry.field(extensions=tenant_access(Role.MANAGER, Scope.STAFF_READ))
    async def staff(
        self,
        info: Info,
        team: str | None = None,
        role: str | None = None,
        active: bool | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> StaffPage:
        """Staff by code; `team` keeps the members of that team and of all teams under it."""
        page = page_args(info, limit, offset)
        found = await service.list_staff(
            info.context.tenant_id,
            team=team,
            role=role,
            active=active,
            search=search,
            limit=page.limit,
            offset=page.offset,
        )
        return StaffPage(
            items=[Staff.of(r) for r in found.items], total=found.total, limit=page.limit, offset=page.offset
        )

    @strawberry.field(extensions=tenant_access(Role.MANAGER, Scope.STAFF_READ))
    async def customers(
        self,
        info: Info,
        guide: str | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> CustomerPage:
        """Customers by code; `guide` keeps the customers bound to that staff member."""
        page = page_args(info, limit, offset)
        found = await service.list_customers(
            info.context.tenant_id, guide=guide, search=search, limit=page.limit, offset=page.offset
        )
        return CustomerPage(
            items=[Customer.of(r) for r in found.items], total=found.total, limit=page.limit, offset=page.offset
        )


@strawberry.type
class StaffMutation:
    @strawberry.mutation(extensions=tenant_access(Role.ADMIN, Scope.STAFF_WRITE), description=_UPSERT_NOTE)
    async def upsert_teams(self, info: Info, teams: list[TeamInput]) -> UpsertResult:
        items = [service.TeamItem(code=t.code, name=t.name, parent=t.parent, kind=t.kind) for t in teams]
        return UpsertResult.of(await service.upsert_teams(info.context.tenant_id, actor_of(info), items))

    @strawberry.mutation(extensions=tenant_access(Role.ADMIN, Scope.STAFF_WRITE), description=_UPSERT_NOTE)
    async def upsert_staff(self, info: Info, staff: list[StaffInput]) -> UpsertResult:
        items = [
            service.StaffItem(
                code=s.code,
                name=s.name,
                role=s.role,
                team=s.team,
                active=s.active,
                hired_on=s.hired_on,
                left_on=s.left_on,
            )
            for s in staff
        ]
        return UpsertResult.of(await service.upsert_staff(info.context.tenant_id, actor_of(info), items))

    @strawberry.mutation(extensions=tenant_access(Role.ADMIN, Scope.STAFF_WRITE), description=_UPSERT_NOTE)
    async def upsert_customers(self, info: Info, customers: list[CustomerInput]) -> UpsertResult:
        items = [
            service.CustomerItem(code=c.code, name=c.name, guide=c.guide, bound_since=c.bound_since) for c in customers
        ]
        return UpsertResult.of(await service.upsert_customers(info.context.tenant_id, actor_of(info), items))

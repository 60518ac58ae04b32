"""GraphQL types of master data: the batch inputs, the refused-item error, the upsert result and the listed records.

Related objects are exposed by their codes (parentCode, teamCode, guideCode), joined in the listing query itself, so a
page costs one query however many rows it has (no N+1, no loader needed). Output types are built from the domain's
records by `of` (never from SQL rows); inputs become the domain's batch items by `item()`.

Refused items of an upsert are `MasterDataItemError`s: the `Problem` interface (field, a message in the reader's
language) with the item's `index` and a `code` from the `MasterDataErrorCode` enum (never a free string).
"""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from schema.errors import ProblemInterface, problem_fields
from tenants.staff.errors import ItemProblem, MasterDataErrorCode
from tenants.staff.records import (
    CustomerItem,
    CustomerRecord,
    StaffItem,
    StaffRecord,
    TeamItem,
    TeamRecord,
    UpsertOutcome,
)


@strawberry.input(description="A team; teams form a tree (region > store > group).")
class TeamInput:
    code: str
    name: str
    parent: str | None = strawberry.field(
        default=None, description="The parent team's code: a stored team or another item of the batch; null = a root."
    )
    kind: str = strawberry.field(default="store", description="The level's name, e.g. region, store, group.")

    def item(self) -> TeamItem:
        return TeamItem(code=self.code, name=self.name, parent=self.parent, kind=self.kind)


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

    def item(self) -> StaffItem:
        return StaffItem(
            code=self.code,
            name=self.name,
            role=self.role,
            team=self.team,
            active=self.active,
            hired_on=self.hired_on,
            left_on=self.left_on,
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

    def item(self) -> CustomerItem:
        return CustomerItem(code=self.code, name=self.name, guide=self.guide, bound_since=self.bound_since)


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
    def of(cls, record: TeamRecord) -> Team:
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
    def of(cls, record: StaffRecord) -> Staff:
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
    def of(cls, record: CustomerRecord) -> Customer:
        return cls(
            id=strawberry.ID(str(record.id)),
            code=record.code,
            name=record.name,
            guide_code=record.guide_code,
            bound_since=record.bound_since,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )

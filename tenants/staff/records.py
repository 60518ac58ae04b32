"""What master data use cases take and give: batch items as integrations send them, the outcome of a batch, and the
stored records of the listings (related rows named by their codes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from tenants.staff.errors import ItemProblem


@dataclass(frozen=True)
class TeamItem:
    code: str
    name: str
    parent: str | None = None
    # region > store > group by convention; free text so merchants can name their own levels.
    kind: str = "store"


@dataclass(frozen=True)
class StaffItem:
    code: str
    name: str
    role: str
    team: str | None = None
    active: bool = True
    # ISO strings (as they arrive from integrations) or dates; checked per item.
    hired_on: date | str | None = None
    left_on: date | str | None = None


@dataclass(frozen=True)
class CustomerItem:
    code: str
    name: str = ""
    guide: str | None = None
    # An ISO string with a UTC offset (as it arrives from integrations) or an aware datetime; checked per item.
    bound_since: datetime | str | None = None


@dataclass(frozen=True)
class UpsertOutcome:
    created: int
    updated: int
    errors: list[ItemProblem]
    # The codes stored (created or updated), in input order.
    codes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TeamRecord:
    id: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StaffRecord:
    id: int
    code: str
    name: str
    role: str
    team_code: str | None
    active: bool
    hired_on: date | None
    left_on: date | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CustomerRecord:
    id: int
    code: str
    name: str
    guide_code: str | None
    bound_since: datetime | None
    created_at: datetime
    updated_at: datetime

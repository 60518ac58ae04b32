"""SQLAlchemy mappings of the tables the console shows (read side only; Tortoise owns the schema and migrations).

Each tenant table is mapped by its `id` alone: sqladmin addresses rows by it, and row level security (admin/db.py)
decides whose rows exist at all. Columns follow tenants/*/models.py; a column the console does not show is left out.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class TenantRow(Base):
    __tablename__ = "tenant"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class UserRow(Base):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200))
    is_platform_operator: Mapped[bool] = mapped_column(Boolean)
    is_active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def __str__(self) -> str:
        return self.email


class MembershipRow(Base):
    __tablename__ = "membership"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user.id"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user: Mapped[UserRow] = relationship(lazy="selectin")


class ApiKeyRow(Base):
    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(32))
    scopes: Mapped[list[str]] = mapped_column(JSONB)
    created_by_user_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TeamRow(Base):
    __tablename__ = "team"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("team.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    parent: Mapped[TeamRow | None] = relationship(remote_side=[id], lazy="selectin", join_depth=4)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class StaffRow(Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("team.id"))
    active: Mapped[bool] = mapped_column(Boolean)
    hired_on: Mapped[date | None] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    team: Mapped[TeamRow | None] = relationship(lazy="selectin")
    user: Mapped[UserRow | None] = relationship(lazy="selectin")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class CustomerRow(Base):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    guide_staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    bound_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    guide: Mapped[StaffRow | None] = relationship(lazy="selectin")


class SchemeRow(Base):
    __tablename__ = "scheme"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def __str__(self) -> str:
        return self.name


class SchemeVersionRow(Base):
    __tablename__ = "scheme_version"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    scheme_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("scheme.id"))
    number: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16))
    effective_from: Mapped[date | None] = mapped_column(Date)
    created_by_user_id: Mapped[int | None] = mapped_column(BigInteger)
    published_by_user_id: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    scheme: Mapped[SchemeRow] = relationship(lazy="selectin")

    def __str__(self) -> str:
        return f"v{self.number}"


class PeriodRow(Base):
    __tablename__ = "period"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    scheme_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("scheme.id"))
    key: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)
    scheme_version_id: Mapped[int | None] = mapped_column(BigInteger)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scheme: Mapped[SchemeRow] = relationship(lazy="selectin")

    def __str__(self) -> str:
        return self.key


class ScorecardRow(Base):
    __tablename__ = "scorecard"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    period_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("period.id"))
    revision: Mapped[int] = mapped_column(Integer)
    staff_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("staff.id"))
    scheme_version_id: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    grade: Mapped[str | None] = mapped_column(String(16))
    rank: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    provisional: Mapped[bool] = mapped_column(Boolean)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    period: Mapped[PeriodRow] = relationship(lazy="selectin")
    staff: Mapped[StaffRow] = relationship(lazy="selectin")


class LedgerLineRow(Base):
    __tablename__ = "ledger_line"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    period_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("period.id"))
    revision: Mapped[int] = mapped_column(Integer)
    staff_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("staff.id"))
    scheme_version_id: Mapped[int] = mapped_column(BigInteger)
    rule_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    derivation: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    period: Mapped[PeriodRow] = relationship(lazy="selectin")
    staff: Mapped[StaffRow] = relationship(lazy="selectin")


class EventRow(Base):
    __tablename__ = "event"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    external_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    value: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    credit_staff_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    status: Mapped[str] = mapped_column(String(16))


class AuditRow(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("user.id"))
    actor_api_key_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    before: Mapped[Any] = mapped_column(JSONB)
    after: Mapped[Any] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[UserRow | None] = relationship(lazy="selectin")

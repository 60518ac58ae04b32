"""Scheme use cases: schemes, draft and published versions, the version in force, templates.

Rules
- A scheme has numbered versions (1, 2, ...). At most one is a draft: saving a config edits that draft, or opens a
  new one numbered after the highest. A published version never changes (the database trigger refuses it as well);
  editing a published scheme means saving a new draft.
- A config is validated before anything is read or written: an invalid one is rejected whole, nothing stored.
- Plain arguments (name, description, effective date) are checked before any I/O too (checks.py): INVALID with the
  argument's name as field, never a database error.
- Publishing sets ``effective_from`` (a local date in the config's timezone). It is refused when a period of the
  scheme that is closing, closed or stale ends after that date's first instant: its results were computed with the
  version then in force, and a new version must not rewrite them retroactively. Which periods those are is the
  periods domain's knowledge: periods depends on schemes (versions, calendar), so schemes does not import it; it asks
  through ``FrozenPeriodLookup``, which the periods package provides when it is imported (publishing refuses to run
  in a process where it is not).
- The version in force at an instant is the latest published version effective at or before it (ties on the date:
  the highest number). A period uses the version in force at its start.
- Errors are ``SchemeError``s (``tenants.errors.DomainError``) whose messages are i18n templates
  (``tenants.i18n._``), rendered in the reader's language at the edge.
- Every change writes an audit entry (before/after) in the same transaction as the change.
- Each entry point opens one ``tenant_unit_of_work`` and passes its connection to the statements
  (``tenants/schemes/repository.py``, which also filter by tenant: another tenant's id is NOT_FOUND) and to the audit
  log; this module builds no SQL.
- Changes of one scheme are serialised by a row lock on the scheme, so two concurrent saves cannot open two drafts
  and a publish cannot race a draft edit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.audit.service import Actor, record
from tenants.db.uow import tenant_unit_of_work
from tenants.i18n import Message, _
from tenants.rules.calendar import day_start
from tenants.rules.config import (
    SchemeConfig,
    SchemeConfigInvalid,
    parse_scheme_config,
)
from tenants.schemes import repository
from tenants.schemes.checks import check_effective_date, checked_config, checked_description, checked_name
from tenants.schemes.errors import SchemeError, SchemeErrorCode
from tenants.schemes.models import Scheme, SchemeVersion
from tenants.schemes.templates import get_template
from tenants.tenancy.identity import TenantId

MAX_TEMPLATE_KEY_SHOWN: Final = 64  # an unknown template key is quoted in the message up to this length
DEFAULT_TIMEZONE: Final[str] = SchemeConfig.model_fields["timezone"].default


NO_SUCH_SCHEME: Final = _("No such scheme.")
NO_SUCH_VERSION: Final = _("No such scheme version.")


class VersionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


# --- snapshots for the audit log ------------------------------------------------------------------------------------


def scheme_snapshot(scheme: Scheme) -> dict[str, Any]:
    return {"name": scheme.name, "description": scheme.description, "active": scheme.active}


def version_snapshot(version: SchemeVersion) -> dict[str, Any]:
    return {
        "scheme_id": version.scheme_id,
        "number": version.number,
        "status": version.status,
        "effective_from": version.effective_from,
        "config": version.config,
        "created_by_user_id": version.created_by_user_id,
        "published_by_user_id": version.published_by_user_id,
        "published_at": version.published_at,
    }


# --- queries --------------------------------------------------------------------------------------------------------


async def list_schemes(tenant_id: TenantId, active: bool | None = None) -> list[Scheme]:
    async with tenant_unit_of_work(tenant_id) as conn:
        return await repository.list_schemes(conn, tenant_id, active)


async def get_scheme(tenant_id: TenantId, scheme_id: int) -> Scheme | None:
    async with tenant_unit_of_work(tenant_id) as conn:
        return await repository.get_scheme(conn, tenant_id, scheme_id)


async def versions_by_scheme(tenant_id: TenantId, scheme_ids: Sequence[int]) -> dict[int, list[SchemeVersion]]:
    """The versions of many schemes in one query (the GraphQL loader), each list ordered by number."""
    grouped: dict[int, list[SchemeVersion]] = defaultdict(list)
    if not scheme_ids:
        return grouped
    async with tenant_unit_of_work(tenant_id) as conn:
        versions = await repository.versions_of_schemes(conn, tenant_id, scheme_ids)
    for version in versions:
        grouped[version.scheme_id].append(version)
    return grouped


def _effective_start(version: SchemeVersion) -> datetime:
    """The first instant of the version's effective date, in its own config's timezone."""
    assert version.effective_from is not None
    timezone = version.config.get("timezone") if isinstance(version.config, dict) else None
    try:
        return day_start(version.effective_from, timezone if isinstance(timezone, str) else DEFAULT_TIMEZONE)
    except ValueError:  # a published config was validated, so its timezone exists; this only guards old rows
        return day_start(version.effective_from, DEFAULT_TIMEZONE)


def pick_version_in_force(versions: Iterable[SchemeVersion], at: datetime | date) -> SchemeVersion | None:
    """The latest published version effective at ``at`` (ties on the date: the highest number); pure.

    ``at`` is an aware instant (e.g. a period's ``starts_at``), compared with each version's first effective instant
    in its config's timezone; or a local date, compared with ``effective_from`` directly.
    """
    if isinstance(at, datetime) and (at.tzinfo is None or at.utcoffset() is None):
        raise ValueError("version_in_force needs an aware datetime or a date")
    best: SchemeVersion | None = None
    for version in versions:
        if version.status != VersionStatus.PUBLISHED or version.effective_from is None:
            continue
        if isinstance(at, datetime):
            if _effective_start(version) > at:
                continue
        elif version.effective_from > at:
            continue
        if best is None or (version.effective_from, version.number) > (best.effective_from, best.number):
            best = version
    return best


async def version_in_force(tenant_id: TenantId, scheme_id: int, at: datetime | date) -> SchemeVersion | None:
    """The version a period starting at ``at`` uses; None when nothing was published effective by then."""
    async with tenant_unit_of_work(tenant_id) as conn:
        published = await repository.versions_with_status(conn, tenant_id, scheme_id, VersionStatus.PUBLISHED)
    return pick_version_in_force(published, at)


# --- what publishing asks the periods domain ------------------------------------------------------------------------


@dataclass(frozen=True)
class FrozenPeriod:
    """A period of a scheme whose results exist or are being computed (closing, closed, stale)."""

    key: str
    state: str


FrozenPeriodLookup = Callable[[TenantId, int, datetime], Awaitable[FrozenPeriod | None]]
"""(tenant, scheme, instant): the scheme's earliest frozen period that ends after the instant, read in the caller's
unit of work; None when there is none."""

_frozen_period_lookup: FrozenPeriodLookup | None = None


def provide_frozen_period_lookup(lookup: FrozenPeriodLookup) -> None:
    """The periods domain answers here (tenants/periods/__init__.py)."""
    global _frozen_period_lookup
    _frozen_period_lookup = lookup


def _frozen_periods() -> FrozenPeriodLookup:
    if _frozen_period_lookup is None:
        # Fail closed: without the answer a version could be published inside a closed period.
        raise RuntimeError("the periods domain is not loaded (import tenants.periods): frozen periods are unknown")
    return _frozen_period_lookup


# --- changes --------------------------------------------------------------------------------------------------------


async def _lock_scheme(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int) -> Scheme:
    scheme = await repository.lock_scheme(conn, tenant_id, scheme_id)
    if scheme is None:
        raise SchemeError.of(SchemeErrorCode.NOT_FOUND, NO_SUCH_SCHEME, "schemeId")
    return scheme


async def create_scheme(tenant_id: TenantId, actor: Actor, name: str, description: str = "") -> Scheme:
    clean_name, clean_description = checked_name(name), checked_description(description)
    async with tenant_unit_of_work(tenant_id) as conn:
        scheme = await repository.insert_scheme(conn, tenant_id, clean_name, clean_description)
        await record(conn, tenant_id, actor, "scheme.create", "scheme", scheme.id, None, scheme_snapshot(scheme))
    return scheme


async def save_draft(tenant_id: TenantId, actor: Actor, scheme_id: int, config: object) -> SchemeVersion:
    """Edit the scheme's draft, or open a new draft (number = highest + 1) when it has none."""
    stored = checked_config(config)  # before any I/O: an invalid config stores nothing
    async with tenant_unit_of_work(tenant_id) as conn:
        await _lock_scheme(conn, tenant_id, scheme_id)
        draft = await repository.latest_version(conn, tenant_id, scheme_id, VersionStatus.DRAFT)
        if draft is not None:
            if draft.config == stored:
                return draft  # nothing changes, so nothing to audit
            before = version_snapshot(draft)
            # created_by stays the draft's author; who edited it and when is in the audit log
            await repository.update_config(conn, draft, stored)
            after = version_snapshot(draft)
            await record(
                conn, tenant_id, actor, "scheme_version.update_draft", "scheme_version", draft.id, before, after
            )
            return draft
        version = await _create_draft(conn, tenant_id, actor, scheme_id, stored)
    return version


async def _create_draft(
    conn: BaseDBAsyncClient, tenant_id: TenantId, actor: Actor, scheme_id: int, config: dict[str, Any]
) -> SchemeVersion:
    # callers hold the scheme's row lock, so max + 1 cannot race (the unique index would refuse it anyway)
    latest = await repository.latest_version(conn, tenant_id, scheme_id)
    number = latest.number + 1 if latest is not None else 1
    version = await repository.insert_version(
        conn,
        tenant_id,
        scheme_id=scheme_id,
        number=number,
        config=config,
        status=VersionStatus.DRAFT,
        created_by_user_id=actor.user_id,
    )
    after = version_snapshot(version)
    await record(conn, tenant_id, actor, "scheme_version.create_draft", "scheme_version", version.id, None, after)
    return version


async def publish_version(tenant_id: TenantId, actor: Actor, version_id: int, effective_from: date) -> SchemeVersion:
    check_effective_date(effective_from)
    first_frozen_period = _frozen_periods()
    async with tenant_unit_of_work(tenant_id) as conn:
        found = await repository.get_version(conn, tenant_id, version_id)
        if found is None:
            raise SchemeError.of(SchemeErrorCode.NOT_FOUND, NO_SUCH_VERSION, "versionId")
        await _lock_scheme(conn, tenant_id, found.scheme_id)
        # read again under the lock: a concurrent publish of the same draft may have committed meanwhile
        version = await repository.get_version(conn, tenant_id, version_id)
        assert version is not None  # versions are never deleted, and the scheme's lock is held
        if version.status != VersionStatus.DRAFT:
            message = _(
                "Version {number} is published and cannot change; save a new draft instead.", number=version.number
            )
            raise SchemeError.of(SchemeErrorCode.ALREADY_PUBLISHED, message, "versionId")
        try:
            # validated when saved; parsed again because the rules may have tightened since
            config = parse_scheme_config(version.config)
        except SchemeConfigInvalid as invalid:
            raise SchemeError.invalid_config(invalid.problems) from None
        starts = day_start(effective_from, config.timezone)  # in range: check_effective_date
        frozen = await first_frozen_period(tenant_id, version.scheme_id, starts)
        if frozen is not None:
            message = _frozen_period(frozen.state, period=frozen.key, date=effective_from.isoformat())
            raise SchemeError.of(SchemeErrorCode.PERIOD_CLOSED, message, "effectiveFrom")
        before = version_snapshot(version)
        await repository.mark_published(
            conn,
            version,
            status=VersionStatus.PUBLISHED,
            effective_from=effective_from,
            published_by_user_id=actor.user_id,
            published_at=datetime.now(UTC),
        )
        after = version_snapshot(version)
        await record(conn, tenant_id, actor, "scheme_version.publish", "scheme_version", version.id, before, after)
    return version


def _frozen_period(state: str, **params: str) -> Message:
    """Why a version cannot take effect inside (or before) a period whose results exist; one template per state."""
    if state == "closing":
        return _(
            "Period {period} is being closed; a version cannot take effect on {date}, which is before that period ends."
            " Choose a date on or after the end of the last closed period.",
            **params,
        )
    if state == "stale":
        return _(
            "Period {period} is closed (its results await a re-close); a version cannot take effect on {date}, which"
            " is before that period ends. Choose a date on or after the end of the last closed period.",
            **params,
        )
    return _(
        "Period {period} is closed; a version cannot take effect on {date}, which is before that period ends."
        " Choose a date on or after the end of the last closed period.",
        **params,
    )


@dataclass(frozen=True)
class SchemeWithDraft:
    scheme: Scheme
    draft: SchemeVersion


async def create_from_template(
    tenant_id: TenantId, actor: Actor, template_key: str, name: str | None = None
) -> SchemeWithDraft:
    """A new scheme (named ``name``, else the template's name) with the template's config as draft version 1."""
    try:
        template = get_template(template_key)
    except KeyError:
        # repr escapes what cannot be sent (NUL, surrogates); the cut keeps a pasted blob out of the answer
        shown = repr(template_key[:MAX_TEMPLATE_KEY_SHOWN]) + (
            "…" if len(template_key) > MAX_TEMPLATE_KEY_SHOWN else ""
        )
        raise SchemeError.of(
            SchemeErrorCode.UNKNOWN_TEMPLATE, _("No template {key}.", key=shown), "templateKey"
        ) from None
    clean_name = checked_name(template.name if name is None else name)
    stored = checked_config(template.config)
    async with tenant_unit_of_work(tenant_id) as conn:
        scheme = await repository.insert_scheme(conn, tenant_id, clean_name, template.description)
        after = {**scheme_snapshot(scheme), "template": template.key}
        await record(conn, tenant_id, actor, "scheme.create", "scheme", scheme.id, None, after)
        draft = await _create_draft(conn, tenant_id, actor, scheme.id, stored)
    return SchemeWithDraft(scheme, draft)

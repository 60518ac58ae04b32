"""Attribution use cases: the rules (versions), orders waiting for a manager, confirmation, reattribution.

Rules
- The rules are a validated config (tenants/rules/attribution_config.py): an invalid one is rejected whole, every
  problem at once (INVALID_CONFIG, the config code as detail, the JSON path as field), nothing stored.
- Versions are append-only and numbered; a version takes effect at the first instant of `effective_from` in the
  tenant's timezone. Ingestion credits each event by the version in force at its time (tenants/events/timeline.py);
  credits are stored then, so a close never re-derives them, and saving rules changes no stored credit: only events
  ingested later, and an explicit `reattribute`, use them.
- `confirm_attribution`: a manager (in scope: another team's order is NOT_FOUND, like another tenant's) confirms a
  pending large order, optionally with other credits (kept by later reattributions). Its refunds that waited with it
  count from then on and follow its credits. A confirmed order that falls in a closed period makes it stale, and its
  re-close aggregates the whole period (the order's id is below the watermark).
- `reattribute(from, to)`: the credits the rules resolved for events that occurred in [from, to] (local dates,
  inclusive) are derived again under the versions now in force, set-based (chunks of REATTRIBUTE_CHUNK events, one
  UPDATE per chunk); sent and manager-set credits are kept, and so are those of events stored before ingestion recorded
  whether credits were sent (credits_sent NULL: they may have been sent); refunds follow their orders. Only events
  whose credits change are written, so a second run changes nothing (idempotent). Periods the changed events fall in
  become stale.
- Every change writes an audit entry on the same connection; confirmations and reattributions hold the ingestion
  lock shared (never between a running close's aggregation and its commit: tenants/locks.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.access.scope import AccessScope, read_access_scope
from tenants.attribution import repository
from tenants.attribution.errors import AttributionError, AttributionErrorCode
from tenants.attribution.repository import PendingRecord, RuleVersion
from tenants.audit.service import Actor, record
from tenants.db.codes import ids_by_code
from tenants.db.paging import Page, PageRequest
from tenants.db.uow import tenant_unit_of_work
from tenants.events import repository as events
from tenants.events.timeline import load_timeline
from tenants.i18n import _
from tenants.rules.attribution import ONE, Attribution, Credits, GuideBinding, binding_at
from tenants.rules.attribution_config import (
    SHARE_DECIMALS,
    AttributionConfigInvalid,
    parse_attribution_config,
    stored_form,
)
from tenants.rules.calendar import day_start
from tenants.tenancy.auth import Principal
from tenants.tenancy.identity import TenantId
from tenants.text import is_storable_text

EARLIEST_EFFECTIVE_DATE: Final = date(1970, 1, 1)
LATEST_EFFECTIVE_DATE: Final = date(2199, 12, 31)
REATTRIBUTE_CHUNK: Final = 5_000
MAX_CREDITS: Final = 50
MAX_CODE_LENGTH: Final = 64
NO_SUCH_EVENT: Final = _("No such order waiting for confirmation.")


@dataclass(frozen=True)
class RulesOverview:
    current: RuleVersion | None  # in force now; None: none yet (the legacy settings, if any, apply)
    versions: list[RuleVersion]  # by number
    legacy_settings: bool  # no version: ingestion reads the unversioned tenant settings


@dataclass(frozen=True)
class CreditInput:
    """A credit a manager gives: exactly one of staff and team (codes), and a share."""

    staff: str | None
    team: str | None
    share: str


@dataclass(frozen=True)
class Confirmed:
    event_id: int
    external_id: str
    credits_edited: bool
    refunds_confirmed: int


@dataclass(frozen=True)
class Reattributed:
    events_changed: int
    refunds_changed: int
    events_examined: int


def version_snapshot(version: RuleVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "effective_from": version.effective_from,
        "effective_at": version.effective_at,
        "config": version.config,
    }


def _check_date(value: date, field: str) -> None:
    if not EARLIEST_EFFECTIVE_DATE <= value <= LATEST_EFFECTIVE_DATE:
        message = _(
            "Choose a date from {earliest} to {latest}.",
            earliest=EARLIEST_EFFECTIVE_DATE.isoformat(),
            latest=LATEST_EFFECTIVE_DATE.isoformat(),
        )
        raise AttributionError.of(AttributionErrorCode.INVALID, message, field)


# --- rules ------------------------------------------------------------------------------------------------------------


def pick_current(versions: list[RuleVersion], now: datetime) -> RuleVersion | None:
    """The version in force at `now`: the latest effective at or before it (ties: the highest number)."""
    best: RuleVersion | None = None
    for version in versions:
        if version.effective_at <= now and (
            best is None or (version.effective_at, version.number) > (best.effective_at, best.number)
        ):
            best = version
    return best


async def rules_overview(tenant_id: TenantId, now: datetime | None = None) -> RulesOverview:
    async with tenant_unit_of_work(tenant_id) as conn:
        versions = await repository.rule_versions(conn, tenant_id)
    return RulesOverview(pick_current(versions, now or datetime.now(UTC)), versions, not versions)


async def save_rules(tenant_id: TenantId, actor: Actor, rules: object, effective_from: date) -> RuleVersion:
    """A new version, effective from the first instant of `effective_from` in the tenant's timezone."""
    _check_date(effective_from, "effectiveFrom")
    try:
        config = parse_attribution_config(rules)  # before any I/O: an invalid config stores nothing
    except AttributionConfigInvalid as invalid:
        raise AttributionError.invalid_config(invalid.problems) from None
    async with tenant_unit_of_work(tenant_id) as conn:
        await repository.lock_rules(conn, tenant_id)
        timezone = await repository.tenant_timezone(conn, tenant_id)
        version = await repository.insert_version(
            conn,
            tenant_id,
            config=stored_form(config),
            effective_from=effective_from,
            effective_at=day_start(effective_from, timezone),
            user_id=actor.user_id,
            api_key_id=actor.api_key_id,
        )
        await record(
            conn,
            tenant_id,
            actor,
            "attribution_rules.save",
            "attribution_rule_version",
            version.id,
            None,
            version_snapshot(version),
        )
    return version


# --- pending orders ---------------------------------------------------------------------------------------------------


async def pending_attributions(tenant_id: TenantId, principal: Principal, page: PageRequest) -> Page[PendingRecord]:
    """Orders waiting for a manager, oldest first, within the caller's scope."""
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        return await repository.pending_page(conn, tenant_id, page, scope)


def _invalid_credits(message: Any, field: str) -> AttributionError:
    return AttributionError.of(AttributionErrorCode.INVALID_CREDITS, message, field)  # type: ignore[no-any-return]


def _checked_credits(credits: list[CreditInput]) -> list[tuple[str | None, str | None, Decimal]]:
    """Shape, shares and their sum, before any I/O."""
    if not credits:
        raise _invalid_credits(_("Give at least one credit, or none to confirm the credits as they are."), "credits")
    if len(credits) > MAX_CREDITS:
        raise _invalid_credits(_("At most {limit} credits per order.", limit=MAX_CREDITS), "credits")
    checked: list[tuple[str | None, str | None, Decimal]] = []
    teams = 0
    for index, credit in enumerate(credits):
        path = f"credits[{index}]"
        if (credit.staff is None) == (credit.team is None):
            raise _invalid_credits(_("A credit names exactly one of staff or team."), path)
        code = credit.staff if credit.staff is not None else credit.team
        assert code is not None
        if not code or len(code) > MAX_CODE_LENGTH or not is_storable_text(code):
            field = f"{path}.staff" if credit.staff is not None else f"{path}.team"
            raise _invalid_credits(_("A code has 1 to {limit} characters.", limit=MAX_CODE_LENGTH), field)
        teams += credit.team is not None
        share = _share(credit.share, f"{path}.share")
        checked.append((credit.staff, credit.team, share))
    if teams > 1:
        raise _invalid_credits(_("At most one team credit per order (one team pool)."), "credits")
    total = sum((share for _staff, _team, share in checked), Decimal(0))
    if total != ONE:
        raise AttributionError.of(
            AttributionErrorCode.SHARES_NOT_1, _("Credit shares add up to {total}, not 1.", total=total), "credits"
        )
    return checked


def _share(text: str, field: str) -> Decimal:
    message = _(
        "A share is a decimal string above 0 and at most 1, with at most {decimals} decimals.",
        decimals=SHARE_DECIMALS,
    )
    if len(text) > 40 or not is_storable_text(text):
        raise _invalid_credits(message, field)
    try:
        share = Decimal(text.strip())
    except ArithmeticError:
        raise _invalid_credits(message, field) from None
    exponent = share.as_tuple().exponent
    if (
        not share.is_finite()
        or not Decimal(0) < share <= ONE
        or not isinstance(exponent, int)
        or -exponent > SHARE_DECIMALS
    ):
        raise _invalid_credits(message, field)
    return share


async def _resolved_credits(
    conn: BaseDBAsyncClient, tenant_id: TenantId, checked: list[tuple[str | None, str | None, Decimal]]
) -> Credits:
    staff = await ids_by_code(conn, "staff", tenant_id, {code for code, _t, _s in checked if code is not None})
    teams = await ids_by_code(conn, "team", tenant_id, {code for _c, code, _s in checked if code is not None})
    staff_ids: list[int] = []
    shares: list[Decimal] = []
    pool: tuple[int, Decimal] | None = None
    for index, (staff_code, team_code, share) in enumerate(checked):
        if staff_code is not None:
            if staff_code not in staff:
                raise AttributionError.of(
                    AttributionErrorCode.UNKNOWN_STAFF,
                    _("No staff with code {code}.", code=repr(staff_code)),
                    f"credits[{index}].staff",
                )
            staff_ids.append(staff[staff_code])
            shares.append(share)
        else:
            assert team_code is not None
            if team_code not in teams:
                raise AttributionError.of(
                    AttributionErrorCode.UNKNOWN_TEAM,
                    _("No team with code {code}.", code=repr(team_code)),
                    f"credits[{index}].team",
                )
            pool = (teams[team_code], share)
    return Credits(
        tuple(staff_ids),
        tuple(shares),
        None if pool is None else pool[0],
        None if pool is None else pool[1],
    )


def _credits_snapshot(credits: Credits) -> dict[str, Any]:
    return {
        "staff_ids": list(credits.staff_ids),
        "shares": list(credits.shares),
        "pool_team_id": credits.pool_team_id,
        "pool_share": credits.pool_share,
    }


async def confirm_attribution(
    tenant_id: TenantId,
    actor: Actor,
    principal: Principal,
    event_id: int,
    credits: list[CreditInput] | None = None,
) -> Confirmed:
    """Confirm a pending order (in the caller's scope), with these credits instead of its own when given."""
    checked = None if credits is None else _checked_credits(credits)
    async with tenant_unit_of_work(tenant_id) as conn:
        # Like an ingestion: never between a running close's aggregation and its commit (see tenants/locks.py).
        await events.hold_ingestion_lock(conn, tenant_id)
        scope: AccessScope = await read_access_scope(conn, tenant_id, principal)
        event = await repository.lock_event(conn, tenant_id, event_id, scope)
        if event is None or event.type == "refund":
            raise AttributionError.of(AttributionErrorCode.NOT_FOUND, NO_SUCH_EVENT, "eventId")
        if event.status != "pending":
            message = _(
                "Order {order} does not wait for a confirmation: it counts already.", order=repr(event.external_id)
            )
            raise AttributionError.of(AttributionErrorCode.NOT_PENDING, message, "eventId")
        before = {"status": event.status, "credits": _credits_snapshot(event.credits)}
        new_credits = event.credits
        if checked is not None:
            new_credits = await _resolved_credits(conn, tenant_id, checked)
            await repository.set_event_credits(conn, tenant_id, event.id, new_credits)
        counted = await events.confirm_pending_orders(conn, tenant_id, [event.external_id])
        refunds = await events.confirm_pending_refunds(conn, tenant_id, [event.external_id])
        moved = [occurred_at for _external_id, occurred_at in counted + refunds]
        if checked is not None:
            # Its refunds (credited by the rules) are credited like the order.
            moved += await repository.refunds_follow_orders(conn, tenant_id, [event.id])
        await events.mark_periods_stale_for_confirmed(conn, tenant_id, moved)
        after = {
            "status": "counted",
            "credits": _credits_snapshot(new_credits),
            "edited": checked is not None,
            "refunds_confirmed": len(refunds),
        }
        await record(conn, tenant_id, actor, "attribution.confirm", "event", event.id, before, after)
    return Confirmed(event.id, event.external_id, checked is not None, len(refunds))


# --- reattribution ----------------------------------------------------------------------------------------------------


async def reattribute(tenant_id: TenantId, actor: Actor, from_date: date, to_date: date) -> Reattributed:
    """Re-derive the rule-resolved credits of the events that occurred in [from_date, to_date] (local dates)."""
    _check_date(from_date, "from")
    _check_date(to_date, "to")
    if to_date < from_date:
        message = _(
            "The range ends ({to}) before it starts ({start}).", to=to_date.isoformat(), start=from_date.isoformat()
        )
        raise AttributionError.of(AttributionErrorCode.INVALID, message, "to")
    examined = changed = 0
    async with tenant_unit_of_work(tenant_id) as conn:
        await events.hold_ingestion_lock(conn, tenant_id)
        timezone = await repository.tenant_timezone(conn, tenant_id)
        starts = day_start(from_date, timezone)
        ends = day_start(to_date + timedelta(days=1), timezone)
        timeline = await load_timeline(conn, tenant_id)
        attributions = {id(rules): Attribution(rules) for rules in timeline.all_rules}
        guide_rule = any(rules.exclusive_guide_days is not None for rules in timeline.all_rules)
        moved: list[datetime] = []
        changed_ids: list[int] = []
        after_id = 0
        while True:
            chunk = await repository.rederivable_events(conn, tenant_id, starts, ends, after_id, REATTRIBUTE_CHUNK)
            if not chunk:
                break
            after_id = chunk[-1].id
            examined += len(chunk)
            histories = (
                await repository.binding_histories(conn, tenant_id, {e.customer_id for e in chunk if e.customer_id})
                if guide_rule
                else {}
            )
            o2o_codes: set[str] = set()
            for stored in chunk:
                rules = timeline.at(stored.occurred_at)
                o2o_codes.update(rules.o2o_staff_codes(stored.attributes) or ())
            staff = await ids_by_code(conn, "staff", tenant_id, o2o_codes)
            changes: list[tuple[int, Credits]] = []
            for stored in chunk:
                rules = timeline.at(stored.occurred_at)
                codes = rules.o2o_staff_codes(stored.attributes)
                o2o_ids = [staff[code] for code in codes] if codes and all(code in staff for code in codes) else None
                history = histories.get(stored.customer_id or 0, ())
                binding: GuideBinding | None = binding_at(history, stored.occurred_at) if history else None
                credits = attributions[id(rules)].credits(
                    sent=None,
                    refund=False,
                    order=None,
                    binding=binding,
                    occurred_at=stored.occurred_at,
                    o2o_staff_ids=o2o_ids,
                    actor_staff_id=stored.staff_id,
                    team_id=stored.team_id,
                )
                if credits is not None and _differs(credits, stored.credits):
                    changes.append((stored.id, credits))
            moved += await repository.update_credits(conn, tenant_id, changes)
            changed_ids += [event_id for event_id, _credits in changes]
            changed += len(changes)
        refunds = await repository.refunds_follow_orders(conn, tenant_id, changed_ids, starts, ends)
        moved += refunds
        if moved:
            await events.mark_periods_stale_for_confirmed(conn, tenant_id, sorted(set(moved)))
        result = Reattributed(changed, len(refunds), examined)
        await record(
            conn,
            tenant_id,
            actor,
            "attribution.reattribute",
            "event",
            None,
            None,
            {
                "from": from_date,
                "to": to_date,
                "events_examined": examined,
                "events_changed": changed,
                "refunds_changed": len(refunds),
            },
        )
    return result


def _differs(derived: Credits, stored: Credits) -> bool:
    """Whether stored credits (numeric(9,6) shares, as read back) differ from derived ones by value."""
    return (
        tuple(derived.staff_ids) != tuple(stored.staff_ids)
        or [Decimal(share) for share in derived.shares] != [Decimal(share) for share in stored.shares]
        or derived.pool_team_id != stored.pool_team_id
        or (derived.pool_share is None) != (stored.pool_share is None)
        or (derived.pool_share is not None and Decimal(derived.pool_share) != Decimal(stored.pool_share or 0))
    )

"""Entry points of live updates: what a close or a refresh changed (worker side, after its commit) and whom a change
concerns (API side, per subscription).

Worker side: `provisional_snapshot` before a refresh, `announce_refresh` after it, `announce_close` after a close
that changed something; each reads in a unit of work of its own (the close's or refresh's has committed) and hands
the change to the publisher. API side: `subscription_scope` checks the subscription's arguments and reads the
caller's access scope once; `concerns` then decides, without I/O, for every change that arrives.
"""

from __future__ import annotations

import re
from typing import Final

from tenants.access.scope import AccessScope, read_access_scope
from tenants.db.uow import tenant_unit_of_work
from tenants.i18n import _
from tenants.notify import ScorecardChange, ScorecardPublisher, listed, repository
from tenants.notify.errors import LiveError, LiveErrorCode
from tenants.tenancy.auth import Principal
from tenants.tenancy.identity import TenantId

# The period keys of every cycle: 2026 (year), 2026-Q4, 2026-10, 2026-W43.
_PERIOD_KEY: Final = re.compile(r"[0-9]{4}(?:-(?:Q[1-4]|[0-9]{2}|W[0-9]{2}))?", re.ASCII)

Snapshot = dict[int, int]


async def provisional_snapshot(tenant_id: TenantId, scheme_id: int, period_key: str) -> Snapshot:
    """Digests of the period's provisional scorecards now (empty before its first refresh)."""
    async with tenant_unit_of_work(tenant_id) as conn:
        period = await repository.find_period(conn, tenant_id, scheme_id, period_key)
        return {} if period is None else await repository.scorecard_digests(conn, tenant_id, period.id, 0)


async def _publish(
    publisher: ScorecardPublisher,
    tenant_id: TenantId,
    scheme_id: int,
    period_key: str,
    kind: str,
    revision: int,
    staff: set[int],
    teams: set[int],
) -> ScorecardChange:
    change = ScorecardChange(
        tenant_id=int(tenant_id),
        scheme_id=scheme_id,
        period_key=period_key,
        kind="close" if kind == "close" else "refresh",
        revision=revision,
        staff_ids=listed(frozenset(staff)),
        team_ids=listed(frozenset(teams)),
    )
    await publisher.publish(change)
    return change


async def announce_refresh(
    publisher: ScorecardPublisher, tenant_id: TenantId, scheme_id: int, period_key: str, before: Snapshot | None
) -> ScorecardChange | None:
    """After a refresh committed: publish the staff whose provisional scorecard differs from `before` (None when
    nobody's did). `before` None (the snapshot could not be read): every provisional scorecard counts as changed."""
    async with tenant_unit_of_work(tenant_id) as conn:
        period = await repository.find_period(conn, tenant_id, scheme_id, period_key)
        after = {} if period is None else await repository.scorecard_digests(conn, tenant_id, period.id, 0)
        if before is None:
            changed = set(after)
        else:
            changed = {staff for staff in after.keys() | before.keys() if after.get(staff) != before.get(staff)}
        if not changed:
            return None
        teams = await repository.teams_of_staff(conn, tenant_id, changed)
    return await _publish(publisher, tenant_id, scheme_id, period_key, "refresh", 0, changed, teams)


async def announce_close(
    publisher: ScorecardPublisher, tenant_id: TenantId, scheme_id: int, period_key: str, period: int, revision: int
) -> ScorecardChange | None:
    """After a close that wrote `revision` committed: the first close changes everyone's scorecard (provisional to
    final); a re-close those whose scorecard differs from the revision before or who got adjustment lines."""
    async with tenant_unit_of_work(tenant_id) as conn:
        if revision <= 1:
            changed = set(await repository.scorecard_digests(conn, tenant_id, period, revision))
        else:
            changed = await repository.changed_by_reclose(conn, tenant_id, period, revision)
        if not changed:
            return None
        teams = await repository.teams_of_staff(conn, tenant_id, changed)
    return await _publish(publisher, tenant_id, scheme_id, period_key, "close", revision, changed, teams)


async def announce_correction(
    publisher: ScorecardPublisher,
    tenant_id: TenantId,
    scheme_id: int,
    corrected: int,
    revision: int,
    paid_in_key: str,
) -> ScorecardChange | None:
    """After a re-close of an approved period posted its delta into the statement of `paid_in_key` (the next open
    period): the staff who got those lines hear of it on that period too."""
    async with tenant_unit_of_work(tenant_id) as conn:
        paid_in = await repository.find_period(conn, tenant_id, scheme_id, paid_in_key)
        if paid_in is None:
            return None
        changed = await repository.staff_paid_corrections(conn, tenant_id, paid_in.id, corrected, revision)
        if not changed:
            return None
        teams = await repository.teams_of_staff(conn, tenant_id, changed)
    return await _publish(publisher, tenant_id, scheme_id, paid_in_key, "close", paid_in.revision, changed, teams)


async def subscription_scope(
    tenant_id: TenantId, principal: Principal, scheme_id: int | None, period_key: str
) -> AccessScope:
    """The caller's access scope for a subscription to a scheme's period; LiveError when the scheme is not the
    tenant's (SCHEME_NOT_FOUND) or the period is no period key (BAD_PERIOD). Nothing is subscribed yet."""
    if not _PERIOD_KEY.fullmatch(period_key):
        example = _("Give the period as `period`, e.g. 2026-10, 2026-W43, 2026-Q4 or 2026.")
        raise LiveError.of(LiveErrorCode.BAD_PERIOD, example, "period")
    async with tenant_unit_of_work(tenant_id) as conn:
        if scheme_id is None or not await repository.scheme_exists(conn, tenant_id, scheme_id):
            raise LiveError.of(LiveErrorCode.SCHEME_NOT_FOUND, _("No scheme has this id."), "schemeId")
        return await read_access_scope(conn, tenant_id, principal)


def concerns(change: ScorecardChange, scope: AccessScope, scheme_id: int, period_key: str) -> bool:
    """Whether a subscriber with `scope`, watching the scheme's period, is told of `change`: admins of everything,
    a manager when a staff member of their teams' subtree (or they themselves) changed, staff only of their own."""
    if change.scheme_id != scheme_id or change.period_key != period_key:
        return False
    if scope.whole_tenant:
        return True
    own = scope.staff_id is not None and (change.staff_ids is None or scope.staff_id in change.staff_ids)
    if own or scope.own_data_only or not scope.team_ids:
        return own
    return change.team_ids is None or not change.team_ids.isdisjoint(scope.team_ids)

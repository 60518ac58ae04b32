"""Entry points of the scorecards read domain: what a staff member and a manager read (issue 8).

Each entry point takes the tenant id and the caller's principal, opens ONE unit of work, reads the caller's
`AccessScope` in it (tenants/access/scope.py), then runs a fixed number of statements (tenants/scorecards/
repository.py) whatever the page size, number of metrics or rules; everything else is pure: labels
(labels.py), attainment, "how far to the next step" (tenants/rules/progress.py), and the current explanation of each
rule of a statement (the engine itself, run for one participant).

Scope: staff read only their own scorecards and statements (another staff member's is "not found", None, exactly
like another tenant's); managers read the staff of their teams' subtrees; owners, admins and API keys the tenant. A
leaderboard is the exception that shows other people: a participant sees the whole ranking of a period they take
part in (rank, name, team, total, grade only), a manager the rows of their subtree.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.access.scope import read_access_scope
from tenants.db.uow import tenant_unit_of_work
from tenants.disputes.repository import DisputeView, disputes_of_lines
from tenants.i18n import _
from tenants.periods.aggregation import metric_values
from tenants.periods.approvals import Approval, approval_of
from tenants.periods.models import Period as PeriodRecord
from tenants.rules.calendar import CalendarError, period_containing, period_window, zone
from tenants.rules.config import RankBonusReward, SchemeConfig, SchemeConfigInvalid, parse_scheme_config
from tenants.rules.engine import compute_period
from tenants.rules.money import CTX, HUNDRED, net_amount, quantize_score, round2
from tenants.rules.progress import CardFacts, Progress, progress
from tenants.rules.scorecard import ParticipantInput, rule_word
from tenants.schemes.models import SchemeVersion
from tenants.schemes.service import pick_version_in_force
from tenants.scorecards import repository
from tenants.scorecards.errors import ScorecardError, ScorecardErrorCode
from tenants.scorecards.labels import metric_label
from tenants.scorecards.records import (
    Bucket,
    CardPageView,
    CardSummary,
    CardView,
    HistoryView,
    KindTotal,
    LineView,
    MetricView,
    MySchemeView,
    PeriodView,
    RuleView,
    StatementView,
    TeamPayout,
    TeamSummaryView,
)
from tenants.scorecards.repository import CardFilter, CardOrder, CardRow, PeriodRow, StatementPeriodRow
from tenants.tenancy.auth import Principal
from tenants.tenancy.identity import TenantId

MAX_PAGE: Final = 100
DEFAULT_PAGE: Final = 20
MAX_HISTORY: Final = 36
KINDS: Final = ("commission", "bonus", "penalty", "adjustment")
# The adjustment lines of a re-close end with the recomputed line's own derivation (tenants/rules/adjustments.py).
_RECOMPUTED_MARK: Final = "重算依据："
_DEFAULT_ZONE: Final = "Asia/Shanghai"


# --------------------------------------------------------------------------------------------------------------------
# Configs, labels, periods (pure helpers)
# --------------------------------------------------------------------------------------------------------------------

_CONFIGS: dict[tuple[int, int], SchemeConfig | None] = {}
_CONFIGS_MAX: Final = 4096


def _config(tenant_id: TenantId, version_id: int | None, raw: Any) -> SchemeConfig | None:
    """A published version's parsed config, kept per process (published versions never change); None when it no
    longer validates (a scorecard then shows its stored labels and no progress)."""
    if version_id is None or raw is None:
        return None
    key = (int(tenant_id), version_id)
    if key in _CONFIGS:
        return _CONFIGS[key]
    try:
        config: SchemeConfig | None = parse_scheme_config(raw)
    except SchemeConfigInvalid:
        config = None
    if len(_CONFIGS) >= _CONFIGS_MAX:
        _CONFIGS.clear()
    _CONFIGS[key] = config
    return config


def _timezone(config: SchemeConfig | None) -> str:
    return config.timezone if config is not None else _DEFAULT_ZONE


def _period_view(row: PeriodRow, config: SchemeConfig | None) -> PeriodView:
    tz = zone(_timezone(config))
    return PeriodView(
        id=row.id,
        scheme_id=row.scheme_id,
        scheme_name=row.scheme_name,
        key=row.key,
        state=row.state,
        revision=row.revision,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        first_day=row.starts_at.astimezone(tz).date(),
        last_day=(row.ends_at.astimezone(tz) - timedelta(days=1)).date(),
        closed_at=row.closed_at,
        provisional_at=row.provisional_at,
        version_id=row.version_id,
        tenant_timezone=row.tenant_timezone,
    )


def exact(value: Decimal) -> Decimal:
    """The same number without trailing zeros and never in exponent form ("4.800000" -> 4.8, 20000 stays 20000)."""
    normalized = value.normalize(CTX)
    if not normalized:
        return Decimal(0)  # never "-0"
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return normalized.quantize(Decimal(1))
    return normalized


def _decimal(raw: Any) -> Decimal | None:
    if raw is None:
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


def _attainment(value: Decimal | None, target: Decimal | None, lower: bool) -> Decimal | None:
    """Percent of the target reached, shown to 2 dp (display rounding: money.round2)."""
    if value is None or target is None:
        return None
    if lower:
        if value <= 0:
            return None
        ratio = CTX.divide(target, value)
    else:
        if target <= 0:
            return None
        ratio = CTX.divide(value, target)
    return round2(CTX.multiply(ratio, HUNDRED))


def _metric_views(stored: Sequence[dict[str, Any]], config: SchemeConfig | None) -> tuple[MetricView, ...]:
    metrics = {m.key: (position, m) for position, m in enumerate(config.metrics, start=1)} if config else {}
    views: list[MetricView] = []
    for position, entry in enumerate(stored, start=1):
        key = str(entry.get("key"))
        found = metrics.get(key)
        value = _decimal(entry.get("value"))
        weight = _decimal(entry.get("weight"))
        score = _decimal(entry.get("score"))
        if found is not None:
            label = metric_label(found[1], found[0])
            target = found[1].target
            lower = found[1].scoring.direction == "lower"
        else:
            stored_label = str(entry.get("label") or "")
            label = stored_label if stored_label and stored_label != key else f"辅助指标 {position}"
            target, lower = None, False
        views.append(
            MetricView(
                key=key,
                label=label,
                value=exact(value) if value is not None else None,
                target=exact(target) if target is not None else None,
                attainment=_attainment(value, target, lower) if weight is not None else None,
                weight=exact(weight) if weight is not None else None,
                score=score,
                scored=weight is not None,
                explanation=str(entry.get("explanation") or ""),
            )
        )
    return tuple(views)


def card_progress(view: CardView) -> Progress | None:
    """How far the card is from the next grade, step, tier and gate (tenants/rules/progress.py): computed when a
    reader asks for it, not with every card. None when the version's config can no longer be read."""
    if view.config is None:
        return None
    labels = {metric.key: metric.label for metric in view.metrics}
    try:
        return progress(view.config, CardFacts(total=view.total, values=view.values), labels)
    except ValueError:
        return None  # a config the engine refuses (it could not have produced this card either)


def _ranked_per_team(config: SchemeConfig | None) -> bool:
    return config is not None and any(isinstance(r, RankBonusReward) and r.per_team for r in config.rewards)


def _card_view(period: PeriodView, row: CardRow, config: SchemeConfig | None, *, details: bool = True) -> CardView:
    return CardView(
        period=period,
        staff_id=row.staff_id,
        staff_code=row.staff_code,
        staff_name=row.staff_name,
        team_code=row.team_code,
        team_name=row.team_name,
        revision=row.revision,
        provisional=row.provisional,
        computed_at=row.computed_at,
        total=row.total,
        grade=row.grade,
        rank=row.rank,
        participants=row.participants,
        team_rank=row.team_rank,
        team_participants=row.team_participants,
        ranked_per_team=_ranked_per_team(config),
        metrics=_metric_views(row.metrics, config) if details else (),
        flags=tuple(str(flag.get("message", "")) for flag in row.flags),
        net=row.net,
        config=config if details else None,
        values={str(entry.get("key")): _decimal(entry.get("value")) for entry in row.metrics} if details else {},
    )


# --------------------------------------------------------------------------------------------------------------------
# Cursors
# --------------------------------------------------------------------------------------------------------------------


def encode_cursor(order: CardOrder, value: Any, code: str) -> str:
    text = json.dumps([order.value, None if value is None else str(value), code], ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _bad_cursor() -> ScorecardError:
    error: ScorecardError = ScorecardError.of(
        ScorecardErrorCode.BAD_CURSOR, _("The cursor is not one this listing gave out (or its order differs)."), "after"
    )
    return error


def decode_cursor(raw: str, order: CardOrder) -> tuple[Any, str]:
    """(sort value, staff code) of a cursor made by `encode_cursor` for the same order; BAD_CURSOR otherwise."""
    if not raw or len(raw) > 1024:
        raise _bad_cursor()
    try:
        decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
    except (binascii.Error, ValueError):
        raise _bad_cursor() from None
    if not (isinstance(decoded, list) and len(decoded) == 3 and decoded[0] == order.value):
        raise _bad_cursor()
    _order, value, code = decoded
    if not isinstance(code, str) or "\x00" in code:
        raise _bad_cursor()
    try:
        if order in (CardOrder.TOTAL_DESC, CardOrder.TOTAL_ASC):
            number = Decimal(value)
            if not number.is_finite() or abs(number) >= Decimal(10) ** 8:
                raise _bad_cursor()
            return number, code
        if order == CardOrder.RANK:
            rank = int(value)
            if not 0 < rank < 2**31:
                raise _bad_cursor()
            return rank, code
        if order == CardOrder.NAME:
            if not isinstance(value, str) or "\x00" in value:
                raise _bad_cursor()
            return value, code
    except (TypeError, ValueError, InvalidOperation):
        raise _bad_cursor() from None
    return None, code


def _page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 1:
        raise ScorecardError.of(
            ScorecardErrorCode.BAD_PAGE_SIZE, _("first must be between 1 and {max}.", max=MAX_PAGE), "first"
        )
    return min(first, MAX_PAGE)


# --------------------------------------------------------------------------------------------------------------------
# Reads of one scorecard
# --------------------------------------------------------------------------------------------------------------------


async def _period(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str
) -> tuple[PeriodRow, SchemeConfig | None] | None:
    row = await repository.period_context(conn, tenant_id, scheme_id, key)
    if row is None:
        return None
    return row, _config(tenant_id, row.version_id, row.config)


async def my_scorecard(tenant_id: TenantId, principal: Principal, scheme_id: int, key: str) -> CardView | None:
    """The caller's own card of the period's latest revision (provisional while open); None without one."""
    async with tenant_unit_of_work(tenant_id, hash_joins_only=True) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        if scope.staff_id is None:
            return None
        found = await _period(conn, tenant_id, scheme_id, key)
        if found is None:
            return None
        period, config = found
        row = await repository.one_card(conn, tenant_id, period, staff_id=scope.staff_id)
    return _card_view(_period_view(period, config), row, config) if row is not None else None


async def staff_scorecard(
    tenant_id: TenantId, principal: Principal, scheme_id: int, key: str, staff_code: str
) -> CardView | None:
    """A staff member's card by code, when in the caller's scope (staff: only their own code)."""
    async with tenant_unit_of_work(tenant_id, hash_joins_only=True) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        staff = await repository.staff_in_scope(conn, tenant_id, scope, code=staff_code)
        if staff is None:
            return None
        found = await _period(conn, tenant_id, scheme_id, key)
        if found is None:
            return None
        period, config = found
        row = await repository.one_card(conn, tenant_id, period, staff_id=staff.id)
    return _card_view(_period_view(period, config), row, config) if row is not None else None


# --------------------------------------------------------------------------------------------------------------------
# Listings: scorecards (managers) and the leaderboard (everyone taking part)
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListingRequest:
    filters: CardFilter = field(default_factory=CardFilter)
    order: CardOrder = CardOrder.TOTAL_DESC
    first: int | None = None
    after: str | None = None


async def scorecards(
    tenant_id: TenantId, principal: Principal, scheme_id: int, key: str, request: ListingRequest
) -> CardPageView | None:
    """A keyset page of the period's latest scorecards of the staff in scope; None when the period does not exist."""
    limit = _page_size(request.first)
    after = decode_cursor(request.after, request.order) if request.after is not None else None
    async with tenant_unit_of_work(tenant_id, hash_joins_only=True) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        found = await _period(conn, tenant_id, scheme_id, key)
        if found is None:
            return None
        period, config = found
        page = await repository.card_page(
            conn,
            tenant_id,
            period,
            scope,
            filters=request.filters,
            order=request.order,
            after=after,
            limit=limit,
            with_details=True,
        )
    view = _period_view(period, config)
    cards = tuple(_card_view(view, row, config) for row in page.rows)
    return CardPageView(
        period=view,
        cards=cards,
        cursors=tuple(
            encode_cursor(request.order, repository.sort_value(request.order, row), row.staff_code) for row in page.rows
        ),
        has_next=page.has_next,
        total_count=page.total_count,
        me=None,
    )


async def leaderboard(
    tenant_id: TenantId,
    principal: Principal,
    scheme_id: int,
    key: str,
    team_code: str | None,
    first: int | None,
    after: str | None,
) -> CardPageView | None:
    """The ranking of the period (by rank, then code), with the caller's own row always included (`me`). A staff
    member sees the ranking of a period they take part in (None otherwise); a manager the rows of their subtree."""
    limit = _page_size(first)
    cursor = decode_cursor(after, CardOrder.RANK) if after is not None else None
    async with tenant_unit_of_work(tenant_id, hash_joins_only=True) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        if scope.own_data_only and scope.staff_id is None:
            return None
        found = await _period(conn, tenant_id, scheme_id, key)
        if found is None:
            return None
        period, config = found
        page = await repository.card_page(
            conn,
            tenant_id,
            period,
            scope,
            filters=CardFilter(team_code=team_code),
            order=CardOrder.RANK,
            after=cursor,
            limit=limit,
            with_details=False,
            me=scope.staff_id,
            apply_scope=not scope.own_data_only,
        )
    if scope.own_data_only and page.me is None:
        return None  # not a participant of this period: its ranking is not theirs to read
    view = _period_view(period, config)
    return CardPageView(
        period=view,
        cards=tuple(_card_view(view, row, config, details=False) for row in page.rows),
        cursors=tuple(encode_cursor(CardOrder.RANK, row.rank, row.staff_code) for row in page.rows),
        has_next=page.has_next,
        total_count=page.total_count,
        me=_card_view(view, page.me, config, details=False) if page.me is not None else None,
    )


# --------------------------------------------------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------------------------------------------------


def current_explanations(
    config: SchemeConfig | None, staff_id: int, staff_code: str, team_code: str | None, state: Any
) -> dict[str, tuple[Any, str]]:
    """Rule key -> (amount, derivation) of the rules the engine computes for this staff member alone from the stored
    aggregates of the latest revision. Rules that depend on other participants (rank bonus, team pool) come out
    differently alone: the caller uses a recomputed derivation only when its amount equals what has been posted."""
    if config is None or not isinstance(state, dict) or not isinstance(state.get("m"), dict):
        return {}
    try:
        participant = ParticipantInput(
            staff_id=staff_id,
            staff_code=staff_code,
            team_code=team_code,
            metrics=metric_values(config, state),
            penalty_counts={str(k): int(v) for k, v in (state.get("p") or {}).items()},
        )
        result = compute_period(config, [participant])
    except (ValueError, TypeError, ArithmeticError):
        return {}
    (card,) = result.scorecards
    return {line.rule_key: (line.amount, line.derivation) for line in card.lines}


def _rule_labels(config: SchemeConfig | None) -> dict[str, tuple[str, str]]:
    """Rule key -> (label, kind) of every reward and penalty of the config."""
    if config is None:
        return {}
    labels: dict[str, tuple[str, str]] = {}
    for reward in config.rewards:
        labels[reward.key] = (
            rule_word(reward.label, reward.type),
            "commission" if reward.type == "commission" else "bonus",
        )
    for penalty in config.penalties:
        if penalty.type != "demotion":
            labels[penalty.key] = (rule_word(penalty.label, penalty.type), "penalty")
    return labels


def _approval(entry: StatementPeriodRow) -> Approval:
    period = entry.period
    record = PeriodRecord(id=period.id, key=period.key, state=period.state, revision=period.revision, **entry.approval)
    return approval_of(record)


def _statement(
    staff: repository.StaffRow,
    key: str,
    scheme_id: int | None,
    periods: Sequence[StatementPeriodRow],
    lines: Sequence[repository.LineRow],
    tenant_id: TenantId,
    disputes: Mapping[int, Sequence[DisputeView]],
) -> StatementView:
    period_views: list[PeriodView] = []
    line_views: list[LineView] = []
    rules: list[RuleView] = []
    by_period: dict[int, list[repository.LineRow]] = defaultdict(list)
    for line in lines:
        by_period[line.period_id].append(line)
    for entry in periods:
        period = entry.period
        config = _config(tenant_id, period.version_id, period.config)
        view = _period_view(period, config)
        period_views.append(view)
        labels = _rule_labels(config)
        period_lines = by_period.get(period.id, [])
        recomputed = (
            current_explanations(config, staff.id, staff.code, entry.card_team_code, entry.card_state)
            if period.revision > 1
            else {}
        )
        grouped: dict[str, list[LineView]] = defaultdict(list)
        for line in period_lines:
            label, _kind = labels.get(line.rule_key, (line.rule_key, line.kind))
            line_view = LineView(
                id=line.id,
                period_id=period.id,
                period_key=period.key,
                scheme_id=period.scheme_id,
                revision=line.revision,
                current=line.revision == period.revision,
                rule_key=line.rule_key,
                rule_label=label,
                kind=line.kind,
                amount=line.amount,
                derivation=line.derivation,
                posted_at=line.posted_at,
                corrects_period_key=line.corrects_period_key,
                corrects_revision=line.corrects_revision,
                dispute_id=line.dispute_id,
                disputes=tuple(disputes.get(line.id, ())),
            )
            line_views.append(line_view)
            grouped[line.rule_key].append(line_view)
        for rule_key, rule_lines in grouped.items():
            posted = net_amount(x.amount for x in rule_lines)
            latest = rule_lines[-1]
            explanation = latest.derivation
            if latest.kind == "adjustment" and _RECOMPUTED_MARK in explanation:
                explanation = explanation.rsplit(_RECOMPUTED_MARK, 1)[1]
            if latest.revision != period.revision and rule_key in recomputed:
                amount, derivation = recomputed[rule_key]
                if amount == posted:
                    # Unchanged by the re-close (nothing posted for it): its explanation is the current revision's.
                    explanation = derivation
            label, kind = labels.get(rule_key, (latest.rule_label, rule_lines[0].kind))
            rules.append(
                RuleView(
                    period_id=period.id,
                    rule_key=rule_key,
                    label=label,
                    kind=kind,
                    posted=posted,
                    explanation=explanation,
                    lines=tuple(rule_lines),
                )
            )
    sums: dict[str, list[Decimal]] = defaultdict(list)
    for line_view in line_views:
        sums[line_view.kind].append(line_view.amount)
    kinds = [*KINDS, *sorted(set(sums) - set(KINDS))]
    return StatementView(
        staff_id=staff.id,
        staff_code=staff.code,
        staff_name=staff.name,
        team_code=staff.team_code,
        period_key=key,
        scheme_id=scheme_id,
        periods=tuple(period_views),
        lines=tuple(line_views),
        rules=tuple(rules),
        totals=tuple(KindTotal(kind, net_amount(sums.get(kind, []))) for kind in kinds),
        net=net_amount(x.amount for x in line_views),
        approvals=tuple(_approval(entry) for entry in periods),
    )


async def staff_statement(
    tenant_id: TenantId, principal: Principal, key: str, staff_code: str | None, scheme_id: int | None = None
) -> StatementView | None:
    """A staff member's statement of the period `key` (of one scheme, or of every scheme with that period): every
    line of every revision, each rule's current explanation beside its posted amount, totals by kind. `staff_code`
    None: the caller's own. None when the staff member is not in scope or has nothing in such a period."""
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        staff = await repository.staff_in_scope(conn, tenant_id, scope, code=staff_code)
        if staff is None:
            return None
        periods = await repository.statement_periods(conn, tenant_id, key, staff.id, scheme_id)
        lines = await repository.statement_lines(conn, tenant_id, [p.period.id for p in periods], staff.id)
        # The lines are the staff member's (scoped above): each one's disputes, with their state and answer.
        disputes = await disputes_of_lines(conn, tenant_id, [line.id for line in lines])
    # Only the periods the staff member takes part in (a card) or was paid in (lines).
    paid = {line.period_id for line in lines}
    mine = [p for p in periods if p.card_total is not None or p.period.id in paid]
    if not mine:
        return None
    return _statement(staff, key, scheme_id, mine, lines, tenant_id, disputes)


async def lines_of_cards(
    tenant_id: TenantId, principal: Principal, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], list[LineView]]:
    """(period id, staff id) -> every line posted into that period for that staff member (all revisions, oldest
    first), for the pairs in the caller's scope; one unit of work and one statement for any number of pairs (the
    per-request loader of Scorecard.lines batches a whole page into one call)."""
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        rows = await repository.lines_of_cards(conn, tenant_id, scope, keys)
    # Each version's config comes once, on one of its lines (not necessarily the first in this order).
    raw_configs = {row.line.scheme_version_id: row.config for row in rows if row.config is not None}
    labels = {version: _rule_labels(_config(tenant_id, version, raw)) for version, raw in raw_configs.items()}
    found: dict[tuple[int, int], list[LineView]] = defaultdict(list)
    for row in rows:
        line = row.line
        version = line.scheme_version_id
        found[(line.period_id, row.staff_id)].append(
            LineView(
                id=line.id,
                period_id=line.period_id,
                period_key=row.period_key,
                scheme_id=row.scheme_id,
                revision=line.revision,
                current=True,  # set by the caller, which knows the card's revision
                rule_key=line.rule_key,
                rule_label=labels.get(version, {}).get(line.rule_key, (line.rule_key, line.kind))[0],
                kind=line.kind,
                amount=line.amount,
                derivation=line.derivation,
                posted_at=line.posted_at,
            )
        )
    return dict(found)


# --------------------------------------------------------------------------------------------------------------------
# The staff member's schemes and history
# --------------------------------------------------------------------------------------------------------------------


def _version(scheme_id: int, raw: dict[str, Any], tenant_id: TenantId) -> SchemeVersion:
    effective = raw.get("effective_from")
    return SchemeVersion(
        id=int(raw["id"]),
        tenant_id=int(tenant_id),
        scheme_id=scheme_id,
        number=int(raw["number"]),
        config=raw.get("config"),
        status="published",
        effective_from=datetime.fromisoformat(effective).date() if isinstance(effective, str) else None,
    )


def _takes_part(config: SchemeConfig, role: str | None, team_codes: Sequence[str]) -> bool:
    roles, teams = config.participants.roles, config.participants.teams
    return (not roles or role in roles) and (not teams or any(code in teams for code in team_codes))


def _summary(row: repository.MyPeriodRow) -> CardSummary | None:
    if row.total is None or row.rank is None:
        return None
    return CardSummary(row.total, row.grade, row.rank, bool(row.provisional), row.net)


async def my_schemes(tenant_id: TenantId, principal: Principal, now: datetime | None = None) -> list[MySchemeView]:
    """The active schemes the caller takes part in (a scorecard in one of their periods, or the participants of the
    version in force now include them), each with its current period and its last closed one, and the caller's card
    summary in each."""
    moment = now or datetime.now(UTC)
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        if scope.staff_id is None:
            return []
        found = await repository.schemes_of_staff(conn, tenant_id, scope.staff_id)
        chosen: list[tuple[repository.SchemeRow, SchemeConfig | None, SchemeVersion | None, str | None]] = []
        for scheme in found.schemes:
            versions = [_version(scheme.id, raw, tenant_id) for raw in scheme.versions]
            version = pick_version_in_force(versions, moment)
            config = _config(tenant_id, int(version.id), version.config) if version is not None else None
            takes_part = scheme.has_cards or (config is not None and _takes_part(config, found.role, found.team_codes))
            if not takes_part:
                continue
            current_key = None
            if config is not None:
                try:
                    current_key = period_containing(config.cycle, moment, config.timezone)
                except CalendarError:
                    current_key = None
            chosen.append((scheme, config, version, current_key))
        rows = await repository.my_periods(
            conn,
            tenant_id,
            scope.staff_id,
            scheme_keys=[(scheme.id, key) for scheme, _c, _v, key in chosen if key is not None],
            last_closed_of=[scheme.id for scheme, *_ in chosen],
        )
    views: list[MySchemeView] = []
    for scheme, config, version, current_key in chosen:
        of_scheme = [row for row in rows if row.period.scheme_id == scheme.id]
        current_row = next((row for row in of_scheme if row.period.key == current_key), None)
        closed_row = next((row for row in of_scheme if row.period.revision > 0 and row.period.key != current_key), None)
        current: PeriodView | None = None
        if current_row is not None:
            current = _period_view(
                current_row.period,
                _config(tenant_id, current_row.period.version_id, current_row.period.config) or config,
            )
        elif current_key is not None and config is not None:
            # Nothing computed in it yet: the period as the calendar defines it.
            starts_at, ends_at = period_window(config.cycle, current_key, config.timezone)
            tz = zone(config.timezone)
            current = PeriodView(
                id=None,
                scheme_id=scheme.id,
                scheme_name=scheme.name,
                key=current_key,
                state="open",
                revision=0,
                starts_at=starts_at,
                ends_at=ends_at,
                first_day=starts_at.astimezone(tz).date(),
                last_day=(ends_at.astimezone(tz) - timedelta(days=1)).date(),
                closed_at=None,
                provisional_at=None,
                version_id=int(version.id) if version is not None else None,
            )
        last_closed = (
            _period_view(closed_row.period, _config(tenant_id, closed_row.period.version_id, closed_row.period.config))
            if closed_row is not None
            else None
        )
        views.append(
            MySchemeView(
                scheme_id=scheme.id,
                name=scheme.name,
                description=scheme.description,
                current=current,
                current_card=_summary(current_row) if current_row is not None else None,
                last_closed=last_closed,
                last_closed_card=_summary(closed_row) if closed_row is not None else None,
            )
        )
    return views


async def my_history(tenant_id: TenantId, principal: Principal, scheme_id: int, last: int) -> list[HistoryView]:
    """Total, grade, rank and net of the caller's last `last` closed periods of the scheme, newest first."""
    if last < 1:
        raise ScorecardError.of(
            ScorecardErrorCode.BAD_PAGE_SIZE, _("last must be between 1 and {max}.", max=MAX_HISTORY), "last"
        )
    async with tenant_unit_of_work(tenant_id) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        if scope.staff_id is None:
            return []
        rows = await repository.my_periods(
            conn, tenant_id, scope.staff_id, closed_of_scheme=scheme_id, last=min(last, MAX_HISTORY)
        )
    return [
        HistoryView(
            period=_period_view(row.period, _config(tenant_id, row.period.version_id, row.period.config)),
            total=row.total,
            grade=row.grade,
            rank=row.rank,
            net=row.net,
        )
        for row in rows
        if row.total is not None and row.rank is not None
    ]


# --------------------------------------------------------------------------------------------------------------------
# Team summary
# --------------------------------------------------------------------------------------------------------------------

BUCKET_WIDTH: Final = Decimal(10)


async def team_summary(
    tenant_id: TenantId, principal: Principal, scheme_id: int, key: str, team_code: str | None
) -> TeamSummaryView | None:
    """Participants, average and distribution of totals (10-point buckets), grade counts, payouts by kind and by team,
    top and bottom five, of the staff in scope (and in the team's subtree when given)."""
    async with tenant_unit_of_work(tenant_id, hash_joins_only=True) as conn:
        scope = await read_access_scope(conn, tenant_id, principal)
        found = await _period(conn, tenant_id, scheme_id, key)
        if found is None:
            return None
        period, config = found
        row = await repository.team_summary(conn, tenant_id, period, scope, team_code, BUCKET_WIDTH)
    view = _period_view(period, config)
    counts = dict(row.buckets)
    buckets: list[Bucket] = []
    if row.buckets:
        start, last = row.buckets[0][0], row.buckets[-1][0]
        while start <= last:
            buckets.append(Bucket(exact(start), exact(start + BUCKET_WIDTH), counts.get(start, 0)))
            start += BUCKET_WIDTH
    by_kind = dict(row.by_kind)
    kinds = [*KINDS, *sorted(set(by_kind) - set(KINDS))]
    return TeamSummaryView(
        period=view,
        team_code=team_code,
        participants=row.participants,
        average=quantize_score(row.average) if row.average is not None else None,
        minimum=row.minimum,
        maximum=row.maximum,
        buckets=tuple(buckets),
        grades=tuple(row.grades),
        payouts_by_kind=tuple(KindTotal(kind, net_amount([by_kind.get(kind, Decimal(0))])) for kind in kinds),
        payouts_by_team=tuple(TeamPayout(code, name, n, net_amount([amount])) for code, name, amount, n in row.by_team),
        payout_total=net_amount(by_kind.values()),
        top=tuple(_card_view(view, card, config, details=False) for card in row.top),
        bottom=tuple(_card_view(view, card, config, details=False) for card in row.bottom),
    )


__all__ = [
    "MAX_PAGE",
    "ListingRequest",
    "card_progress",
    "current_explanations",
    "decode_cursor",
    "encode_cursor",
    "exact",
    "leaderboard",
    "lines_of_cards",
    "my_history",
    "my_schemes",
    "my_scorecard",
    "scorecards",
    "staff_scorecard",
    "staff_statement",
    "team_summary",
]

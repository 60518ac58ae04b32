"""What the scorecards read domain answers: plain frozen values, numbers as exact Decimals, times as stored (UTC;
the API shows them in the tenant's zone), explanations as the engine wrote them or as i18n Messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from tenants.disputes.repository import DisputeView
from tenants.i18n import Message
from tenants.periods.approvals import Approval
from tenants.rules.config import SchemeConfig


@dataclass(frozen=True, slots=True)
class PeriodView:
    id: int | None  # None: the current period has no row yet (nothing computed in it)
    scheme_id: int
    scheme_name: str
    key: str
    state: str  # open | closing | closed | stale
    revision: int
    starts_at: datetime
    ends_at: datetime
    first_day: date  # local calendar days in the scheme's timezone
    last_day: date
    closed_at: datetime | None
    provisional_at: datetime | None
    version_id: int | None
    tenant_timezone: str | None = None  # when the read had it at hand (the API shows times in it)


@dataclass(frozen=True, slots=True)
class MetricView:
    key: str
    label: str  # never the key (tenants/scorecards/labels.py)
    value: Decimal | None  # exact, without trailing zeros; None: no data (an empty ratio)
    target: Decimal | None
    attainment: Decimal | None  # percent of the target reached (lower-is-better: target / value), 2 dp half-up
    weight: Decimal | None  # None for a helper metric (not scored)
    score: Decimal | None  # points, 4 dp as stored
    scored: bool
    explanation: str  # the engine's derivation, e.g. "36 / 30 = 120% (上限 120%) → 120.00 分"


@dataclass(frozen=True, slots=True)
class CardView:
    period: PeriodView
    staff_id: int
    staff_code: str
    staff_name: str
    team_code: str | None
    team_name: str | None
    revision: int
    provisional: bool
    computed_at: datetime
    total: Decimal  # 4 dp
    grade: str | None
    rank: int
    participants: int
    team_rank: int
    team_participants: int
    ranked_per_team: bool  # a rank bonus of the scheme ranks within teams
    metrics: tuple[MetricView, ...]
    flags: tuple[str, ...]
    net: Decimal
    # What "how far to the next step" is computed from, only when asked (service.card_progress): the version's config
    # (None when it can no longer be read) and the stored metric values, exact.
    config: SchemeConfig | None
    values: Mapping[str, Decimal | None]


@dataclass(frozen=True, slots=True)
class CardPageView:
    period: PeriodView
    cards: tuple[CardView, ...]
    cursors: tuple[str, ...]  # one per card
    has_next: bool
    total_count: int
    me: CardView | None


@dataclass(frozen=True, slots=True)
class LineView:
    id: int
    period_id: int
    period_key: str
    scheme_id: int
    revision: int
    current: bool  # posted by the period's latest revision
    rule_key: str
    rule_label: str
    kind: str  # commission | bonus | penalty | adjustment
    amount: Decimal
    derivation: str
    posted_at: datetime
    corrects_period_key: str | None = None  # a prior-period adjustment: the period it corrects
    corrects_revision: int | None = None
    dispute_id: int | None = None  # the dispute this adjustment answers
    disputes: tuple[DisputeView, ...] = ()  # disputes raised on this line, oldest first


@dataclass(frozen=True, slots=True)
class RuleView:
    """One rule of a statement: what has been posted for it (every revision), beside the current explanation."""

    period_id: int
    rule_key: str
    label: str
    kind: str
    posted: Decimal  # the sum of its posted lines
    explanation: str  # the latest revision's derivation of the rule (see service.current_explanations)
    lines: tuple[LineView, ...]


@dataclass(frozen=True, slots=True)
class KindTotal:
    kind: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class StatementView:
    staff_id: int
    staff_code: str
    staff_name: str
    team_code: str | None
    period_key: str
    scheme_id: int | None  # the one scheme asked for, or None (every scheme's period with this key)
    periods: tuple[PeriodView, ...]
    lines: tuple[LineView, ...]  # every line, by period, revision, age
    rules: tuple[RuleView, ...]
    totals: tuple[KindTotal, ...]
    net: Decimal
    approvals: tuple[Approval, ...] = ()  # one per period of `periods` (tenants/periods/approvals.py)


@dataclass(frozen=True, slots=True)
class MySchemeView:
    scheme_id: int
    name: str
    description: str
    current: PeriodView | None
    current_card: CardSummary | None
    last_closed: PeriodView | None
    last_closed_card: CardSummary | None


@dataclass(frozen=True, slots=True)
class CardSummary:
    total: Decimal
    grade: str | None
    rank: int
    provisional: bool
    net: Decimal


@dataclass(frozen=True, slots=True)
class HistoryView:
    period: PeriodView
    total: Decimal
    grade: str | None
    rank: int
    net: Decimal


@dataclass(frozen=True, slots=True)
class Bucket:
    start: Decimal  # totals in [start, start + width)
    end: Decimal
    count: int


@dataclass(frozen=True, slots=True)
class TeamPayout:
    team_code: str | None
    team_name: str | None
    participants: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TeamSummaryView:
    period: PeriodView
    team_code: str | None
    participants: int
    average: Decimal | None  # 4 dp half-up (tenants/rules/money.py quantize_score)
    minimum: Decimal | None
    maximum: Decimal | None
    buckets: tuple[Bucket, ...]  # every bucket from the lowest to the highest total, empty ones included
    grades: tuple[tuple[str | None, int], ...]
    payouts_by_kind: tuple[KindTotal, ...]
    payouts_by_team: tuple[TeamPayout, ...]
    payout_total: Decimal
    top: tuple[CardView, ...]
    bottom: tuple[CardView, ...]


Explanation = str | Message

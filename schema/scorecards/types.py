"""GraphQL types of the scorecards reads and their converters from tenants/scorecards/records.py.

Numbers are Decimals (money as 2-dp strings, scores 4 dp as stored, metric values exact without trailing zeros),
times are shown with the reader's tenant's UTC offset by the schema's DateTime scalar (schema/common.py), dates are
dates, and every object a client caches has a global `id` (schema/common.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry

from schema.common import global_id
from schema.context import Info
from schema.payroll.types import Dispute, StatementApproval
from schema.scorecards.loaders import lines_loader
from tenants.i18n import Message
from tenants.periods.approvals import ApprovalState
from tenants.rules import progress as rules
from tenants.rules.money import round2
from tenants.scorecards import records, service
from tenants.scorecards.errors import ScorecardErrorCode
from tenants.scorecards.repository import CardOrder

strawberry.enum(
    ScorecardErrorCode,
    name="ScorecardErrorCode",
    description="Codes (errors[].extensions.code) of a refused scorecards read: a bad cursor or page size.",
)
ScorecardOrder = strawberry.enum(
    CardOrder,
    name="ScorecardOrder",
    description="Orders of a scorecards page; every order ends with the staff code, so pages never skip or repeat.",
)


def period_id(scheme_id: int, key: str) -> strawberry.ID:
    """A period is one (scheme, key) for ever, whether or not anything was computed in it yet."""
    return global_id("Period", scheme_id, key)


@strawberry.type(name="PeriodSummary", description="One period of a scheme as the scorecards reads show it.")
class PeriodSummary:
    id: strawberry.ID = strawberry.field(description="Global id: the scheme and the period key.")
    scheme_id: strawberry.ID = strawberry.field(description="The scheme's id.")
    scheme_name: str = strawberry.field(description="The scheme's name.")
    key: str = strawberry.field(description="The period key: 2026-W43, 2026-10, 2026-Q4 or 2026.")
    state: str = strawberry.field(description="open, closing, closed or stale (events arrived after the close).")
    revision: int = strawberry.field(description="The latest closed revision; 0 while only provisional.")
    starts_at: datetime = strawberry.field(description="First instant, with the tenant's UTC offset.")
    ends_at: datetime = strawberry.field(description="End (exclusive), with the tenant's UTC offset.")
    first_day: date = strawberry.field(description="First local day in the scheme's timezone.")
    last_day: date = strawberry.field(description="Last local day (inclusive) in the scheme's timezone.")
    closed_at: datetime | None = strawberry.field(description="When the latest revision was closed.")
    provisional_at: datetime | None = strawberry.field(description="When provisional scorecards were last computed.")

    @classmethod
    def of(cls, view: records.PeriodView) -> PeriodSummary:
        return cls(
            id=period_id(view.scheme_id, view.key),
            scheme_id=strawberry.ID(str(view.scheme_id)),
            scheme_name=view.scheme_name,
            key=view.key,
            state=view.state,
            revision=view.revision,
            starts_at=view.starts_at,
            ends_at=view.ends_at,
            first_day=view.first_day,
            last_day=view.last_day,
            closed_at=view.closed_at,
            provisional_at=view.provisional_at,
        )


@strawberry.type(description="One metric of a scorecard.")
class MetricResult:
    key: str = strawberry.field(description="The metric's key in the scheme config.")
    label: str = strawberry.field(description="What people read: the metric's label, never its key.")
    value: Decimal | None = strawberry.field(description="The value, exact; null when there is no data (0 / 0).")
    target: Decimal | None = strawberry.field(description="The target (linear and threshold scoring).")
    attainment: Decimal | None = strawberry.field(
        description="Percent of the target reached (lower-is-better: target / value), 2 decimals."
    )
    weight: Decimal | None = strawberry.field(description="Weight in the total; null for a helper metric.")
    score: Decimal | None = strawberry.field(description="Points, 4 decimals as stored; null for a helper metric.")
    scored: bool = strawberry.field(description="False for a helper metric (an input of a ratio, not scored).")
    derivation: str = strawberry.field(description="How the score was computed, as the engine wrote it.")

    @classmethod
    def of(cls, view: records.MetricView) -> MetricResult:
        return cls(
            key=view.key,
            label=view.label,
            value=view.value,
            target=view.target,
            attainment=view.attainment,
            weight=view.weight,
            score=view.score,
            scored=view.scored,
            derivation=view.explanation,
        )


def _render_explanation(root: Any, info: Info) -> str:
    explanation: Message = root._explanation
    return explanation.render(info.context.locale)


def _explanation_field() -> Any:
    """The `explanation` of a progress type: its private `_explanation` in the reader's language (one resolver for
    every progress type, declared last so that it stays the last field in the SDL)."""
    return strawberry.field(resolver=_render_explanation, description="The answer in words, in the reader's language.")


@strawberry.type(description="Points to the next grade.")
class GradeProgress:
    grade: str | None = strawberry.field(description="The grade of the total; null below every grade.")
    next_grade: str | None = strawberry.field(description="The next higher grade; null at the top.")
    next_min: Decimal | None = strawberry.field(description="The total the next grade needs.")
    points_missing: Decimal | None = strawberry.field(description="next_min minus the total (exact).")
    max_total: Decimal = strawberry.field(description="The highest total the scheme's scoring can give.")
    reachable: bool = strawberry.field(description="Whether the next grade can still be reached at all.")
    _explanation: strawberry.Private[Message]
    explanation: str = _explanation_field()

    @classmethod
    def of(cls, gap: rules.GradeGap) -> GradeProgress:
        return cls(
            grade=gap.grade,
            next_grade=gap.next_grade,
            next_min=gap.next_min,
            points_missing=gap.points_missing,
            max_total=gap.max_total,
            reachable=gap.reachable,
            _explanation=gap.explanation,
        )


@strawberry.type(description="What one scored metric still needs: the value that reaches the target and the cap.")
class MetricProgress:
    key: str = strawberry.field(description="The metric's key.")
    label: str = strawberry.field(description="The metric's label.")
    scoring: str = strawberry.field(description="linear, threshold or bands.")
    direction: str = strawberry.field(description="higher or lower (lower is better).")
    value: Decimal | None = strawberry.field(description="The value now; null without data.")
    target: Decimal | None = strawberry.field(description="The value that scores 100 points.")
    cap_value: Decimal | None = strawberry.field(description="The value at which the score stops rising.")
    to_target: Decimal | None = strawberry.field(
        description="How far the value still has to move to the target (0 when met; whole numbers for counts)."
    )
    to_cap: Decimal | None = strawberry.field(description="How far the value still has to move to the cap value.")
    score: Decimal = strawberry.field(description="Points now.")
    max_score: Decimal = strawberry.field(description="Points at the cap.")
    points_available: Decimal = strawberry.field(description="What this metric can still add to the total.")
    next_band_min: Decimal | None = strawberry.field(description="Bands scoring: the next band's minimum.")
    next_band_points: Decimal | None = strawberry.field(description="Bands scoring: the next band's points.")
    numerator_to_target: Decimal | None = strawberry.field(
        description="A ratio: how many more of its numerator reach the target at the current denominator."
    )
    numerator_to_cap: Decimal | None = strawberry.field(description="A ratio: the same to the cap.")
    _explanation: strawberry.Private[Message]
    explanation: str = _explanation_field()

    @classmethod
    def of(cls, gap: rules.MetricGap) -> MetricProgress:
        return cls(
            key=gap.key,
            label=gap.label,
            scoring=gap.scoring,
            direction=gap.direction,
            value=gap.value,
            target=gap.target,
            cap_value=gap.cap_value,
            to_target=gap.to_target,
            to_cap=gap.to_cap,
            score=round2(gap.score),
            max_score=gap.max_score,
            points_available=gap.points_available,
            next_band_min=gap.next_band_min,
            next_band_points=gap.next_band_points,
            numerator_to_target=gap.numerator_to_target,
            numerator_to_cap=gap.numerator_to_cap,
            _explanation=gap.explanation,
        )


@strawberry.type(description="A gate: the total a reward needs, or the total that avoids a threshold penalty.")
class GateProgress:
    rule_key: str = strawberry.field(description="The rule's key.")
    label: str = strawberry.field(description="The rule's label.")
    kind: str = strawberry.field(description="reward_gate or penalty_threshold.")
    min_score: Decimal = strawberry.field(description="The total needed.")
    passed: bool = strawberry.field(description="The reward pays / the penalty is not charged.")
    points_missing: Decimal = strawberry.field(description="Points still missing (0 when passed).")
    _explanation: strawberry.Private[Message]
    explanation: str = _explanation_field()

    @classmethod
    def of(cls, gap: rules.GateGap) -> GateProgress:
        return cls(
            rule_key=gap.rule_key,
            label=gap.label,
            kind=gap.kind,
            min_score=gap.min_score,
            passed=gap.passed,
            points_missing=gap.points_missing,
            _explanation=gap.explanation,
        )


@strawberry.type(description="A ladder bonus: the step reached, the next step and what is missing.")
class LadderProgress:
    rule_key: str = strawberry.field(description="The rule's key.")
    label: str = strawberry.field(description="The rule's label.")
    metric_key: str = strawberry.field(description="The metric the ladder reads.")
    metric_label: str = strawberry.field(description="That metric's label.")
    value: Decimal | None = strawberry.field(description="The metric's value now.")
    step_min: Decimal | None = strawberry.field(description="The highest step reached.")
    amount: Decimal = strawberry.field(description="What that step pays.")
    next_min: Decimal | None = strawberry.field(description="The next step.")
    next_amount: Decimal | None = strawberry.field(description="What the next step pays (not cumulative).")
    missing: Decimal | None = strawberry.field(description="How much more reaches the next step.")
    gate: GateProgress | None = strawberry.field(description="The rule's gate, when it has one.")
    _explanation: strawberry.Private[Message]
    explanation: str = _explanation_field()

    @classmethod
    def of(cls, gap: rules.LadderGap) -> LadderProgress:
        return cls(
            rule_key=gap.rule_key,
            label=gap.label,
            metric_key=gap.metric_key,
            metric_label=gap.metric_label,
            value=gap.value,
            step_min=gap.step_min,
            amount=gap.amount,
            next_min=gap.next_min,
            next_amount=gap.next_amount,
            missing=gap.missing,
            gate=GateProgress.of(gap.gate) if gap.gate is not None else None,
            _explanation=gap.explanation,
        )


@strawberry.type(description="A commission: the tier the base is in, the next tier and the base still needed.")
class CommissionProgress:
    rule_key: str = strawberry.field(description="The rule's key.")
    label: str = strawberry.field(description="The rule's label.")
    base_key: str = strawberry.field(description="The money metric the commission is on.")
    base_label: str = strawberry.field(description="That metric's label.")
    mode: str = strawberry.field(description="flat, progressive (分段累进) or whole (全额阶梯).")
    base: Decimal = strawberry.field(description="The base now.")
    tier_from: Decimal | None = strawberry.field(description="The start of the tier the base is in.")
    rate: Decimal | None = strawberry.field(description="The rate of that tier (flat: the rate).")
    amount: Decimal = strawberry.field(description="The commission for the base now, before any gate.")
    next_from: Decimal | None = strawberry.field(description="The next tier's start.")
    next_rate: Decimal | None = strawberry.field(description="The next tier's rate.")
    missing: Decimal | None = strawberry.field(description="The base still needed to reach the next tier.")
    amount_at_next: Decimal | None = strawberry.field(description="The commission when the base reaches the next tier.")
    gate: GateProgress | None = strawberry.field(description="The rule's gate, when it has one.")
    _explanation: strawberry.Private[Message]
    explanation: str = _explanation_field()

    @classmethod
    def of(cls, gap: rules.CommissionGap) -> CommissionProgress:
        return cls(
            rule_key=gap.rule_key,
            label=gap.label,
            base_key=gap.base_key,
            base_label=gap.base_label,
            mode=gap.mode,
            base=gap.base,
            tier_from=gap.tier_from,
            rate=gap.rate,
            amount=gap.amount,
            next_from=gap.next_from,
            next_rate=gap.next_rate,
            missing=gap.missing,
            amount_at_next=gap.amount_at_next,
            gate=GateProgress.of(gap.gate) if gap.gate is not None else None,
            _explanation=gap.explanation,
        )


@strawberry.type(description="A score bonus: the points to its cap.")
class ScoreBonusProgress:
    rule_key: str = strawberry.field(description="The rule's key.")
    label: str = strawberry.field(description="The rule's label.")
    amount: Decimal = strawberry.field(description="The bonus now, before any gate.")
    cap_total: Decimal = strawberry.field(description="The total at which the bonus stops rising.")
    points_to_cap: Decimal = strawberry.field(description="Points still missing to the cap.")
    amount_at_cap: Decimal = strawberry.field(description="The bonus at the cap.")
    per_point: Decimal = strawberry.field(description="What one more point of total pays below the cap.")
    gate: GateProgress | None = strawberry.field(description="The rule's gate, when it has one.")
    _explanation: strawberry.Private[Message]
    explanation: str = _explanation_field()

    @classmethod
    def of(cls, gap: rules.ScoreBonusGap) -> ScoreBonusProgress:
        return cls(
            rule_key=gap.rule_key,
            label=gap.label,
            amount=gap.amount,
            cap_total=gap.cap_total,
            points_to_cap=gap.points_to_cap,
            amount_at_cap=gap.amount_at_cap,
            per_point=gap.per_point,
            gate=GateProgress.of(gap.gate) if gap.gate is not None else None,
            _explanation=gap.explanation,
        )


@strawberry.type(description="How far to the next step (差多少), computed by the pure rules from the scorecard.")
class Progress:
    grade: GradeProgress = strawberry.field(description="Points to the next grade.")
    metrics: list[MetricProgress] = strawberry.field(description="Every scored metric, config order.")
    ladders: list[LadderProgress] = strawberry.field(description="Every ladder bonus.")
    commissions: list[CommissionProgress] = strawberry.field(description="Every commission.")
    score_bonuses: list[ScoreBonusProgress] = strawberry.field(description="Every score bonus.")
    gates: list[GateProgress] = strawberry.field(description="Every reward gate, then every threshold penalty.")

    @classmethod
    def of(cls, found: rules.Progress) -> Progress:
        return cls(
            grade=GradeProgress.of(found.grade),
            metrics=[MetricProgress.of(m) for m in found.metrics],
            ladders=[LadderProgress.of(x) for x in found.ladders],
            commissions=[CommissionProgress.of(x) for x in found.commissions],
            score_bonuses=[ScoreBonusProgress.of(x) for x in found.score_bonuses],
            gates=[GateProgress.of(x) for x in found.gates],
        )


@strawberry.type(description="One staff member's scorecard of a period's latest revision (provisional while open).")
class Scorecard:
    id: strawberry.ID = strawberry.field(description="Global id: the period, the revision and the staff member.")
    period: PeriodSummary = strawberry.field(description="The period.")
    staff_code: str = strawberry.field(description="The staff member's external code.")
    staff_name: str = strawberry.field(description="The staff member's name.")
    team_code: str | None = strawberry.field(description="The staff member's team code.")
    team_name: str | None = strawberry.field(description="The staff member's team name.")
    revision: int = strawberry.field(description="The revision (0: provisional).")
    provisional: bool = strawberry.field(description="True while the period is open: it may still change.")
    computed_at: datetime = strawberry.field(description="When it was computed, with the tenant's UTC offset.")
    total: Decimal = strawberry.field(description="The total, rounded half-up to 2 decimals for display.")
    total_exact: Decimal = strawberry.field(description="The total as kept: 4 decimals.")
    grade: str | None = strawberry.field(description="The grade of the total.")
    rank: int = strawberry.field(description="Competition rank (1, 1, 3) among every participant of the period.")
    participants: int = strawberry.field(description="Participants of the period.")
    team_rank: int = strawberry.field(description="Rank within the staff member's team.")
    team_participants: int = strawberry.field(description="Participants of that team.")
    ranked_per_team: bool = strawberry.field(description="A rank bonus of the scheme ranks within teams.")
    metrics: list[MetricResult] = strawberry.field(description="Every metric, config order.")
    flags: list[str] = strawberry.field(description="Flags such as a demotion warning, in words.")
    net: Decimal = strawberry.field(description="Everything posted for the period so far (all revisions).")
    _view: strawberry.Private[records.CardView]
    _period_id: strawberry.Private[int]
    _staff_id: strawberry.Private[int]

    @strawberry.field(
        description="How far to the next step (差多少); null when the version's config can no longer be read."
    )
    def progress(self) -> Progress | None:
        found = service.card_progress(self._view)
        return Progress.of(found) if found is not None else None

    @strawberry.field(
        description="Every ledger line posted into the period for this staff member (all revisions), oldest first; "
        "the lines of every scorecard of a response are read together."
    )
    async def lines(self, info: Info) -> list[StatementLine]:
        found = await lines_loader(info).load((self._period_id, self._staff_id))
        return [StatementLine.of(replace(line, current=line.revision == self.revision)) for line in found]

    @classmethod
    def of(cls, view: records.CardView) -> Scorecard:
        period_view = view.period
        return cls(
            _period_id=period_view.id or 0,
            _staff_id=view.staff_id,
            id=global_id("Scorecard", period_view.id or 0, view.revision, view.staff_id),
            period=PeriodSummary.of(period_view),
            staff_code=view.staff_code,
            staff_name=view.staff_name,
            team_code=view.team_code,
            team_name=view.team_name,
            revision=view.revision,
            provisional=view.provisional,
            computed_at=view.computed_at,
            total=round2(view.total),
            total_exact=view.total,
            grade=view.grade,
            rank=view.rank,
            participants=view.participants,
            team_rank=view.team_rank,
            team_participants=view.team_participants,
            ranked_per_team=view.ranked_per_team,
            metrics=[MetricResult.of(m) for m in view.metrics],
            flags=list(view.flags),
            net=view.net,
            _view=view,
        )


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More rows follow this page.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")

    @classmethod
    def of(cls, page: records.CardPageView) -> PageInfo:
        return cls(has_next_page=page.has_next, end_cursor=page.cursors[-1] if page.cursors else None)


@strawberry.type(description="A scorecard and its cursor.")
class ScorecardEdge:
    cursor: str = strawberry.field(description="Opaque position of this row in its order.")
    node: Scorecard = strawberry.field(description="The scorecard.")


@strawberry.type(description="A page of scorecards (at most 100), in a stable order.")
class ScorecardConnection:
    period: PeriodSummary = strawberry.field(description="The period.")
    edges: list[ScorecardEdge] = strawberry.field(description="The rows of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more rows follow, and where.")
    total_count: int = strawberry.field(description="Rows matching the filters in your scope.")

    @classmethod
    def of(cls, page: records.CardPageView) -> ScorecardConnection:
        return cls(
            period=PeriodSummary.of(page.period),
            edges=[
                ScorecardEdge(cursor=cursor, node=Scorecard.of(card))
                for card, cursor in zip(page.cards, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
            total_count=page.total_count,
        )


@strawberry.type(description="One row of a leaderboard.")
class LeaderboardRow:
    rank: int = strawberry.field(description="Competition rank among every participant (1, 1, 3).")
    team_rank: int = strawberry.field(description="Rank within the team.")
    staff_code: str = strawberry.field(description="The staff member's code.")
    staff_name: str = strawberry.field(description="The staff member's name.")
    team_code: str | None = strawberry.field(description="The team's code.")
    team_name: str | None = strawberry.field(description="The team's name.")
    total: Decimal = strawberry.field(description="The total, 2 decimals.")
    grade: str | None = strawberry.field(description="The grade.")
    is_me: bool = strawberry.field(description="This row is the reader's own.")

    @classmethod
    def of(cls, view: records.CardView, me: int | None) -> LeaderboardRow:
        return cls(
            rank=view.rank,
            team_rank=view.team_rank,
            staff_code=view.staff_code,
            staff_name=view.staff_name,
            team_code=view.team_code,
            team_name=view.team_name,
            total=round2(view.total),
            grade=view.grade,
            is_me=me is not None and view.staff_id == me,
        )


@strawberry.type(description="A leaderboard row and its cursor.")
class LeaderboardEdge:
    cursor: str = strawberry.field(description="Opaque position of this row (by rank, then code).")
    node: LeaderboardRow = strawberry.field(description="The row.")


@strawberry.type(description="The ranking of a period, by rank then code; `me` is always the reader's own row.")
class Leaderboard:
    period: PeriodSummary = strawberry.field(description="The period.")
    edges: list[LeaderboardEdge] = strawberry.field(description="The rows of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more rows follow, and where.")
    total_count: int = strawberry.field(description="Rows of this leaderboard (team filter and scope applied).")
    me: LeaderboardRow | None = strawberry.field(
        description="The reader's own row, wherever it is (null when the reader takes no part)."
    )

    @classmethod
    def of(cls, page: records.CardPageView) -> Leaderboard:
        me = page.me.staff_id if page.me is not None else None
        return cls(
            period=PeriodSummary.of(page.period),
            edges=[
                LeaderboardEdge(cursor=cursor, node=LeaderboardRow.of(card, me))
                for card, cursor in zip(page.cards, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
            total_count=page.total_count,
            me=LeaderboardRow.of(page.me, me) if page.me is not None else None,
        )


@strawberry.type(description="One posted ledger line (奖惩明细). Posted lines never change.")
class StatementLine:
    id: strawberry.ID = strawberry.field(description="Global id of the ledger line.")
    period_key: str = strawberry.field(description="The period it is paid in.")
    scheme_id: strawberry.ID = strawberry.field(description="The scheme.")
    revision: int = strawberry.field(description="The revision that posted it.")
    current: bool = strawberry.field(description="Posted by the period's latest revision.")
    rule_key: str = strawberry.field(description="The rule's key.")
    rule_label: str = strawberry.field(description="The rule's label.")
    kind: str = strawberry.field(description="commission, bonus, penalty or adjustment.")
    amount: Decimal = strawberry.field(description="The amount, to the cent (penalties negative).")
    derivation: str = strawberry.field(description="How it was computed, when it was posted.")
    posted_at: datetime = strawberry.field(description="When it was posted, with the tenant's UTC offset.")
    corrects_period: str | None = strawberry.field(
        description="A prior-period adjustment: the period it corrects (更正), whose statement was approved."
    )
    corrects_revision: int | None = strawberry.field(description="The revision of that period it comes from.")
    answers_dispute: strawberry.ID | None = strawberry.field(
        description="The dispute this adjustment (rule key `dispute`) answers."
    )
    disputes: list[Dispute] = strawberry.field(description="Disputes raised on this line, with their state and answer.")

    @classmethod
    def of(cls, view: records.LineView) -> StatementLine:
        return cls(
            corrects_period=view.corrects_period_key,
            corrects_revision=view.corrects_revision,
            answers_dispute=strawberry.ID(str(view.dispute_id)) if view.dispute_id is not None else None,
            disputes=[Dispute.of(dispute) for dispute in view.disputes],
            id=global_id("LedgerLine", view.id),
            period_key=view.period_key,
            scheme_id=strawberry.ID(str(view.scheme_id)),
            revision=view.revision,
            current=view.current,
            rule_key=view.rule_key,
            rule_label=view.rule_label,
            kind=view.kind,
            amount=view.amount,
            derivation=view.derivation,
            posted_at=view.posted_at,
        )


@strawberry.type(description="One rule of a statement: the posted amount beside the current revision's explanation.")
class StatementRule:
    period_key: str = strawberry.field(description="The period.")
    rule_key: str = strawberry.field(description="The rule's key.")
    label: str = strawberry.field(description="The rule's label.")
    kind: str = strawberry.field(description="commission, bonus, penalty or adjustment.")
    posted: Decimal = strawberry.field(description="Everything posted for the rule (all revisions).")
    explanation: str = strawberry.field(
        description="The latest revision's explanation of the rule (after a re-close: the recomputed one)."
    )
    lines: list[StatementLine] = strawberry.field(description="Its lines, oldest first.")


@strawberry.type(description="A total by kind of line.")
class KindTotal:
    kind: str = strawberry.field(description="commission, bonus, penalty or adjustment.")
    amount: Decimal = strawberry.field(description="The sum, to the cent.")


@strawberry.type(description="A staff member's statement (对账单) of one period key.")
class Statement:
    id: strawberry.ID = strawberry.field(description="Global id: the staff member, the period key and the scheme.")
    staff_code: str = strawberry.field(description="The staff member's code.")
    staff_name: str = strawberry.field(description="The staff member's name.")
    team_code: str | None = strawberry.field(description="The staff member's team.")
    period_key: str = strawberry.field(description="The period key.")
    periods: list[PeriodSummary] = strawberry.field(description="The periods (one per scheme) of this key.")
    lines: list[StatementLine] = strawberry.field(description="Every line of every revision.")
    rules: list[StatementRule] = strawberry.field(description="Per rule: posted amount and current explanation.")
    totals: list[KindTotal] = strawberry.field(description="Totals by kind.")
    net: Decimal = strawberry.field(description="The net: the sum of every line.")
    approvals: list[StatementApproval] = strawberry.field(
        description="The approval of each period of `periods` (same order): approved statements are locked for payroll."
    )
    approval_state: ApprovalState = strawberry.field(
        description="APPROVED when every period's statement is approved; else the state of the first that is not."
    )

    @classmethod
    def of(cls, view: records.StatementView) -> Statement:
        lines = {line.id: StatementLine.of(line) for line in view.lines}
        keys = {p.id: p.key for p in view.periods}
        return cls(
            id=global_id("Statement", view.staff_id, view.period_key, view.scheme_id or "all"),
            staff_code=view.staff_code,
            staff_name=view.staff_name,
            team_code=view.team_code,
            period_key=view.period_key,
            periods=[PeriodSummary.of(p) for p in view.periods],
            lines=list(lines.values()),
            rules=[
                StatementRule(
                    period_key=keys.get(rule.period_id, view.period_key),
                    rule_key=rule.rule_key,
                    label=rule.label,
                    kind=rule.kind,
                    posted=rule.posted,
                    explanation=rule.explanation,
                    lines=[lines[line.id] for line in rule.lines],
                )
                for rule in view.rules
            ],
            totals=[KindTotal(kind=t.kind, amount=t.amount) for t in view.totals],
            net=view.net,
            approvals=[StatementApproval.of(approval) for approval in view.approvals],
            approval_state=next(
                (a.state for a in view.approvals if a.state is not ApprovalState.APPROVED),
                ApprovalState.APPROVED if view.approvals else ApprovalState.NOT_APPROVED,
            ),
        )


@strawberry.type(description="The reader's card in a period, in brief.")
class CardSummary:
    total: Decimal = strawberry.field(description="The total, 2 decimals.")
    grade: str | None = strawberry.field(description="The grade.")
    rank: int = strawberry.field(description="The rank among participants.")
    provisional: bool = strawberry.field(description="Still provisional (the period is open).")
    net: Decimal = strawberry.field(description="Everything posted for the period so far.")

    @classmethod
    def of(cls, view: records.CardSummary | None) -> CardSummary | None:
        if view is None:
            return None
        return cls(
            total=round2(view.total), grade=view.grade, rank=view.rank, provisional=view.provisional, net=view.net
        )


@strawberry.type(description="A scheme the reader takes part in.")
class MyScheme:
    id: strawberry.ID = strawberry.field(description="The scheme's id.")
    name: str = strawberry.field(description="The scheme's name.")
    description: str = strawberry.field(description="The scheme's description.")
    current_period: PeriodSummary | None = strawberry.field(description="The period running now.")
    current_card: CardSummary | None = strawberry.field(description="The reader's provisional card in it, if any.")
    last_closed_period: PeriodSummary | None = strawberry.field(description="The last closed period.")
    last_closed_card: CardSummary | None = strawberry.field(description="The reader's card in it.")

    @classmethod
    def of(cls, view: records.MySchemeView) -> MyScheme:
        return cls(
            id=strawberry.ID(str(view.scheme_id)),
            name=view.name,
            description=view.description,
            current_period=PeriodSummary.of(view.current) if view.current is not None else None,
            current_card=CardSummary.of(view.current_card),
            last_closed_period=PeriodSummary.of(view.last_closed) if view.last_closed is not None else None,
            last_closed_card=CardSummary.of(view.last_closed_card),
        )


@strawberry.type(description="The reader's result in one closed period.")
class HistoryEntry:
    period: PeriodSummary = strawberry.field(description="The period.")
    total: Decimal = strawberry.field(description="The total, 2 decimals.")
    grade: str | None = strawberry.field(description="The grade.")
    rank: int = strawberry.field(description="The rank among participants.")
    net: Decimal = strawberry.field(description="The net paid for the period.")

    @classmethod
    def of(cls, view: records.HistoryView) -> HistoryEntry:
        return cls(
            period=PeriodSummary.of(view.period),
            total=round2(view.total),
            grade=view.grade,
            rank=view.rank,
            net=view.net,
        )


@strawberry.type(description="Totals in [start, end).")
class TotalBucket:
    start: Decimal = strawberry.field(description="Lowest total of the bucket (inclusive).")
    end: Decimal = strawberry.field(description="End of the bucket (exclusive).")
    count: int = strawberry.field(description="Participants in it.")


@strawberry.type(description="Participants of one grade.")
class GradeCount:
    grade: str | None = strawberry.field(description="The grade (null: below every grade).")
    count: int = strawberry.field(description="Participants.")


@strawberry.type(description="Payouts of one team.")
class TeamPayout:
    team_code: str | None = strawberry.field(description="The team's code (null: staff without a team).")
    team_name: str | None = strawberry.field(description="The team's name.")
    participants: int = strawberry.field(description="Participants in scope of that team.")
    amount: Decimal = strawberry.field(description="Everything posted for them in the period.")


@strawberry.type(description="A team's (or your whole scope's) period at a glance.")
class TeamSummary:
    period: PeriodSummary = strawberry.field(description="The period.")
    team_code: str | None = strawberry.field(description="The team asked for (its subtree); null: your scope.")
    participants: int = strawberry.field(description="Participants.")
    average: Decimal | None = strawberry.field(description="Average total, 4 decimals.")
    minimum: Decimal | None = strawberry.field(description="Lowest total.")
    maximum: Decimal | None = strawberry.field(description="Highest total.")
    buckets: list[TotalBucket] = strawberry.field(description="Distribution of totals in 10-point buckets.")
    grades: list[GradeCount] = strawberry.field(description="Participants per grade.")
    payouts_by_kind: list[KindTotal] = strawberry.field(description="Posted amounts per kind.")
    payouts_by_team: list[TeamPayout] = strawberry.field(description="Posted amounts per team.")
    payout_total: Decimal = strawberry.field(description="Everything posted.")
    top: list[LeaderboardRow] = strawberry.field(description="The five highest totals.")
    bottom: list[LeaderboardRow] = strawberry.field(description="The five lowest totals.")

    @classmethod
    def of(cls, view: records.TeamSummaryView) -> TeamSummary:
        return cls(
            period=PeriodSummary.of(view.period),
            team_code=view.team_code,
            participants=view.participants,
            average=view.average,
            minimum=view.minimum,
            maximum=view.maximum,
            buckets=[TotalBucket(start=b.start, end=b.end, count=b.count) for b in view.buckets],
            grades=[GradeCount(grade=g, count=n) for g, n in view.grades],
            payouts_by_kind=[KindTotal(kind=k.kind, amount=k.amount) for k in view.payouts_by_kind],
            payouts_by_team=[
                TeamPayout(team_code=t.team_code, team_name=t.team_name, participants=t.participants, amount=t.amount)
                for t in view.payouts_by_team
            ],
            payout_total=view.payout_total,
            top=[LeaderboardRow.of(c, None) for c in view.top],
            bottom=[LeaderboardRow.of(c, None) for c in view.bottom],
        )

"""ScorecardsQuery: what the staff mini-program and the manager dashboard read (issue 8), one query per screen.

Every resolver calls one entry point of tenants/scorecards/service.py (one unit of work, a fixed number of statements,
the caller's access scope applied there) and converts its answer; another tenant's or another staff member's data, or
a staff member outside a manager's teams, is null (not found), never "forbidden". Ids that cannot exist are null too.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.common import parse_id
from schema.context import Info
from schema.permissions import tenant_access
from schema.scorecards.types import (
    HistoryEntry,
    Leaderboard,
    MyScheme,
    Scorecard,
    ScorecardConnection,
    Statement,
    TeamSummary,
)
from tenants.scorecards import service
from tenants.scorecards.repository import CardFilter, CardOrder
from tenants.tenancy.auth import Principal, Role

# The arguments several queries share (one description each, so the SDL says the same thing everywhere).
SchemeArgument = Annotated[strawberry.ID, strawberry.argument(description="The scheme.")]
PeriodArgument = Annotated[str, strawberry.argument(description="The period key.")]
TeamArgument = Annotated[str | None, strawberry.argument(description="A team code: that team and its subtree.")]
StaffCodeArgument = Annotated[str, strawberry.argument(description="The staff member's code.")]
FirstArgument = Annotated[int | None, strawberry.argument(description="Rows per page (1 to 100, default 20).")]
AfterArgument = Annotated[str | None, strawberry.argument(description="The endCursor of the previous page.")]
OneSchemeArgument = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="One scheme only; default: every scheme with a period of this key."),
]


def _principal(info: Info) -> Principal:
    principal = info.context.principal
    assert principal is not None  # behind tenant_access
    return principal


@strawberry.type
class ScorecardsQuery:
    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="The schemes you take part in, each with its current and last closed period and your card in "
        "each. Empty for a login that is not linked to a staff record.",
    )
    async def my_schemes(self, info: Info) -> list[MyScheme]:
        views = await service.my_schemes(info.context.tenant_id, _principal(info))
        return [MyScheme.of(view) for view in views]

    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="Your scorecard of the period's latest revision (provisional while open) with your rank and how "
        "far you are from the next grade, step and tier; null when you have none.",
    )
    async def my_scorecard(
        self,
        info: Info,
        scheme_id: SchemeArgument,
        period: Annotated[str, strawberry.argument(description="The period key, e.g. 2026-10.")],
    ) -> Scorecard | None:
        scheme = parse_id(scheme_id)
        if scheme is None:
            return None
        view = await service.my_scorecard(info.context.tenant_id, _principal(info), scheme, period)
        return Scorecard.of(view) if view is not None else None

    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="Your statement of a period key: every ledger line of every revision, each rule's current "
        "explanation beside its posted amount, totals by kind; null when you have nothing in such a period.",
    )
    async def my_statement(
        self,
        info: Info,
        period: Annotated[str, strawberry.argument(description="The period key, e.g. 2026-10.")],
        scheme_id: OneSchemeArgument = None,
    ) -> Statement | None:
        scheme = parse_id(scheme_id) if scheme_id is not None else None
        if scheme_id is not None and scheme is None:
            return None
        view = await service.staff_statement(info.context.tenant_id, _principal(info), period, None, scheme)
        return Statement.of(view) if view is not None else None

    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="Your total, grade, rank and net in the last closed periods of a scheme, newest first.",
    )
    async def my_history(
        self,
        info: Info,
        scheme_id: SchemeArgument,
        last: Annotated[int, strawberry.argument(description="How many periods (1 to 36).")] = 12,
    ) -> list[HistoryEntry]:
        scheme = parse_id(scheme_id)
        if scheme is None:
            return []
        views = await service.my_history(info.context.tenant_id, _principal(info), scheme, last)
        return [HistoryEntry.of(view) for view in views]

    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="The period's ranking by rank (rank, name, team, total, grade), your own row always in `me`. "
        "Staff see the ranking of a period they take part in; managers the rows of their teams.",
    )
    async def leaderboard(
        self,
        info: Info,
        scheme_id: SchemeArgument,
        period: PeriodArgument,
        team: TeamArgument = None,
        first: FirstArgument = None,
        after: AfterArgument = None,
    ) -> Leaderboard | None:
        scheme = parse_id(scheme_id)
        if scheme is None:
            return None
        view = await service.leaderboard(info.context.tenant_id, _principal(info), scheme, period, team, first, after)
        return Leaderboard.of(view) if view is not None else None

    @strawberry.field(
        extensions=tenant_access(Role.MANAGER),
        description="A page of the period's latest scorecards of the staff in your scope; null for an unknown period.",
    )
    async def scorecards(
        self,
        info: Info,
        scheme_id: SchemeArgument,
        period: PeriodArgument,
        team: TeamArgument = None,
        grade: Annotated[str | None, strawberry.argument(description="Only this grade.")] = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="Part of the staff member's name or code (literal, case-insensitive)."),
        ] = None,
        first: FirstArgument = None,
        after: AfterArgument = None,
        order_by: Annotated[
            CardOrder, strawberry.argument(description="The order of the rows.")
        ] = CardOrder.TOTAL_DESC,
    ) -> ScorecardConnection | None:
        scheme = parse_id(scheme_id)
        if scheme is None:
            return None
        request = service.ListingRequest(
            filters=CardFilter(team_code=team, grade=grade, search=search), order=order_by, first=first, after=after
        )
        page = await service.scorecards(info.context.tenant_id, _principal(info), scheme, period, request)
        return ScorecardConnection.of(page) if page is not None else None

    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="One staff member's scorecard by code; null when not in your scope (staff: anybody but "
        "themselves; managers: outside their teams) or without a card.",
    )
    async def scorecard(
        self,
        info: Info,
        scheme_id: SchemeArgument,
        period: PeriodArgument,
        staff_code: StaffCodeArgument,
    ) -> Scorecard | None:
        scheme = parse_id(scheme_id)
        if scheme is None:
            return None
        view = await service.staff_scorecard(info.context.tenant_id, _principal(info), scheme, period, staff_code)
        return Scorecard.of(view) if view is not None else None

    @strawberry.field(
        extensions=tenant_access(Role.STAFF),
        description="One staff member's statement of a period key; null when not in your scope (staff: anybody but "
        "themselves; managers: outside their teams) or empty.",
    )
    async def statement(
        self,
        info: Info,
        period: PeriodArgument,
        staff_code: StaffCodeArgument,
        scheme_id: OneSchemeArgument = None,
    ) -> Statement | None:
        scheme = parse_id(scheme_id) if scheme_id is not None else None
        if scheme_id is not None and scheme is None:
            return None
        view = await service.staff_statement(info.context.tenant_id, _principal(info), period, staff_code, scheme)
        return Statement.of(view) if view is not None else None

    @strawberry.field(
        extensions=tenant_access(Role.MANAGER),
        description="Participants, average and distribution of totals, grade counts, payouts by kind and by team, "
        "top and bottom five, of the staff in your scope (and the team's subtree when given).",
    )
    async def team_summary(
        self,
        info: Info,
        scheme_id: SchemeArgument,
        period: PeriodArgument,
        team: TeamArgument = None,
    ) -> TeamSummary | None:
        scheme = parse_id(scheme_id)
        if scheme is None:
            return None
        view = await service.team_summary(info.context.tenant_id, _principal(info), scheme, period, team)
        return TeamSummary.of(view) if view is not None else None

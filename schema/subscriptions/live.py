"""`scorecardUpdated(schemeId, period)`: a message each time a close or a provisional refresh changed a scorecard the
caller may read (staff: their own; managers: their teams' subtree; admins: any), fed by the worker through Redis
pub/sub (workers/notify.py) and the process's feed (tenants/notify). The message says what changed; the client
refetches what it shows (`scorecards`, `myStatement`). Updates are coalesced while the client is not reading: it gets
the latest, never a backlog.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from enum import StrEnum

import strawberry

from schema.common import parse_id
from schema.context import Info
from schema.permissions import tenant_access
from tenants.notify import ScorecardChange, installed_scorecard_feed
from tenants.notify.errors import LiveErrorCode
from tenants.notify.service import concerns, subscription_scope
from tenants.tenancy.auth import Role

strawberry.enum(
    LiveErrorCode,
    name="LiveErrorCode",
    description="Codes in errors[].extensions.code when a subscription is refused (nothing is subscribed).",
)


# The codes of a refused subscription are top-level errors: no field names the enum, the schema lists it.
SUBSCRIPTION_ERROR_CODES: tuple[type, ...] = (LiveErrorCode,)


@strawberry.enum(description="What changed the scorecards.")
class ScorecardUpdateKind(StrEnum):
    CLOSE = "close"
    REFRESH = "refresh"


@strawberry.type(description="Scorecards you may read changed in this scheme's period: refetch them.")
class ScorecardUpdate:
    scheme_id: strawberry.ID = strawberry.field(description="The scheme subscribed to.")
    period: str = strawberry.field(description="The period subscribed to, e.g. 2026-10.")
    kind: ScorecardUpdateKind = strawberry.field(
        description="CLOSE: a close or re-close wrote a revision; REFRESH: the provisional scorecards were recomputed."
    )
    revision: int = strawberry.field(description="The revision now in force (0: provisional).")

    @classmethod
    def of(cls, change: ScorecardChange) -> ScorecardUpdate:
        return cls(
            scheme_id=strawberry.ID(str(change.scheme_id)),
            period=change.period_key,
            kind=ScorecardUpdateKind(change.kind),
            revision=change.revision,
        )


@strawberry.type
class ScorecardSubscription:
    @strawberry.subscription(
        extensions=tenant_access(Role.STAFF),
        description=(
            "Fires when a close or a provisional refresh changes a scorecard of this scheme's period that you may "
            "read: staff their own, managers their teams' subtree, admins any. Over graphql-transport-ws, with the "
            "access token in the connection_init payload ({authorization: 'Bearer ...'}). Errors: LiveErrorCode."
        ),
    )
    async def scorecard_updated(
        self, info: Info, scheme_id: strawberry.ID, period: str
    ) -> AsyncGenerator[ScorecardUpdate, None]:
        context = info.context
        assert context.principal is not None  # the permission refused a connection without one
        tenant_id = context.tenant_id
        scheme = parse_id(scheme_id)
        scope = await subscription_scope(tenant_id, context.principal, scheme, period)
        assert scheme is not None

        def accepts(change: ScorecardChange) -> bool:
            return concerns(change, scope, scheme, period)

        async with installed_scorecard_feed().listen(tenant_id, accepts) as changes:
            async for change in changes:
                yield ScorecardUpdate.of(change)

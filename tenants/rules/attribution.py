"""Who is credited for an event (DESIGN.md "Events", "Attribution and service rules"): pure.

The first that applies decides:
1. explicit credits sent with the event: staff shares as sent, a team credit goes to that team's pool with its share;
2. a refund: its order's credits (no credits known for the order: nobody);
3. the customer's exclusive guide, bound at the event's time and within the protection window
   [bound_since, bound_since + protection days);
4. the O2O split: the order matches the rule and every staff member the split names exists;
5. the actor (the event's staff), share 1;
6. the event's team pool, the whole amount;
otherwise nobody (None): the caller refuses the event.

Values in (the tenant's rules, the event's facts with the merchant's codes already resolved to ids, shares, times), a
`Credits` value out. Looking codes up and storing the credits are the caller's (tenants/events). Large orders
(`is_large_order`) wait for a manager's confirmation before they count.

The rules are versioned (tenants/rules/attribution_config.py is their validated config): `RulesTimeline` gives the
version in force at an event's time by bisection over the versions' start instants, so a batch loads them once and
no event pays a query. A customer's exclusive guide is the binding of the event's own time (`binding_at` over the
customer's binding history): a rebinding moves only the orders after it, also for late events and reattributions.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from tenants.rules.attribution_config import AttributionConfig

ONE = Decimal(1)
# Settings without protection_days bind for good (100 years).
DEFAULT_PROTECTION_DAYS = 36500
# Versions effective from this instant or before apply to every event ingestion accepts (EVENT_TIME_MIN).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Credits:
    """Who an event is credited to: staff ids with their shares, and a team pool."""

    staff_ids: tuple[int, ...] = ()
    shares: tuple[Decimal, ...] = ()
    pool_team_id: int | None = None
    pool_share: Decimal | None = None  # None: the whole amount goes to the pool


class SentCredit(NamedTuple):
    """One credit as sent with the event, its code resolved: exactly one of staff_id and team_id is set."""

    staff_id: int | None
    team_id: int | None
    share: Decimal


@dataclass(frozen=True, slots=True)
class GuideBinding:
    """A customer's exclusive guide (专属导购) and since when (both None: not bound)."""

    guide_staff_id: int | None
    bound_since: datetime | None


def binding_at(history: Sequence[GuideBinding], moment: datetime) -> GuideBinding | None:
    """The binding in force at `moment`: of a customer's bindings by `bound_since` ascending (each change of its
    guide, an unbinding too: guide None), the latest that began at or before it; None before the first. So a
    rebinding moves only the orders after it, and an order that arrives late is credited by the binding of its time."""
    found: GuideBinding | None = None
    for binding in history:
        if binding.bound_since is None or binding.bound_since > moment:
            break
        found = binding
    return found


@dataclass(frozen=True)
class AttributionRules:
    """One version of a tenant's rules for orders without explicit credits (tenants/rules/attribution_config.py is
    their validated config; `from_settings` reads the unversioned tenant.settings that came before)."""

    exclusive_guide_days: int | None = None  # protection window after bound_since; None: no binding rule
    o2o_when: tuple[tuple[str, str], ...] = ()  # every (attribute, text) must hold for an order moved offline
    o2o_splits: tuple[tuple[str, Decimal], ...] = ()  # (attribute naming the staff code, share)
    large_order_threshold: Decimal | None = None
    create_unknown_customers: bool = True

    @classmethod
    def from_config(cls, config: AttributionConfig) -> AttributionRules:
        guide, o2o = config.exclusive_guide, config.o2o
        return cls(
            exclusive_guide_days=None if guide is None else guide.protection_days,
            o2o_when=() if o2o is None else tuple(o2o.when.items()),
            o2o_splits=() if o2o is None else tuple((split.staff_attribute, split.share) for split in o2o.splits),
            large_order_threshold=config.large_order_threshold,
            create_unknown_customers=config.create_unknown_customers,
        )

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> AttributionRules:
        """The unversioned tenant.settings as ingestion read them before versions (a tenant with no version)."""
        attribution = settings.get("attribution") or {}
        guide = attribution.get("exclusive_guide")
        o2o = attribution.get("o2o") or {}
        threshold = settings.get("large_order_threshold")
        attribute = o2o.get("attribute")
        return cls(
            exclusive_guide_days=int(guide.get("protection_days", DEFAULT_PROTECTION_DAYS)) if guide else None,
            o2o_when=() if attribute is None else ((str(attribute), str(o2o.get("value"))),),
            o2o_splits=tuple((s["staff_attribute"], Decimal(str(s["share"]))) for s in o2o.get("splits", [])),
            large_order_threshold=Decimal(str(threshold)) if threshold is not None else None,
            create_unknown_customers=settings.get("create_unknown_customers", True) is not False,
        )

    def o2o_staff_codes(self, attributes: Mapping[str, Any]) -> list[str] | None:
        """The staff codes an O2O order names, in the order of the splits; None when the O2O rule does not apply
        (no rule, a condition not met, or a split's attribute missing or not a code)."""
        if not self.o2o_splits or not self.o2o_when:
            return None
        for attribute, expected in self.o2o_when:
            if str(attributes.get(attribute)) != expected:
                return None
        codes = [attributes.get(attribute) for attribute, _ in self.o2o_splits]
        return [str(code) for code in codes] if all(isinstance(code, str) and code for code in codes) else None

    def is_large_order(self, event_type: str, amount: Decimal | None) -> bool:
        """An order at or above the threshold waits for a manager's confirmation before it counts."""
        threshold = self.large_order_threshold
        return threshold is not None and event_type == "order" and amount is not None and amount >= threshold


class RulesTimeline:
    """The versions of a tenant's rules by the instant they take effect: the version in force at an event's time,
    without a query per event (a batch loads the timeline once). Before the first version: `before_first` (the
    legacy settings, or no rules)."""

    __slots__ = ("_rules", "_starts", "before_first")

    def __init__(
        self, versions: Sequence[tuple[datetime, AttributionRules]], before_first: AttributionRules | None = None
    ) -> None:
        ordered = sorted(versions, key=lambda version: version[0])  # stable: ties keep the caller's (number) order
        self._starts = [start for start, _ in ordered]
        self._rules = [rules for _, rules in ordered]
        self.before_first = before_first if before_first is not None else AttributionRules()

    @property
    def all_rules(self) -> list[AttributionRules]:
        return [self.before_first, *self._rules]

    @property
    def single(self) -> AttributionRules | None:
        """The one set of rules every instant uses (no version, or one effective since before any event)."""
        if not self._rules:
            return self.before_first
        if len(self._rules) == 1 and self._starts[0] <= EARLIEST:
            return self._rules[0]
        return None

    def at(self, moment: datetime) -> AttributionRules:
        """The latest version effective at or before `moment` (ties: the one listed last, the highest number)."""
        position = bisect_right(self._starts, moment)
        return self._rules[position - 1] if position else self.before_first


class Attribution:
    """The rules applied to the events of one batch. The actor's credits are one value per staff member, shared by
    that member's events (a batch credits thousands of events to a few hundred people)."""

    __slots__ = ("_actors", "_guide_window", "_o2o_shares", "rules")

    def __init__(self, rules: AttributionRules) -> None:
        self.rules = rules
        days = rules.exclusive_guide_days
        self._guide_window = None if days is None else timedelta(days=days)
        self._o2o_shares = tuple(share for _, share in rules.o2o_splits)
        self._actors: dict[int, Credits] = {}

    def credits(
        self,
        *,
        sent: Sequence[SentCredit] | None,
        refund: bool,
        order: Credits | None,
        binding: GuideBinding | None,
        occurred_at: datetime,
        o2o_staff_ids: Sequence[int] | None,
        actor_staff_id: int | None,
        team_id: int | None,
    ) -> Credits | None:
        """Who is credited, in the module's order; None: nobody can be.

        `sent`: the event's own credits; `order`: a refund's order's credits (None: unknown); `binding`: the
        event's customer's; `o2o_staff_ids`: the staff of the O2O split, when `o2o_staff_codes` applies and every code
        exists (else None); `actor_staff_id`, `team_id`: the event's staff and team.
        """
        if sent:
            staff = [credit for credit in sent if credit.staff_id is not None]
            # A team credit in an explicit list goes to that team's pool with its share (one team per event).
            team = next((credit for credit in sent if credit.team_id is not None), None)
            return Credits(
                tuple(credit.staff_id for credit in staff if credit.staff_id is not None),
                tuple(credit.share for credit in staff),
                None if team is None else team.team_id,
                None if team is None else team.share,
            )
        if refund:
            return Credits() if order is None else order
        window = self._guide_window
        if (
            window is not None
            and binding is not None
            and binding.guide_staff_id is not None
            and binding.bound_since is not None
            and binding.bound_since <= occurred_at < binding.bound_since + window
        ):
            return Credits((binding.guide_staff_id,), (ONE,))
        if o2o_staff_ids is not None and self._o2o_shares:
            return Credits(tuple(o2o_staff_ids), self._o2o_shares)
        if actor_staff_id is not None:
            actor = self._actors.get(actor_staff_id)
            if actor is None:
                actor = self._actors[actor_staff_id] = Credits((actor_staff_id,), (ONE,))
            return actor
        if team_id is not None:
            return Credits((), (), team_id)
        return None

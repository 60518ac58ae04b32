"""A batch's checked events as COPY text rows for the staging table (repository.py), once the merchant's codes are
known.

`RowBuilder` refuses the events that name unknown codes, asks the attribution rules (tenants/rules/attribution.py) who
is credited, decides whether a row waits for a manager's confirmation (a large order, or a refund of an order that
waits), and writes the row in COPY text format. Orders are added before refunds, so a refund can follow its order
within one batch; refunds of orders from outside the batch are resolved when writing, against the stored orders.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass

from tenants.errors import Problem
from tenants.events.contract import CheckedCredit, CheckedEvent
from tenants.events.errors import EventErrorCode, ItemProblem
from tenants.events.repository import StoredCustomer
from tenants.i18n import _
from tenants.rules.attribution import Attribution, AttributionRules, Credits, RulesTimeline, SentCredit


@dataclass(frozen=True)
class Codes:
    """The merchant's codes of one batch, looked up: staff and team ids, customers with their binding."""

    staff: Mapping[str, int]
    teams: Mapping[str, int]
    customers: Mapping[str, StoredCustomer]


@dataclass
class Rows:
    """A batch resolved against master data: COPY text rows, the items they store, and what is still open."""

    lines: list[str]
    stored: list[tuple[int, str]]  # (index, externalId) of each row
    rejected: list[ItemProblem]
    # Refunds of orders that are not in the batch: resolved when writing, against the stored orders.
    refunds: list[tuple[int, CheckedEvent, int | None]]
    builder: RowBuilder
    customers_created: int = 0  # customers this batch's unknown codes created (rolled back with the batch)


class RowBuilder:
    """Rows of one batch, in DESIGN.md's order of who is credited (the rules decide, this class feeds them ids).

    Each event is credited by the rules in force at its time (the tenant's versions, loaded once per batch); with one
    set of rules for every instant (the common case) no event pays for the lookup."""

    def __init__(self, codes: Codes, timeline: RulesTimeline, *, remember: bool) -> None:
        self.codes = codes
        self.timeline = timeline
        self._single = timeline.single
        self._attributions: dict[int, Attribution] = {id(rules): Attribution(rules) for rules in timeline.all_rules}
        self.remember = remember  # keep each row's credits: refunds in the batch are credited like their order
        self.batch_credits: dict[str, Credits] = {}
        self.pending_orders: set[str] = set()  # orders waiting for confirmation: their refunds wait too
        # The COPY text of credits, once per Credits object: the rules give all events of one actor the same one.
        # Keyed by identity (hashing the value costs more than the text saves); the entry keeps the object alive, so
        # its id cannot be reused while the entry exists.
        self._credit_texts: dict[int, tuple[Credits, str]] = {}

    def fork(self) -> RowBuilder:
        """A copy that can go on adding rows (a write that may be retried) without changing this one."""
        fork = copy.copy(self)
        fork.batch_credits = dict(self.batch_credits)
        fork.pending_orders = set(self.pending_orders)
        return fork

    def add_row(
        self, rows: Rows, index: int, event: CheckedEvent, staff_id: int | None, order: Credits | None = None
    ) -> None:
        """The item's row, or its problem when nobody can be credited (codes are known to exist). `order`: a refund's
        stored order's credits."""
        team_id = None if event.team is None else self.codes.teams[event.team]
        customer = None if event.customer is None else self.codes.customers[event.customer]
        refund = event.is_refund
        if refund:
            # Its order in this batch (when that was stored: rows are made orders first), else the stored one.
            order = self.batch_credits.get(event.order_external_id or "") or order
        sent = event.credits
        rules = self._single or self.timeline.at(event.occurred_at)
        occurred_at = event.occurred_at
        credits = self._attributions[id(rules)].credits(
            sent=self._sent(sent) if sent else None,
            refund=refund,
            order=order,
            binding=None if customer is None else customer.binding_at(occurred_at),
            occurred_at=occurred_at,
            o2o_staff_ids=self._o2o_staff_ids(rules, event) if rules.o2o_splits else None,
            actor_staff_id=staff_id,
            team_id=team_id,
        )
        if credits is None:
            rows.rejected.append(Problem(EventErrorCode.NO_ATTRIBUTION, _NO_ATTRIBUTION, "staff", index))
            return
        if self.remember:
            self.batch_credits[event.external_id] = credits
        large = rules.large_order_threshold is not None and rules.is_large_order(event.type, event.amount)
        if large:
            self.pending_orders.add(event.external_id)
        # A refund of an order still waiting for confirmation waits with it (confirming the order confirms it).
        pending = large or (refund and (event.order_external_id or "") in self.pending_orders)
        cached = self._credit_texts.get(id(credits))
        if cached is not None and cached[0] is credits:
            credits_text = cached[1]
        else:
            credits_text = _credits_text(credits)
            self._credit_texts[id(credits)] = (credits, credits_text)
        rows.lines.append(
            f"{_copy_text(event.external_id)}\t{event.type}\t{event.occurred_text}\t"
            f"{_NULL if staff_id is None else staff_id}\t{_NULL if customer is None else customer.id}\t"
            f"{_NULL if team_id is None else team_id}\t{event.amount_text or _NULL}\t{event.value_text or _NULL}\t"
            f"{_attributes_text(event)}\t"
            f"{_NULL if event.order_external_id is None else _copy_text(event.order_external_id)}\t"
            f"{credits_text}\t{'pending' if pending else 'counted'}\t{'t' if sent else 'f'}\n"
        )
        rows.stored.append((index, event.external_id))

    def _sent(self, credits: tuple[CheckedCredit, ...]) -> list[SentCredit]:
        staff, teams = self.codes.staff, self.codes.teams
        return [
            SentCredit(
                None if credit.staff is None else staff[credit.staff],
                None if credit.team is None else teams[credit.team],
                credit.share,
            )
            for credit in credits
        ]

    def _o2o_staff_ids(self, rules: AttributionRules, event: CheckedEvent) -> list[int] | None:
        """The staff of the O2O split, when the rule applies to the event and every code it names exists."""
        codes = rules.o2o_staff_codes(event.attributes)
        staff = self.codes.staff
        if codes is None or not all(code in staff for code in codes):
            return None
        return [staff[code] for code in codes]


_NO_ATTRIBUTION = _("The event names no staff, credits or team: nobody can be credited.")
_ONE_TEAM_CREDIT = _("At most one team credit per event (one team pool).")


def _unknown_staff(index: int, code: str, field: str) -> ItemProblem:
    return Problem(EventErrorCode.UNKNOWN_STAFF, _("No staff with code {code}.", code=repr(code)), field, index)


def _unknown_team(index: int, code: str, field: str) -> ItemProblem:
    return Problem(EventErrorCode.UNKNOWN_TEAM, _("No team with code {code}.", code=repr(code)), field, index)


def unknown_code(index: int, event: CheckedEvent, codes: Codes) -> ItemProblem | None:
    """The first code of the event that names nothing stored (or a second team credit)."""
    staff, teams = codes.staff, codes.teams
    # Codes are quoted with repr: they are the caller's text, control characters included.
    if event.staff and event.staff not in staff:
        return _unknown_staff(index, event.staff, "staff")
    if event.team and event.team not in teams:
        return _unknown_team(index, event.team, "team")
    if event.customer and event.customer not in codes.customers:
        return Problem(
            EventErrorCode.UNKNOWN_CUSTOMER,
            _("No customer with code {code}.", code=repr(event.customer)),
            "customer",
            index,
        )
    for position, credit in enumerate(event.credits or ()):
        if credit.staff and credit.staff not in staff:
            return _unknown_staff(index, credit.staff, f"credits[{position}].staff")
        if credit.team and credit.team not in teams:
            return _unknown_team(index, credit.team, f"credits[{position}].team")
    if sum(1 for credit in event.credits or () if credit.team) > 1:
        return Problem(EventErrorCode.CREDIT_TARGET, _ONE_TEAM_CREDIT, "credits", index)
    return None


# COPY text format: tab-separated columns, \N for NULL, backslash escapes in values.
_NULL = "\\N"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _attributes_text(event: CheckedEvent) -> str:
    if event.attributes_json is not None:
        return _copy_text(event.attributes_json)
    if not event.attributes:
        return "{}"
    text = _dumps(event.attributes)  # JSON escapes control characters, so only backslashes need COPY escaping
    return text.replace("\\", "\\\\") if "\\" in text else text


def _credits_text(credits: Credits) -> str:
    """The credit_staff_ids, credit_shares, pool_team_id and pool_share columns of a COPY text row."""
    ids = ",".join(str(staff_id) for staff_id in credits.staff_ids)
    shares = ",".join(str(share) for share in credits.shares)
    pool = _NULL if credits.pool_team_id is None else str(credits.pool_team_id)
    pool_share = _NULL if credits.pool_share is None else str(credits.pool_share)
    return f"{{{ids}}}\t{{{shares}}}\t{pool}\t{pool_share}"

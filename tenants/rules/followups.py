"""Follow-up rules and the tenant's service rules as a whole (pure: parsing, validation, deadlines).

A follow-up rule (DESIGN.md "Attribution and service rules", `follow_up`): every event of type `after` (e.g. an
`order`) with a staff member needs an event of type `needs` (e.g. `follow_up_done`) by the same staff member (and for
the same customer when the order names one) within `within_hours`. The deadline is the order's instant plus
`within_hours`: a follow-up at the deadline itself is in time, one a microsecond later is not. A missed follow-up is
one event of type `emits` (`follow_up_missed` by default) per overdue order, dated at the deadline, with its own
external id derived from the order's (so emitting twice stores nothing new).

The service rules of a tenant are one JSON object, validated whole (every problem with its JSON path and a
`GradingRuleCode`):
    {"grading": {"a_below": 0.2, "b_below": 0.6},
     "follow_up": [{"after": "order", "needs": "follow_up_done", "within_hours": 24, "emits": "follow_up_missed"}]}
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from tenants.errors import DomainError, Problem
from tenants.i18n import _
from tenants.rules.grading import (
    DEFAULT_CUSTOMER_GRADING,
    CustomerGrading,
    GradingRuleCode,
    RuleProblem,
    parse_customer_grading,
)

EVENT_TYPE: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # the events contract's type pattern
MAX_FOLLOW_UP_RULES: Final = 20
MAX_WITHIN_HOURS: Final = 24 * 31
MISSED_PREFIX: Final = "fum:"  # external id of a missed follow-up: fum:<needs>:<the order's external id>
# The order's external id is at most 128 characters, and so is the missed one's: long ones are hashed (missed_id).
MAX_EXTERNAL_ID: Final = 128


@dataclass(frozen=True, slots=True)
class FollowUpRule:
    after: str
    needs: str
    within_hours: int
    emits: str = "follow_up_missed"

    @property
    def within(self) -> timedelta:
        return timedelta(hours=self.within_hours)

    def deadline(self, occurred_at: datetime) -> datetime:
        return occurred_at + self.within

    def as_json(self) -> dict[str, Any]:
        return {"after": self.after, "needs": self.needs, "within_hours": self.within_hours, "emits": self.emits}


@dataclass(frozen=True, slots=True)
class ServiceRules:
    grading: CustomerGrading = DEFAULT_CUSTOMER_GRADING
    follow_up: tuple[FollowUpRule, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        return {"grading": self.grading.as_json(), "follow_up": [rule.as_json() for rule in self.follow_up]}


DEFAULT_SERVICE_RULES: Final = ServiceRules()


class ServiceRulesInvalid(DomainError[GradingRuleCode]):
    """Every problem of service rules that do not validate; nothing is stored."""


def _event_type(raw: Mapping[str, Any], key: str, path: str, problems: list[RuleProblem]) -> str | None:
    value = raw.get(key)
    if value is None:
        problems.append(Problem(GradingRuleCode.REQUIRED, _("This field is required."), f"{path}.{key}"))
        return None
    if not isinstance(value, str) or not EVENT_TYPE.match(value):
        problems.append(
            Problem(
                GradingRuleCode.INVALID_EVENT_TYPE,
                _("An event type: lowercase letters, digits and _, starting with a letter, at most 64 characters."),
                f"{path}.{key}",
            )
        )
        return None
    return value


def _follow_up_rule(raw: object, path: str, problems: list[RuleProblem]) -> FollowUpRule | None:
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(GradingRuleCode.INVALID_TYPE, _("A follow-up rule is an object: after, needs, within_hours."), path)
        )
        return None
    found = len(problems)
    for key in raw:
        if key not in ("after", "needs", "within_hours", "emits"):
            problems.append(
                Problem(
                    GradingRuleCode.UNKNOWN_FIELD,
                    _("Unknown field; a follow-up rule has after, needs, within_hours and emits."),
                    f"{path}.{str(key)[:64]}",
                )
            )
    after = _event_type(raw, "after", path, problems)
    needs = _event_type(raw, "needs", path, problems)
    emits = _event_type({"emits": "follow_up_missed", **raw}, "emits", path, problems)
    hours = raw.get("within_hours")
    if hours is None:
        problems.append(Problem(GradingRuleCode.REQUIRED, _("This field is required."), f"{path}.within_hours"))
    elif isinstance(hours, bool) or not isinstance(hours, int):
        problems.append(
            Problem(
                GradingRuleCode.INVALID_TYPE,
                _("within_hours is a whole number of hours, e.g. 24."),
                f"{path}.within_hours",
            )
        )
    elif not 1 <= hours <= MAX_WITHIN_HOURS:
        problems.append(
            Problem(
                GradingRuleCode.HOURS_OUT_OF_RANGE,
                _("within_hours is between 1 and {maximum}.", maximum=MAX_WITHIN_HOURS),
                f"{path}.within_hours",
            )
        )
    if after is not None and after in (needs, emits):
        problems.append(
            Problem(
                GradingRuleCode.SAME_EVENT_TYPE,
                _("needs and emits must be other event types than after."),
                f"{path}.after",
            )
        )
    if len(problems) > found or after is None or needs is None or emits is None or not isinstance(hours, int):
        return None
    return FollowUpRule(after=after, needs=needs, within_hours=hours, emits=emits)


def parse_service_rules(raw: object) -> ServiceRules:
    """The rules, or `ServiceRulesInvalid` with every problem (JSON path + code)."""
    if not isinstance(raw, Mapping):
        raise ServiceRulesInvalid(
            [
                Problem(
                    GradingRuleCode.INVALID_TYPE,
                    _("The service rules are an object: grading, follow_up."),
                    "",
                )
            ]
        )
    problems: list[RuleProblem] = []
    for key in raw:
        if key not in ("grading", "follow_up"):
            problems.append(
                Problem(
                    GradingRuleCode.UNKNOWN_FIELD,
                    _("Unknown field; the service rules have grading and follow_up."),
                    str(key)[:64],
                )
            )
    grading, grading_problems = parse_customer_grading(raw.get("grading"))
    problems.extend(grading_problems)
    rules: list[FollowUpRule] = []
    raw_rules = raw.get("follow_up", [])
    if not isinstance(raw_rules, list):
        problems.append(
            Problem(GradingRuleCode.INVALID_TYPE, _("follow_up is a list of follow-up rules."), "follow_up")
        )
    elif len(raw_rules) > MAX_FOLLOW_UP_RULES:
        problems.append(
            Problem(
                GradingRuleCode.TOO_MANY_RULES,
                _("At most {limit} follow-up rules.", limit=MAX_FOLLOW_UP_RULES),
                "follow_up",
            )
        )
    else:
        seen: set[tuple[str, str]] = set()
        for index, raw_rule in enumerate(raw_rules):
            path = f"follow_up[{index}]"
            rule = _follow_up_rule(raw_rule, path, problems)
            if rule is None:
                continue
            if (rule.after, rule.needs) in seen:
                problems.append(
                    Problem(
                        GradingRuleCode.DUPLICATE_RULE,
                        _("Another follow-up rule has the same after and needs."),
                        path,
                    )
                )
            seen.add((rule.after, rule.needs))
            rules.append(rule)
    if problems or grading is None:
        raise ServiceRulesInvalid(problems)
    return ServiceRules(grading=grading, follow_up=tuple(rules))


def stored_service_rules(raw: object) -> ServiceRules:
    """Rules read back from storage (validated when saved); none stored: the defaults."""
    return DEFAULT_SERVICE_RULES if raw is None else parse_service_rules(raw)


def missed_external_id(rule: FollowUpRule, order_external_id: str) -> str:
    """The missed follow-up's own external id, stable for (the rule's `needs`, the order), so emitting it again is a
    duplicate whatever the rules' order. An order id too long to embed is replaced by its SHA-256."""
    candidate = f"{MISSED_PREFIX}{rule.needs}:{order_external_id}"
    if len(candidate) <= MAX_EXTERNAL_ID:
        return candidate
    return f"{MISSED_PREFIX}{rule.needs}:#{hashlib.sha256(order_external_id.encode()).hexdigest()}"

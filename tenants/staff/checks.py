"""Per-item checks of master data batches: pure functions of the items (no database), validation rather than rules.

An item with any problem is refused; the others are stored. Every problem is a `tenants.errors.Problem` naming the
item's index, a stable code (MasterDataErrorCode), the input field (camelCase) and a message template (`tenants.i18n._`,
rendered in the reader's language at the edge).

- Every string of an item is checked for text Postgres cannot store (tenants/text.py) before anything else looks at
  it: such a field is refused alone (INVALID_TEXT, naming it) and its own checks skip it, so no unstorable text is
  ever sent to the database or quoted in a message.
- Messages quote input briefly (escaped, at most SHOWN_MAX characters) as a parameter of the template, never in the
  template itself.
- Dates arrive as ISO strings and are parsed here, so one malformed date refuses one item, not the request. Dates and
  datetimes must lie in the range events may occur in (EARLIEST_TIME .. LATEST_TIME, the end excluded), with a UTC
  offset below 16 hours.
- Roles are open: any identifier `^[a-z][a-z0-9_]{0,31}$`. KNOWN_ROLES are the ones the product knows out of the box,
  but merchants invent their own (a "senior_guide", a "live_host") and schemes select participants by role, so a
  closed list would force a code change per merchant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final, TypeVar

from tenants.errors import Problem
from tenants.i18n import Message, _
from tenants.staff.errors import ItemProblem
from tenants.staff.errors import MasterDataErrorCode as Code
from tenants.staff.records import CustomerItem, StaffItem, TeamItem
from tenants.text import is_storable_text

MAX_BATCH = 1000
CODE_MAX_LENGTH = 64  # team.code, staff.code, customer.code are varchar(64)
NAME_MAX_LENGTH = 200
KIND_MAX_LENGTH = 32
ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
KNOWN_ROLES = ("guide", "customer_service", "operations", "sales", "agent")
# The range events may occur in (server/settings.py event_time_min/max defaults): a binding or an employment outside
# it is a typo (year 0001, 9999), and some such values cannot even be stored.
EARLIEST_TIME: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME: Final = datetime(2200, 1, 1, tzinfo=UTC)  # excluded
# Postgres reads offsets up to 15:59(:59); real time zones stop at 14:00. Python reads up to 23:59.
MAX_UTC_OFFSET: Final = timedelta(hours=16)  # excluded
SHOWN_MAX: Final = 60  # characters of input quoted in a message
DUPLICATE_INDEXES_SHOWN = 5

T = TypeVar("T")


class Problems:
    """Collects the problems of one batch; an item with any problem is refused."""

    def __init__(self) -> None:
        self.items: list[tuple[int, ItemProblem]] = []
        self.refused: set[int] = set()

    def add(self, index: int, code: Code, message: Message, field_name: str | None = None) -> None:
        self.items.append((index, Problem(code, message, field_name, index)))
        self.refused.add(index)

    def sorted(self) -> list[ItemProblem]:
        # stable: an item's problems keep the order they were found in
        return [problem for _index, problem in sorted(self.items, key=lambda pair: pair[0])]


def too_many_items(count: int) -> ItemProblem:
    """The one problem of a batch over MAX_BATCH items (reported at the index of the first item over the limit)."""
    return Problem(
        Code.TOO_MANY_ITEMS,
        _("A batch holds at most {limit:,} items; got {count:,}. Nothing was stored.", limit=MAX_BATCH, count=count),
        index=MAX_BATCH,
    )


def shown(value: object) -> str:
    """Input quoted for a message: escaped (repr never carries a NUL or a surrogate) and cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN_MAX else f"{text[:SHOWN_MAX]}…"


def is_valid_code(code: str) -> bool:
    # Codes are compared exactly (events refer to them); surrounding blanks or control characters are almost always
    # an export bug on the merchant's side, so refuse rather than silently strip.
    return 0 < len(code) <= CODE_MAX_LENGTH and code == code.strip() and code.isprintable()


def can_be_code(text: str) -> bool:
    """Whether a reference is worth looking up: what cannot be a code is not sent (it may not even be storable)."""
    return is_storable_text(text) and is_valid_code(text)


def check_texts(index: int, texts: Mapping[str, str | date | datetime | None], problems: Problems) -> set[str]:
    """INVALID_TEXT for every string field that cannot be stored; returns their names (their own checks skip them)."""
    unstorable = {name for name, text in texts.items() if isinstance(text, str) and not is_storable_text(text)}
    for name in sorted(unstorable, key=list(texts).index):
        problems.add(
            index,
            Code.INVALID_TEXT,
            _("{field} contains a NUL character or an unpaired surrogate; such text cannot be stored.", field=name),
            name,
        )
    return unstorable


def check_codes(codes: Sequence[str], problems: Problems) -> None:
    """INVALID_CODE and DUPLICATE_IN_BATCH (every copy: we cannot tell which one the merchant meant).

    Codes that cannot be stored are skipped: INVALID_TEXT already refused their items."""
    indexes: dict[str, list[int]] = {}
    for index, code in enumerate(codes):
        indexes.setdefault(code, []).append(index)
    for index, code in enumerate(codes):
        if not is_storable_text(code):
            continue
        if not is_valid_code(code):
            problems.add(index, Code.INVALID_CODE, _code_message(code), "code")
        elif len(indexes[code]) > 1:
            # The first few places only: a batch of 1,000 copies must not answer 1,000 lists of 1,000 indexes.
            first = indexes[code][:DUPLICATE_INDEXES_SHOWN]
            more = len(indexes[code]) - len(first)
            where = ", ".join(str(i) for i in first) + (f" (+{more})" if more else "")
            problems.add(
                index,
                Code.DUPLICATE_IN_BATCH,
                _("The code {code} appears at indexes {indexes}.", code=shown(code), indexes=where),
                "code",
            )


def _code_message(code: str) -> Message:
    return _(
        "A code has 1-{max_length} printable characters without surrounding blanks; got {value}.",
        max_length=CODE_MAX_LENGTH,
        value=shown(code),
    )


def check_name(index: int, name: str, problems: Problems, *, required: bool = True) -> None:
    if (required and not name.strip()) or len(name.strip()) > NAME_MAX_LENGTH:
        problems.add(
            index, Code.INVALID_NAME, _("A name has 1-{max_length} characters.", max_length=NAME_MAX_LENGTH), "name"
        )


def check_references(
    items: Sequence[T],
    reference: Callable[[T], str | None],
    known: Mapping[str, int],
    problems: Problems,
    code: Code,
    field_name: str,
    unknown: Callable[[str], Message],
) -> None:
    """`code` for every item whose reference is not among the `known` stored codes."""
    for index, item in enumerate(items):
        ref = reference(item)
        # an unstorable reference was refused as INVALID_TEXT already
        if ref is not None and ref not in known and is_storable_text(ref):
            problems.add(index, code, unknown(shown(ref)), field_name)


def unknown_team(code: str) -> Message:
    return _("No team with the code {code}.", code=code)


def unknown_staff_member(code: str) -> Message:
    return _("No staff member with the code {code}.", code=code)


# --- teams ------------------------------------------------------------------------------------------------------------


def check_team(index: int, item: TeamItem, problems: Problems) -> None:
    """What can be told of a team item alone; its parent is settled against the tree later (tenants/staff/tree.py)."""
    unstorable = check_texts(
        index, {"code": item.code, "name": item.name, "parent": item.parent, "kind": item.kind}, problems
    )
    if "name" not in unstorable:
        check_name(index, item.name, problems)
    kind = item.kind.strip()
    if "kind" not in unstorable and (not kind or len(kind) > KIND_MAX_LENGTH or kind != item.kind):
        problems.add(
            index,
            Code.INVALID_KIND,
            _("A kind has 1-{max_length} characters (e.g. region, store, group).", max_length=KIND_MAX_LENGTH),
            "kind",
        )
    if item.parent is not None and "parent" not in unstorable:
        if not is_valid_code(item.parent):
            problems.add(
                index, Code.UNKNOWN_PARENT, _("No team can have the code {code}.", code=shown(item.parent)), "parent"
            )
        elif item.parent == item.code:
            problems.add(index, Code.TEAM_CYCLE, _("A team cannot be its own parent."), "parent")


# --- staff ------------------------------------------------------------------------------------------------------------


def check_staff(index: int, item: StaffItem, problems: Problems) -> tuple[date | None, date | None]:
    """Refuses what is wrong with the item; returns its parsed (hired_on, left_on)."""
    texts = {"code": item.code, "name": item.name, "role": item.role, "team": item.team}
    unstorable = check_texts(index, {**texts, "hiredOn": item.hired_on, "leftOn": item.left_on}, problems)
    if "name" not in unstorable:
        check_name(index, item.name, problems)
    if "role" not in unstorable and not ROLE_PATTERN.match(item.role):
        problems.add(
            index,
            Code.INVALID_ROLE,
            _(
                "A role is a lower-case identifier (e.g. {examples}); got {value}.",
                examples=", ".join(KNOWN_ROLES),
                value=shown(item.role),
            ),
            "role",
        )
    hired_on = None if "hiredOn" in unstorable else _parse_date(index, item.hired_on, "hiredOn", problems)
    left_on = None if "leftOn" in unstorable else _parse_date(index, item.left_on, "leftOn", problems)
    if hired_on is not None and left_on is not None and left_on < hired_on:
        problems.add(index, Code.INVALID_DATES, _("leftOn is before hiredOn."), "leftOn")
    return hired_on, left_on


def _parse_date(index: int, value: date | str | None, field_name: str, problems: Problems) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            problems.add(
                index,
                Code.INVALID_DATE_FORMAT,
                _("{field} is not a date like 2026-10-05: {value}.", field=field_name, value=shown(value)),
                field_name,
            )
            return None
    if not EARLIEST_TIME.date() <= value < LATEST_TIME.date():
        problems.add(index, Code.DATE_OUT_OF_RANGE, _out_of_range_message(field_name, value.isoformat()), field_name)
        return None
    return value


def _out_of_range_message(field_name: str, value: str) -> Message:
    return _(
        "{field} {value} is outside {earliest} .. {latest}.",
        field=field_name,
        value=value,
        earliest=EARLIEST_TIME.date().isoformat(),
        latest=(LATEST_TIME - timedelta(days=1)).date().isoformat(),
    )


# --- customers --------------------------------------------------------------------------------------------------------


def check_customer(index: int, item: CustomerItem, problems: Problems) -> datetime | None:
    """Refuses what is wrong with the item; returns its parsed bound_since."""
    texts = {"code": item.code, "name": item.name, "guide": item.guide, "boundSince": item.bound_since}
    unstorable = check_texts(index, texts, problems)
    if "name" not in unstorable:
        check_name(index, item.name, problems, required=False)
    bound_since = item.bound_since
    if "boundSince" in unstorable:
        return None
    if isinstance(bound_since, str):
        try:
            bound_since = datetime.fromisoformat(bound_since)
        except ValueError:
            problems.add(
                index,
                Code.INVALID_DATE_FORMAT,
                _(
                    "boundSince is not a datetime like 2026-10-05T10:00:00+08:00: {value}.",
                    value=shown(item.bound_since),
                ),
                "boundSince",
            )
            return None
    if bound_since is None:
        return None
    offset = bound_since.utcoffset()
    if offset is None:
        problems.add(
            index,
            Code.NAIVE_DATETIME,
            _("boundSince needs a UTC offset, e.g. 2026-10-05T10:00:00+08:00."),
            "boundSince",
        )
        return None
    if abs(offset) >= MAX_UTC_OFFSET:
        problems.add(
            index,
            Code.INVALID_UTC_OFFSET,
            _(
                "boundSince has the UTC offset {offset}; offsets lie between -15:59 and +15:59.",
                offset=_offset_text(offset),
            ),
            "boundSince",
        )
        return None
    # compared as instants: no conversion that could overflow at year 1 or 9999
    if not EARLIEST_TIME <= bound_since < LATEST_TIME:
        problems.add(
            index,
            Code.DATE_OUT_OF_RANGE,
            _(
                "boundSince {value} is outside {earliest} .. {latest} (excluded).",
                value=bound_since.isoformat(),
                earliest=EARLIEST_TIME.isoformat(),
                latest=LATEST_TIME.isoformat(),
            ),
            "boundSince",
        )
        return None
    if item.guide is None:
        problems.add(index, Code.BOUND_WITHOUT_GUIDE, _("boundSince needs a guide."), "boundSince")
    return bound_since


def _offset_text(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = int(abs(offset).total_seconds()) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"

"""Master data use cases: bulk upserts keyed by the merchant's external codes, and paginated listings.

Upserts are set-based: a batch of up to MAX_BATCH items costs a handful of statements whatever its size (resolve the
referenced codes in one query, write every valid item with one `INSERT ... SELECT FROM unnest(...) ON CONFLICT
(tenant_id, code) DO UPDATE`). Validation is per item: valid items are stored even when others are refused, and each
refusal is a `tenants.errors.Problem` naming its index, a stable code (MasterDataErrorCode), the input field and a
message template (`tenants.i18n._`, rendered in the reader's language by schema/staff.py).

Semantics (documented in the GraphQL descriptions too):
- An upsert replaces every field it carries: an omitted optional field takes its default (no parent = a root team,
  no team, `active` true, no dates, no guide). `staff.user_id` is not master data and is never touched.
- Roles are open: any identifier `^[a-z][a-z0-9_]{0,31}$`. KNOWN_ROLES are the ones the product knows out of the box,
  but merchants invent their own (a "senior_guide", a "live_host") and schemes select participants by role, so a
  closed list would force a code change per merchant.
- A customer's guide may be any staff member of the tenant (custom roles again). `bound_since`: a given value wins;
  otherwise it keeps the stored value while the guide is unchanged and becomes now when the guide changes; it is
  cleared with the guide.
- Dates arrive as ISO strings and are parsed per item, so one malformed date refuses one item, not the request.
  Dates and datetimes must lie in the range events may occur in (EARLIEST_TIME .. LATEST_TIME, the end excluded),
  and a UTC offset below 16 hours: outside, the item is refused (DATE_OUT_OF_RANGE, INVALID_UTC_OFFSET).
- Every string of an item is checked for text Postgres cannot store (a NUL, an unpaired surrogate) before anything
  else looks at it: such an item is refused alone (INVALID_TEXT, naming the field), and no unstorable or over-long
  text is ever sent to the database (references are looked up only when they can be codes at all). Messages quote
  input briefly (escaped, at most about 60 characters) as a parameter of the template, never in the template itself.
- More than MAX_BATCH items: the whole batch is refused (one TOO_MANY_ITEMS problem) before the database is touched.
- After a batch committed, the table's planner statistics are refreshed when the batch changed a large part of it
  (tenants/statistics.py), outside the tenant's transaction: the close's plan must not assume an empty table.

Every statement also filters on tenant_id although RLS would hide other tenants' rows anyway: the application scopes
by tenant and RLS is the second wall (DESIGN: tenant isolation).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Generic, TypeVar

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.audit import service as audit
from tenants.audit.service import Actor
from tenants.errors import Problem
from tenants.i18n import Message, _
from tenants.staff.errors import ItemProblem
from tenants.staff.errors import MasterDataErrorCode as Code
from tenants.statistics import MIN_CHANGED_ROWS, AnalysedTable, refresh_statistics
from tenants.tenancy.identity import TenantId
from tenants.tenancy.uow import tenant_unit_of_work

log = structlog.get_logger("kaohe.staff")

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


@dataclass(frozen=True)
class TeamItem:
    code: str
    name: str
    parent: str | None = None
    # region > store > group by convention; free text so merchants can name their own levels.
    kind: str = "store"


@dataclass(frozen=True)
class StaffItem:
    code: str
    name: str
    role: str
    team: str | None = None
    active: bool = True
    # ISO strings (as they arrive from integrations) or dates; checked per item.
    hired_on: date | str | None = None
    left_on: date | str | None = None


@dataclass(frozen=True)
class CustomerItem:
    code: str
    name: str = ""
    guide: str | None = None
    # An ISO string with a UTC offset (as it arrives from integrations) or an aware datetime; checked per item.
    bound_since: datetime | str | None = None


@dataclass(frozen=True)
class UpsertOutcome:
    created: int
    updated: int
    errors: list[ItemProblem]
    # The codes stored (created or updated), in input order.
    codes: list[str] = field(default_factory=list)


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class TeamRecord:
    id: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StaffRecord:
    id: int
    code: str
    name: str
    role: str
    team_code: str | None
    active: bool
    hired_on: date | None
    left_on: date | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CustomerRecord:
    id: int
    code: str
    name: str
    guide_code: str | None
    bound_since: datetime | None
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------------------------------------------------------------
# Validation helpers


class _Problems:
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


def _is_storable(text: str) -> bool:
    """False for text Postgres cannot store: a NUL character or an unpaired UTF-16 surrogate."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(value: object) -> str:
    """Input quoted for a message: escaped (repr never carries a NUL or a surrogate) and cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN_MAX else f"{text[:SHOWN_MAX]}…"


def _check_texts(index: int, texts: Mapping[str, str | date | datetime | None], problems: _Problems) -> set[str]:
    """INVALID_TEXT for every string field that cannot be stored; returns their names (their own checks skip them)."""
    unstorable = {name for name, text in texts.items() if isinstance(text, str) and not _is_storable(text)}
    for name in sorted(unstorable, key=list(texts).index):
        problems.add(
            index,
            Code.INVALID_TEXT,
            _("{field} contains a NUL character or an unpaired surrogate; such text cannot be stored.", field=name),
            name,
        )
    return unstorable


def _is_valid_code(code: str) -> bool:
    # Codes are compared exactly (events refer to them); surrounding blanks or control characters are almost always
    # an export bug on the merchant's side, so refuse rather than silently strip.
    return 0 < len(code) <= CODE_MAX_LENGTH and code == code.strip() and code.isprintable()


def _code_message(code: str) -> Message:
    return _(
        "A code has 1-{max_length} printable characters without surrounding blanks; got {value}.",
        max_length=CODE_MAX_LENGTH,
        value=_shown(code),
    )


DUPLICATE_INDEXES_SHOWN = 5


def _check_codes(codes: Sequence[str], problems: _Problems) -> None:
    """INVALID_CODE and DUPLICATE_IN_BATCH (every copy: we cannot tell which one the merchant meant).

    Codes that cannot be stored are skipped: INVALID_TEXT already refused their items."""
    indexes: dict[str, list[int]] = {}
    for index, code in enumerate(codes):
        indexes.setdefault(code, []).append(index)
    for index, code in enumerate(codes):
        if not _is_storable(code):
            continue
        if not _is_valid_code(code):
            problems.add(index, Code.INVALID_CODE, _code_message(code), "code")
        elif len(indexes[code]) > 1:
            # The first few places only: a batch of 1,000 copies must not answer 1,000 lists of 1,000 indexes.
            shown = indexes[code][:DUPLICATE_INDEXES_SHOWN]
            more = len(indexes[code]) - len(shown)
            where = ", ".join(str(i) for i in shown) + (f" (+{more})" if more else "")
            problems.add(
                index,
                Code.DUPLICATE_IN_BATCH,
                _("The code {code} appears at indexes {indexes}.", code=_shown(code), indexes=where),
                "code",
            )


def _check_name(index: int, name: str, problems: _Problems, *, required: bool = True) -> None:
    if (required and not name.strip()) or len(name.strip()) > NAME_MAX_LENGTH:
        problems.add(
            index, Code.INVALID_NAME, _("A name has 1-{max_length} characters.", max_length=NAME_MAX_LENGTH), "name"
        )


def _too_many(count: int) -> UpsertOutcome:
    return UpsertOutcome(
        created=0,
        updated=0,
        errors=[
            Problem(
                Code.TOO_MANY_ITEMS,
                _(
                    "A batch holds at most {limit:,} items; got {count:,}. Nothing was stored.",
                    limit=MAX_BATCH,
                    count=count,
                ),
                index=MAX_BATCH,
            )
        ],
    )


async def _rows(conn: BaseDBAsyncClient, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    # execute_query_dict always fetches; execute_query drops the rows of an INSERT ... RETURNING.
    rows: list[dict[str, Any]] = await conn.execute_query_dict(sql, values)
    return rows


async def _finish(
    conn: BaseDBAsyncClient,
    tenant_id: TenantId,
    actor: Actor,
    entity: str,
    rows: list[dict[str, Any]],
    problems: _Problems,
    order: Sequence[str],
) -> UpsertOutcome:
    """Counts, the stored codes in input order, and one audit entry for the batch (only when something was stored)."""
    created = [row["code"] for row in rows if row["inserted"]]
    updated = [row["code"] for row in rows if not row["inserted"]]
    stored = set(created) | set(updated)
    if stored:
        await audit.record(
            tenant_id,
            actor,
            "upsert",
            entity,
            None,
            after={
                "created": len(created),
                "updated": len(updated),
                "rejected": len(problems.refused),
                "created_codes": sorted(created),
                "updated_codes": sorted(updated),
            },
        )
    return UpsertOutcome(
        created=len(created),
        updated=len(updated),
        errors=problems.sorted(),
        codes=[code for code in order if code in stored],
    )


# ---------------------------------------------------------------------------------------------------------------------
# Teams


def _check_team(index: int, item: TeamItem, problems: _Problems) -> None:
    unstorable = _check_texts(
        index, {"code": item.code, "name": item.name, "parent": item.parent, "kind": item.kind}, problems
    )
    if "name" not in unstorable:
        _check_name(index, item.name, problems)
    kind = item.kind.strip()
    if "kind" not in unstorable and (not kind or len(kind) > KIND_MAX_LENGTH or kind != item.kind):
        problems.add(
            index,
            Code.INVALID_KIND,
            _("A kind has 1-{max_length} characters (e.g. region, store, group).", max_length=KIND_MAX_LENGTH),
            "kind",
        )
    if item.parent is not None and "parent" not in unstorable:
        if not _is_valid_code(item.parent):
            problems.add(
                index, Code.UNKNOWN_PARENT, _("No team can have the code {code}.", code=_shown(item.parent)), "parent"
            )
        elif item.parent == item.code:
            problems.add(index, Code.TEAM_CYCLE, _("A team cannot be its own parent."), "parent")


def _cycle_members(parent_of: dict[str, str | None], starts: Sequence[str]) -> set[str]:
    """Codes lying on a cycle of the parent graph, in O(nodes): each node is walked at most once."""
    done: set[str] = set()
    on_cycle: set[str] = set()
    for start in starts:
        path: list[str] = []
        position: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done:
            if node in position:  # back on the current path: everything from there on is a cycle
                on_cycle.update(path[position[node] :])
                break
            position[node] = len(path)
            path.append(node)
            node = parent_of.get(node)
        done.update(path)
    return on_cycle


async def upsert_teams(tenant_id: TenantId, actor: Actor, items: Sequence[TeamItem]) -> UpsertOutcome:
    """Teams keyed by code; parents may be other items of the batch (any order) or stored teams.

    A parent that is neither (or that was refused) is UNKNOWN_PARENT; an item whose new parent would put it on a cycle
    (within the batch or through stored teams) is TEAM_CYCLE. Refusing an item can invalidate the items under it, so
    the checks run to a fixed point.
    """
    if len(items) > MAX_BATCH:
        return _too_many(len(items))
    problems = _Problems()
    _check_codes([item.code for item in items], problems)
    for index, item in enumerate(items):
        _check_team(index, item, problems)
    candidates = {item.code: (index, item) for index, item in enumerate(items) if index not in problems.refused}

    async with tenant_unit_of_work(tenant_id) as conn:
        # Cycle checks read the stored tree; two concurrent batches could each pass them and together close a cycle,
        # so team batches of one tenant take turns (a transaction-scoped lock, released at commit).
        await conn.execute_query(
            "SELECT pg_advisory_xact_lock(hashtextextended('kaohe:team-tree:' || $1::bigint, 0))", [int(tenant_id)]
        )
        seeds = sorted(set(candidates) | {item.parent for _, item in candidates.values() if item.parent})
        # The stored teams of the batch and of its parents, with all their ancestors: enough to see every cycle the
        # batch could close.
        stored = await _rows(
            conn,
            """
            WITH RECURSIVE up AS (
                SELECT id, parent_id FROM team WHERE tenant_id = $1 AND code = ANY($2::text[])
                UNION
                SELECT t.id, t.parent_id FROM team t JOIN up ON t.tenant_id = $1 AND t.id = up.parent_id
            )
            SELECT t.code, p.code AS parent_code
            FROM up JOIN team t ON t.tenant_id = $1 AND t.id = up.id
            LEFT JOIN team p ON p.tenant_id = $1 AND p.id = up.parent_id
            """,
            [int(tenant_id), seeds],
        )
        stored_parent: dict[str, str | None] = {row["code"]: row["parent_code"] for row in stored}
        _settle_team_references(candidates, stored_parent, problems)

        accepted = [item for _, item in sorted(candidates.values(), key=lambda pair: pair[0])]
        rows: list[dict[str, Any]] = []
        if accepted:
            # Two statements instead of a topological insert: new rows first (parents unset), then every accepted
            # item's parent by code, which can now point at rows created a moment ago.
            rows = await _rows(
                conn,
                """
                INSERT INTO team AS t (tenant_id, code, name, kind, parent_id, created_at, updated_at)
                SELECT $1, i.code, i.name, i.kind, NULL, now(), now()
                FROM unnest($2::text[], $3::text[], $4::text[]) AS i(code, name, kind)
                ON CONFLICT (tenant_id, code) DO UPDATE
                    SET name = EXCLUDED.name, kind = EXCLUDED.kind, updated_at = EXCLUDED.updated_at
                RETURNING t.code, (t.xmax = 0) AS inserted
                """,
                [
                    int(tenant_id),
                    [item.code for item in accepted],
                    [item.name.strip() for item in accepted],
                    [item.kind for item in accepted],
                ],
            )
            await conn.execute_query(
                """
                UPDATE team AS t SET parent_id = p.id
                FROM unnest($2::text[], $3::text[]) AS i(code, parent_code)
                LEFT JOIN team p ON p.tenant_id = $1 AND p.code = i.parent_code
                WHERE t.tenant_id = $1 AND t.code = i.code AND t.parent_id IS DISTINCT FROM p.id
                """,
                [int(tenant_id), [item.code for item in accepted], [item.parent for item in accepted]],
            )
        outcome = await _finish(conn, tenant_id, actor, "team", rows, problems, [item.code for item in items])
    await _refresh_statistics("team", outcome)
    return outcome


def _settle_team_references(
    candidates: dict[str, tuple[int, TeamItem]], stored_parent: dict[str, str | None], problems: _Problems
) -> None:
    """Refuse unknown parents and cycles until what remains is a forest (mutates candidates and problems)."""
    while True:
        unknown = [
            code
            for code, (_, item) in candidates.items()
            if item.parent is not None and item.parent not in candidates and item.parent not in stored_parent
        ]
        for code in unknown:
            index, item = candidates.pop(code)
            problems.add(
                index,
                Code.UNKNOWN_PARENT,
                _("No team {code}: neither stored nor a valid item of this batch.", code=_shown(item.parent)),
                "parent",
            )
        if unknown:
            continue
        parent_of = dict(stored_parent)
        parent_of.update({code: item.parent for code, (_, item) in candidates.items()})
        cycle = _cycle_members(parent_of, sorted(candidates)) & set(candidates)
        if not cycle:
            return
        for code in cycle:
            index, item = candidates.pop(code)
            problems.add(
                index,
                Code.TEAM_CYCLE,
                _(
                    "Making {parent} the parent of {code} closes a cycle.",
                    parent=_shown(item.parent),
                    code=_shown(code),
                ),
                "parent",
            )


# ---------------------------------------------------------------------------------------------------------------------
# Staff


def _parse_date(index: int, value: date | str | None, field_name: str, problems: _Problems) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            problems.add(
                index,
                Code.INVALID_DATE_FORMAT,
                _("{field} is not a date like 2026-10-05: {value}.", field=field_name, value=_shown(value)),
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


def _check_staff(index: int, item: StaffItem, problems: _Problems) -> tuple[date | None, date | None]:
    """Refuses what is wrong with the item; returns its parsed (hired_on, left_on)."""
    texts = {"code": item.code, "name": item.name, "role": item.role, "team": item.team}
    unstorable = _check_texts(index, {**texts, "hiredOn": item.hired_on, "leftOn": item.left_on}, problems)
    if "name" not in unstorable:
        _check_name(index, item.name, problems)
    if "role" not in unstorable and not ROLE_PATTERN.match(item.role):
        problems.add(
            index,
            Code.INVALID_ROLE,
            _(
                "A role is a lower-case identifier (e.g. {examples}); got {value}.",
                examples=", ".join(KNOWN_ROLES),
                value=_shown(item.role),
            ),
            "role",
        )
    hired_on = None if "hiredOn" in unstorable else _parse_date(index, item.hired_on, "hiredOn", problems)
    left_on = None if "leftOn" in unstorable else _parse_date(index, item.left_on, "leftOn", problems)
    if hired_on is not None and left_on is not None and left_on < hired_on:
        problems.add(index, Code.INVALID_DATES, _("leftOn is before hiredOn."), "leftOn")
    return hired_on, left_on


async def _ids_by_code(conn: BaseDBAsyncClient, table: str, tenant_id: TenantId, codes: set[str]) -> dict[str, int]:
    """Ids of the stored rows with these codes; what cannot be a code is not looked up (nor sent: it may not even be
    storable text)."""
    # `table` is one of our literals, never input.
    lookup = sorted(code for code in codes if _is_storable(code) and _is_valid_code(code))
    if not lookup:
        return {}
    rows = await _rows(
        conn,
        f"SELECT id, code FROM {table} WHERE tenant_id = $1 AND code = ANY($2::text[])",
        [int(tenant_id), lookup],
    )
    return {row["code"]: row["id"] for row in rows}


def _unknown_team(code: str) -> Message:
    return _("No team with the code {code}.", code=code)


def _unknown_staff_member(code: str) -> Message:
    return _("No staff member with the code {code}.", code=code)


def _check_references(
    items: Sequence[T],
    reference: Callable[[T], str | None],
    known: dict[str, int],
    problems: _Problems,
    code: Code,
    field_name: str,
    unknown: Callable[[str], Message],
) -> None:
    for index, item in enumerate(items):
        ref = reference(item)
        # an unstorable reference was refused as INVALID_TEXT already
        if ref is not None and ref not in known and _is_storable(ref):
            problems.add(index, code, unknown(_shown(ref)), field_name)


async def upsert_staff(tenant_id: TenantId, actor: Actor, items: Sequence[StaffItem]) -> UpsertOutcome:
    if len(items) > MAX_BATCH:
        return _too_many(len(items))
    problems = _Problems()
    _check_codes([item.code for item in items], problems)
    dates = [_check_staff(index, item, problems) for index, item in enumerate(items)]

    async with tenant_unit_of_work(tenant_id) as conn:
        teams = await _ids_by_code(conn, "team", tenant_id, {item.team for item in items if item.team is not None})
        _check_references(items, lambda item: item.team, teams, problems, Code.UNKNOWN_TEAM, "team", _unknown_team)
        accepted = [(item, dates[index]) for index, item in enumerate(items) if index not in problems.refused]
        rows: list[dict[str, Any]] = []
        if accepted:
            rows = await _rows(
                conn,
                """
                INSERT INTO staff AS s
                    (tenant_id, code, name, role, team_id, active, hired_on, left_on, created_at, updated_at)
                SELECT $1, i.code, i.name, i.role, i.team_id, i.active, i.hired_on, i.left_on, now(), now()
                FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::boolean[], $7::date[], $8::date[])
                    AS i(code, name, role, team_id, active, hired_on, left_on)
                ON CONFLICT (tenant_id, code) DO UPDATE
                    SET name = EXCLUDED.name, role = EXCLUDED.role, team_id = EXCLUDED.team_id,
                        active = EXCLUDED.active, hired_on = EXCLUDED.hired_on, left_on = EXCLUDED.left_on,
                        updated_at = EXCLUDED.updated_at
                RETURNING s.code, (s.xmax = 0) AS inserted
                """,
                [
                    int(tenant_id),
                    [item.code for item, _ in accepted],
                    [item.name.strip() for item, _ in accepted],
                    [item.role for item, _ in accepted],
                    [teams[item.team] if item.team is not None else None for item, _ in accepted],
                    [item.active for item, _ in accepted],
                    [hired_on for _, (hired_on, _) in accepted],
                    [left_on for _, (_, left_on) in accepted],
                ],
            )
        outcome = await _finish(conn, tenant_id, actor, "staff", rows, problems, [item.code for item in items])
    await _refresh_statistics("staff", outcome)
    return outcome


# ---------------------------------------------------------------------------------------------------------------------
# Customers


def _check_customer(index: int, item: CustomerItem, problems: _Problems) -> datetime | None:
    """Refuses what is wrong with the item; returns its parsed bound_since."""
    texts = {"code": item.code, "name": item.name, "guide": item.guide, "boundSince": item.bound_since}
    unstorable = _check_texts(index, texts, problems)
    if "name" not in unstorable:
        _check_name(index, item.name, problems, required=False)
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
                    value=_shown(item.bound_since),
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


async def upsert_customers(tenant_id: TenantId, actor: Actor, items: Sequence[CustomerItem]) -> UpsertOutcome:
    if len(items) > MAX_BATCH:
        return _too_many(len(items))
    problems = _Problems()
    _check_codes([item.code for item in items], problems)
    bound = [_check_customer(index, item, problems) for index, item in enumerate(items)]

    async with tenant_unit_of_work(tenant_id) as conn:
        guides = await _ids_by_code(conn, "staff", tenant_id, {item.guide for item in items if item.guide is not None})
        _check_references(
            items, lambda item: item.guide, guides, problems, Code.UNKNOWN_STAFF, "guide", _unknown_staff_member
        )
        accepted = [(item, bound[index]) for index, item in enumerate(items) if index not in problems.refused]
        rows: list[dict[str, Any]] = []
        if accepted:
            # bound_since: the given time; else the stored one when the guide is unchanged (re-sending the same
            # binding must not move it, or the protection window would restart on every sync); else now.
            rows = await _rows(
                conn,
                """
                INSERT INTO customer AS c (tenant_id, code, name, guide_staff_id, bound_since, created_at, updated_at)
                SELECT $1, i.code, i.name, i.guide_id,
                       CASE WHEN i.guide_id IS NULL THEN NULL
                            WHEN i.bound_since IS NOT NULL THEN i.bound_since
                            WHEN old.guide_staff_id = i.guide_id THEN coalesce(old.bound_since, now())
                            ELSE now() END,
                       now(), now()
                FROM unnest($2::text[], $3::text[], $4::bigint[], $5::timestamptz[])
                    AS i(code, name, guide_id, bound_since)
                LEFT JOIN customer old ON old.tenant_id = $1 AND old.code = i.code
                ON CONFLICT (tenant_id, code) DO UPDATE
                    SET name = EXCLUDED.name, guide_staff_id = EXCLUDED.guide_staff_id,
                        bound_since = EXCLUDED.bound_since, updated_at = EXCLUDED.updated_at
                RETURNING c.code, (c.xmax = 0) AS inserted
                """,
                [
                    int(tenant_id),
                    [item.code for item, _ in accepted],
                    [item.name.strip() for item, _ in accepted],
                    [guides[item.guide] if item.guide is not None else None for item, _ in accepted],
                    [bound_since for _, bound_since in accepted],
                ],
            )
        outcome = await _finish(conn, tenant_id, actor, "customer", rows, problems, [item.code for item in items])
    await _refresh_statistics("customer", outcome)
    return outcome


def _offset_text(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = int(abs(offset).total_seconds()) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


async def _refresh_statistics(table: AnalysedTable, outcome: UpsertOutcome) -> None:
    """After the batch committed: refresh the table's planner statistics if the batch changed a large part of it.

    The batch is stored whatever happens here, so a failure is logged (with its trace) rather than reported as a
    failed upsert: statistics only steer plans, and the next large batch (or autovacuum) refreshes them."""
    written = outcome.created + outcome.updated
    if written < MIN_CHANGED_ROWS:
        return  # never enough to matter: spare the catalogue read
    try:
        await refresh_statistics(table, written)
    except Exception:
        log.warning("planner statistics not refreshed after a bulk upsert", table=table, exc_info=True)


# ---------------------------------------------------------------------------------------------------------------------
# Listings


def _like(search: str) -> str:
    """A substring ILIKE pattern with the user's wildcards taken literally."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Query:
    """A tiny WHERE builder with numbered parameters; $1 is always the tenant."""

    def __init__(self, tenant_id: TenantId) -> None:
        self.values: list[Any] = [int(tenant_id)]
        self.conditions: list[str] = []
        # A WITH clause the conditions may refer to (the team subtree).
        self.with_sql = ""

    def param(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"

    def where(self, condition: str) -> None:
        self.conditions.append(condition)

    def search(self, alias: str, search: str | None) -> None:
        if search is not None and search.strip():
            pattern = self.param(_like(search.strip()))
            self.where(f"({alias}.code ILIKE {pattern} OR {alias}.name ILIKE {pattern})")

    @property
    def where_sql(self) -> str:
        return " AND ".join(self.conditions)


R = TypeVar("R")


def _record(cls: Callable[..., R], row: dict[str, Any]) -> R:
    # The SELECT lists name the record fields exactly; `total` is the window count, not a field.
    return cls(**{key: value for key, value in row.items() if key != "total"})


async def _page(
    conn: BaseDBAsyncClient, query: _Query, select: str, from_sql: str, order: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One query for the page and its total (a window count); a second one only when the page is past the end."""
    where = query.where_sql
    count_values = list(query.values)
    limit_p, offset_p = query.param(limit), query.param(offset)
    rows = await _rows(
        conn,
        f"{query.with_sql}SELECT {select}, count(*) OVER () AS total {from_sql} WHERE {where} "
        f"ORDER BY {order} LIMIT {limit_p} OFFSET {offset_p}",
        query.values,
    )
    if rows:
        return rows, int(rows[0]["total"])
    if offset == 0:
        return [], 0
    count = await _rows(conn, f"{query.with_sql}SELECT count(*) AS total {from_sql} WHERE {where}", count_values)
    return [], int(count[0]["total"])


async def list_teams(
    tenant_id: TenantId, *, parent: str | None = None, search: str | None = None, limit: int, offset: int
) -> Page[TeamRecord]:
    """Teams ordered by code; `parent` keeps the direct children of that team."""
    query = _Query(tenant_id)
    query.where("t.tenant_id = $1")
    if parent is not None:
        query.where(f"p.code = {query.param(parent)}")
    query.search("t", search)
    async with tenant_unit_of_work(tenant_id) as conn:
        rows, total = await _page(
            conn,
            query,
            "t.id, t.code, t.name, t.kind, p.code AS parent_code, t.created_at, t.updated_at",
            "FROM team t LEFT JOIN team p ON p.tenant_id = t.tenant_id AND p.id = t.parent_id",
            "t.code",
            limit,
            offset,
        )
    items = [_record(TeamRecord, row) for row in rows]
    return Page(items, total, limit, offset)


async def list_staff(
    tenant_id: TenantId,
    *,
    team: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    search: str | None = None,
    limit: int,
    offset: int,
) -> Page[StaffRecord]:
    """Staff ordered by code; `team` keeps the members of that team and of every team under it."""
    query = _Query(tenant_id)
    query.where("s.tenant_id = $1")
    if team is not None:
        team_p = query.param(team)
        query.with_sql = (
            "WITH RECURSIVE subtree AS ("
            f" SELECT id FROM team WHERE tenant_id = $1 AND code = {team_p}"
            " UNION"
            " SELECT c.id FROM team c JOIN subtree ON c.tenant_id = $1 AND c.parent_id = subtree.id) "
        )
        query.where("s.team_id IN (SELECT id FROM subtree)")
    if role is not None:
        query.where(f"s.role = {query.param(role)}")
    if active is not None:
        query.where(f"s.active = {query.param(active)}")
    query.search("s", search)
    async with tenant_unit_of_work(tenant_id) as conn:
        rows, total = await _page(
            conn,
            query,
            "s.id, s.code, s.name, s.role, t.code AS team_code, s.active, s.hired_on, s.left_on, s.created_at,"
            " s.updated_at",
            "FROM staff s LEFT JOIN team t ON t.tenant_id = s.tenant_id AND t.id = s.team_id",
            "s.code",
            limit,
            offset,
        )
    items = [_record(StaffRecord, row) for row in rows]
    return Page(items, total, limit, offset)


async def list_customers(
    tenant_id: TenantId, *, guide: str | None = None, search: str | None = None, limit: int, offset: int
) -> Page[CustomerRecord]:
    """Customers ordered by code; `guide` keeps the customers bound to that staff member."""
    query = _Query(tenant_id)
    query.where("c.tenant_id = $1")
    if guide is not None:
        query.where(f"g.code = {query.param(guide)}")
    query.search("c", search)
    async with tenant_unit_of_work(tenant_id) as conn:
        rows, total = await _page(
            conn,
            query,
            "c.id, c.code, c.name, g.code AS guide_code, c.bound_since, c.created_at, c.updated_at",
            "FROM customer c LEFT JOIN staff g ON g.tenant_id = c.tenant_id AND g.id = c.guide_staff_id",
            "c.code",
            limit,
            offset,
        )
    items = [_record(CustomerRecord, row) for row in rows]
    return Page(items, total, limit, offset)

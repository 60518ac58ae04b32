"""WeCom (企业微信) behaviour data as value events (POST /import/wecom/behavior).

The body is what `get_user_behavior_data` answers, one item per member and day, each item naming its member:
    {"errcode": 0, "errmsg": "ok",
     "mapping": {"zhangsan": "guide-001"},
     "behavior_data": [{"userid": "zhangsan", "stat_time": 1761926400, "new_contact_cnt": 3, "new_apply_cnt": 5,
                        "chat_cnt": 20, "message_cnt": 80, "reply_percentage": 95.5, "avg_reply_time": 3,
                        "negative_feedback_cnt": 0}, ...]}
`mapping` (WeCom userid -> staff code) comes before `behavior_data`; without one, a userid is taken as the staff
code itself. Each member-day becomes one value event per figure it carries (FIGURES: `wecom_new_contacts`, ...),
dated at `stat_time` (the day's start), for the mapped staff member, with the external id
`wecom:<userid>:<day>:<figure>` (the day in China time, WeCom's). So:
- re-importing the same day stores nothing new (the events service counts the events as duplicates);
- a changed figure for the same day is a conflict for the events service (same external id, other value), reported
  on that item and figure (FIGURE_CHANGED), nothing changed;
- an unknown userid (not in the mapping), a staff code the tenant does not have, a malformed item: reported on that
  item alone; the other items are stored.
Memory stays bounded whatever the body's size or depth: the body is parsed as it arrives (ijson's events, with the
prefixes of the top levels only: see _parse), items are stored in chunks of CHUNK_EVENTS events through the events
service (tenants/events/service.py `store`), an item holds at most MAX_ITEM_EVENTS parser events, and the answer keeps
complete counts but at most REPORT_LIMIT problems.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

import ijson  # type: ignore[import-untyped]  # ships no type information

from tenants.events.batch import Batch
from tenants.events.errors import EventErrorCode
from tenants.events.service import store
from tenants.i18n import Message, _
from tenants.tenancy.identity import TenantId

FIGURES: Final[Mapping[str, str]] = {
    "new_contact_cnt": "wecom_new_contacts",
    "new_apply_cnt": "wecom_new_applies",
    "chat_cnt": "wecom_chats",
    "message_cnt": "wecom_messages",
    "reply_percentage": "wecom_reply_percentage",
    "avg_reply_time": "wecom_avg_reply_minutes",
    "negative_feedback_cnt": "wecom_negative_feedback",
}
COUNT_FIGURES: Final = frozenset(
    {"new_contact_cnt", "new_apply_cnt", "chat_cnt", "message_cnt", "negative_feedback_cnt"}
)
USERID: Final = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
WECOM_ZONE: Final = ZoneInfo("Asia/Shanghai")
CHUNK_EVENTS: Final = 5_000
MAX_ITEM_EVENTS: Final = 200  # parser events of one item: a day has 9 fields, anything much larger is refused
MAX_MAPPING: Final = 100_000
MAX_VALUE_BYTES: Final = 1024 * 1024  # one JSON value (a string, a number) at most; see _Reader
REPORT_LIMIT: Final = 1_000
MAX_FIGURE: Final = Decimal(10) ** 12
STAT_TIME_MIN: Final = 946_684_800  # 2000-01-01
STAT_TIME_MAX: Final = 4_102_444_800  # 2100-01-01


class WecomErrorCode(StrEnum):
    """Stable codes of the WeCom import; never rename one."""

    INVALID_JSON = "INVALID_JSON"  # the body is not JSON (the import stops there; what came before is stored)
    VALUE_TOO_LARGE = "VALUE_TOO_LARGE"  # one JSON value of more than MAX_VALUE_BYTES (the import stops there)
    WECOM_ERROR = "WECOM_ERROR"  # errcode is not 0: WeCom answered an error, nothing to import
    MAPPING_AFTER_DATA = "MAPPING_AFTER_DATA"  # mapping must come before behavior_data
    INVALID_MAPPING = "INVALID_MAPPING"  # mapping is an object of userid -> staff code (text)
    INVALID_ITEM = "INVALID_ITEM"  # an item that is not an object, or too large
    INVALID_USERID = "INVALID_USERID"
    UNKNOWN_USERID = "UNKNOWN_USERID"  # not in the mapping
    INVALID_STAT_TIME = "INVALID_STAT_TIME"
    INVALID_FIGURE = "INVALID_FIGURE"  # not a number, negative, a fraction where a count is expected, too large
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    UNKNOWN_STAFF = "UNKNOWN_STAFF"  # the mapped staff code is not one of the tenant's staff
    FIGURE_CHANGED = "FIGURE_CHANGED"  # this member-day was imported before with another figure: a conflict
    REFUSED = "REFUSED"  # the events service refused the event for another reason (see the message)


@dataclass(frozen=True)
class WecomProblem:
    index: int | None  # the item's position in behavior_data; None for the body as a whole
    code: WecomErrorCode
    message: Message
    field: str | None = None
    userid: str | None = None
    day: str | None = None


@dataclass
class WecomImportResult:
    items: int = 0
    stored: int = 0  # member-days with at least one new event
    unchanged: int = 0  # member-days imported before, identical (duplicates)
    events_accepted: int = 0
    problem_count: int = 0
    problems: list[WecomProblem] = field(default_factory=list)

    def add(self, problem: WecomProblem) -> None:
        self.problem_count += 1
        if len(self.problems) < REPORT_LIMIT:
            self.problems.append(problem)

    @property
    def truncated(self) -> bool:
        return self.problem_count > len(self.problems)


class _ValueTooLarge(Exception):
    """The parser read MAX_VALUE_BYTES without finishing a single JSON value: it would buffer it whole."""


class _Reader:
    """The async file-like ijson reads: the request's chunks as they arrive. The parser holds one JSON token at a
    time, so memory is bounded by the longest token: `since_event` counts the bytes handed over since the parser last
    produced an event, and more than MAX_VALUE_BYTES of them ends the import (like an NDJSON line that is too long)."""

    def __init__(self, body: AsyncIterable[bytes]) -> None:
        self._chunks: AsyncIterator[bytes] = aiter(body)
        self.since_event = 0

    async def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson reads nothing first to learn the stream gives bytes
        if self.since_event > MAX_VALUE_BYTES:
            raise _ValueTooLarge
        async for chunk in self._chunks:
            if chunk:
                self.since_event += len(chunk)
                return chunk
        return b""


_KEPT_PARTS: Final = 3  # import_behavior looks at prefixes of at most two parts ("behavior_data.item")


async def _parse(reader: _Reader) -> AsyncIterator[tuple[str | None, str, Any]]:
    """ijson.parse's (prefix, event, value), with the prefix only where it has at most two parts (None deeper).

    ijson.parse builds every event's full prefix: a body of 20,000 nested arrays (40 KB) made prefixes of 100 KB for
    each of its events, a GB at once. Here only the path's first parts are kept, and the depth as a number."""
    path: list[str] = []  # the first _KEPT_PARTS parts of the path (ijson.common.parse_basecoro's)
    depth = 0  # the path's whole length
    async for event, value in ijson.basic_parse_async(reader, use_float=False):
        if event == "map_key":
            parts = depth - 1
            if depth <= _KEPT_PARTS:
                path[-1] = value
        elif event in ("start_map", "start_array"):
            parts = depth
            if depth < _KEPT_PARTS:
                path.append("" if event == "start_map" else "item")  # a map's part is its current key
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
            parts = depth
            if depth < _KEPT_PARTS:
                path.pop()
        else:
            parts = depth
        yield (".".join(path[:parts]) if parts < _KEPT_PARTS else None), event, value


@dataclass
class _Pending:
    """One chunk's events and, per event, the item and figure it came from."""

    events: list[dict[str, Any]] = field(default_factory=list)
    origins: list[tuple[int, str, str, str]] = field(default_factory=list)  # (item index, figure, userid, day)
    items: dict[int, int] = field(default_factory=dict)  # item index -> events in this chunk


class WecomImport:
    def __init__(self, tenant_id: TenantId) -> None:
        self.tenant_id = tenant_id
        self.result = WecomImportResult()
        self.mapping: dict[str, str] | None = None
        self.pending = _Pending()

    # --- items ------------------------------------------------------------------------------------------------

    def item(self, index: int, raw: object) -> None:
        self.result.items += 1
        if not isinstance(raw, dict):
            self.result.add(
                WecomProblem(index, WecomErrorCode.INVALID_ITEM, _("An item of behavior_data is an object."))
            )
            return
        userid = raw.get("userid")
        if not isinstance(userid, str) or not USERID.match(userid):
            self.result.add(
                WecomProblem(
                    index,
                    WecomErrorCode.INVALID_USERID,
                    _("userid is a WeCom member id: letters, digits, _ . @ -, at most 64 characters."),
                    f"behavior_data[{index}].userid",
                )
            )
            return
        staff = userid if self.mapping is None else self.mapping.get(userid)
        if staff is None:
            self.result.add(
                WecomProblem(
                    index,
                    WecomErrorCode.UNKNOWN_USERID,
                    _("userid {userid} is not in the mapping to staff codes.", userid=userid),
                    f"behavior_data[{index}].userid",
                    userid,
                )
            )
            return
        stat_time = raw.get("stat_time")
        if (
            isinstance(stat_time, bool)
            or not isinstance(stat_time, int | Decimal)
            # The range first: int() of a number like 1e999999 takes minutes.
            or not STAT_TIME_MIN <= stat_time < STAT_TIME_MAX
            or stat_time != int(stat_time)
        ):
            self.result.add(
                WecomProblem(
                    index,
                    WecomErrorCode.INVALID_STAT_TIME,
                    _("stat_time is the day's start as whole seconds since 1970 (between 2000 and 2100)."),
                    f"behavior_data[{index}].stat_time",
                    userid,
                )
            )
            return
        at = datetime.fromtimestamp(int(stat_time), UTC)
        day = at.astimezone(WECOM_ZONE).date().isoformat()
        events: list[tuple[str, dict[str, Any]]] = []
        problems: list[WecomProblem] = []
        for key, value in raw.items():
            path = f"behavior_data[{index}].{key[:64]}"
            if key in ("userid", "stat_time"):
                continue
            if key not in FIGURES:
                problems.append(
                    WecomProblem(
                        index,
                        WecomErrorCode.UNKNOWN_FIELD,
                        _("Unknown field of a behaviour item."),
                        path,
                        userid,
                        day,
                    )
                )
                continue
            figure = _figure(key, value)
            if figure is None:
                problems.append(
                    WecomProblem(
                        index,
                        WecomErrorCode.INVALID_FIGURE,
                        _("A figure is a number of at least 0 (counts are whole numbers)."),
                        path,
                        userid,
                        day,
                    )
                )
                continue
            events.append(
                (
                    key,
                    {
                        "externalId": f"wecom:{userid}:{day}:{key}",
                        "type": FIGURES[key],
                        "occurredAt": at.isoformat(),
                        "staff": staff,
                        "value": str(figure),
                        "attributes": {"wecom_userid": userid, "day": day},
                    },
                )
            )
        if problems:
            for problem in problems:
                self.result.add(problem)
            return  # an item is stored whole or not at all
        if not events:
            self.result.unchanged += 1  # a day without figures: nothing to store
            return
        for key, event in events:
            self.pending.events.append(event)
            self.pending.origins.append((index, key, userid, day))
        self.pending.items[index] = len(events)

    async def flush(self, *, force: bool = False) -> None:
        pending = self.pending
        if not pending.events or (len(pending.events) < CHUNK_EVENTS and not force):
            return
        self.pending = _Pending()
        batch = Batch()  # every duplicate and problem reported: each is mapped back to its item
        for position, event in enumerate(pending.events):
            batch.add(position, event)
        # Stored without the statistics refresh `ingest` makes per batch: the endpoint refreshes them once, after
        # the import (server/imports.py), like an NDJSON import.
        answer = await store(self.tenant_id, batch)
        self.result.events_accepted += answer.accepted
        duplicates = {duplicate.index for duplicate in answer.duplicates}
        refused: dict[int, list[WecomProblem]] = {}
        for problem in answer.rejected:
            position = problem.index if problem.index is not None else -1
            index, key, userid, day = pending.origins[position]
            item_problem = _item_problem(problem.code, problem.message, index, key, userid, day)
            known = refused.setdefault(index, [])
            # One problem per item and field: an unknown staff code is one problem, not one per figure.
            if not any((p.code, p.field) == (item_problem.code, item_problem.field) for p in known):
                known.append(item_problem)
        per_item_duplicates: dict[int, int] = {}
        for position in duplicates:
            item_index = pending.origins[position][0]
            per_item_duplicates[item_index] = per_item_duplicates.get(item_index, 0) + 1
        for index, count in pending.items.items():
            if index in refused:
                for item_problem in refused[index]:
                    self.result.add(item_problem)
            elif per_item_duplicates.get(index, 0) == count:
                self.result.unchanged += 1
            else:
                self.result.stored += 1


def _figure(key: str, value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return None
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or number < 0 or number >= MAX_FIGURE:
        return None
    if key in COUNT_FIGURES and number != number.to_integral_value():
        return None
    return number


def _item_problem(code: EventErrorCode, message: Message, index: int, key: str, userid: str, day: str) -> WecomProblem:
    path = f"behavior_data[{index}].{key}"
    if code == EventErrorCode.EXTERNAL_ID_CONFLICT:
        return WecomProblem(
            index,
            WecomErrorCode.FIGURE_CHANGED,
            _(
                "{figure} of {userid} on {day} was imported before with another value; the stored figure is kept. "
                "A corrected figure needs a correction event of its own.",
                figure=key,
                userid=userid,
                day=day,
            ),
            path,
            userid,
            day,
        )
    if code == EventErrorCode.UNKNOWN_STAFF:
        return WecomProblem(
            index,
            WecomErrorCode.UNKNOWN_STAFF,
            _("userid {userid} maps to a staff code the tenant does not have.", userid=userid),
            f"behavior_data[{index}].userid",
            userid,
            day,
        )
    if code == EventErrorCode.VALUE_TOO_PRECISE:
        return WecomProblem(index, WecomErrorCode.INVALID_FIGURE, message, path, userid, day)
    return WecomProblem(index, WecomErrorCode.REFUSED, message, path, userid, day)


_INVALID_MAPPING: Final = WecomProblem(
    None,
    WecomErrorCode.INVALID_MAPPING,
    _("mapping is an object of WeCom userid to staff code (text), at most {limit} entries.", limit=MAX_MAPPING),
    "mapping",
)


async def import_behavior(tenant_id: TenantId, body: AsyncIterable[bytes]) -> WecomImportResult:
    """Parse the body as it arrives and store its member-days in chunks; the (bounded) answer."""
    run = WecomImport(tenant_id)
    index = 0
    builder: ijson.ObjectBuilder | None = None
    item_events = 0
    skipping_item = False
    in_mapping = False
    mapping_key: str | None = None
    data_started = False
    depth = 0
    try:
        reader = _Reader(body)
        async for prefix, event, value in _parse(reader):
            reader.since_event = 0
            if prefix == "behavior_data" and event == "start_array":
                data_started = True
            elif (
                prefix == "behavior_data.item"
                and event in ("start_map", "start_array")
                and builder is None
                and not skipping_item
            ):
                builder, item_events = ijson.ObjectBuilder(), 0
                builder.event(event, value)
                depth = 1
                continue
            elif prefix == "behavior_data.item" and builder is None and not skipping_item:
                run.item(index, value)  # a scalar item: refused as not an object
                index += 1
                await run.flush()
                continue
            if builder is not None or skipping_item:
                if event in ("start_map", "start_array"):
                    depth += 1
                elif event in ("end_map", "end_array"):
                    depth -= 1
                item_events += 1
                if not skipping_item and item_events > MAX_ITEM_EVENTS:
                    builder, skipping_item = None, True
                    run.result.items += 1
                    run.result.add(
                        WecomProblem(index, WecomErrorCode.INVALID_ITEM, _("An item holds one member's day only."))
                    )
                if builder is not None:
                    builder.event(event, value)
                if depth == 0:
                    if builder is not None:
                        run.item(index, builder.value)
                    builder, skipping_item = None, False
                    index += 1
                    await run.flush()
                continue
            if prefix == "errcode" and event == "number" and value != 0:
                run.result.add(
                    WecomProblem(
                        None,
                        WecomErrorCode.WECOM_ERROR,
                        _("WeCom answered error {errcode}: there is nothing to import.", errcode=str(value)[:20]),
                        "errcode",
                    )
                )
                return run.result
            if prefix == "mapping" and event == "start_map":
                if data_started:
                    run.result.add(
                        WecomProblem(
                            None,
                            WecomErrorCode.MAPPING_AFTER_DATA,
                            _("mapping must come before behavior_data; the import stopped here."),
                            "mapping",
                        )
                    )
                    break
                in_mapping, run.mapping = True, {}
            elif in_mapping and prefix == "mapping" and event == "map_key":
                mapping_key = value
            elif in_mapping and prefix == "mapping" and event == "end_map":
                in_mapping = False
            elif in_mapping and mapping_key is not None:
                if event != "string" or not value or len(run.mapping or {}) >= MAX_MAPPING:
                    run.result.add(_INVALID_MAPPING)
                    return run.result
                assert run.mapping is not None
                run.mapping[mapping_key] = value
                mapping_key = None
            elif prefix == "mapping" and event not in ("start_map",):
                run.result.add(_INVALID_MAPPING)
                return run.result
    except _ValueTooLarge:
        run.result.add(
            WecomProblem(
                None,
                WecomErrorCode.VALUE_TOO_LARGE,
                _(
                    "A JSON value of more than {limit:,} bytes at item {index}; the import stopped there, the items "
                    "before it were imported.",
                    limit=MAX_VALUE_BYTES,
                    index=index,
                ),
            )
        )
    except ijson.JSONError:
        run.result.add(
            WecomProblem(
                None,
                WecomErrorCode.INVALID_JSON,
                _("The body is not valid JSON from item {index} on; the items before it were imported.", index=index),
            )
        )
    await run.flush(force=True)
    # Items are checked as they arrive and stored in chunks: the problems found by storing come later; answer in
    # item order (body-level problems first).
    run.result.problems.sort(key=lambda problem: -1 if problem.index is None else problem.index)
    return run.result

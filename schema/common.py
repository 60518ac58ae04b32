"""GraphQL pieces shared by the domain packages: the JSON scalar, ids, the actor, the tenant's timezone (errors:
schema/errors.py; paging: schema/pagination.py).

Global ids (issue 8 item 7): client caches key objects by `id`, so an id names one object of one type for ever:
`global_id("Scorecard", period_id, revision, staff_id)` is the URL-safe base64 (unpadded) of "Scorecard:<key>:<key>",
each key part percent-escaped, so a code holding ":" cannot be mistaken for two parts. `parse_global_id` answers None
for anything that is not such an id of the expected type (garbage, another type, a 10 MB string): callers answer
"not found", as for an id of another tenant, which their tenant-scoped reads simply do not find.

Times (issue 8 item 7): every DateTime a request returns is shown with the reader's tenant's UTC offset, whichever
domain type holds it: the schema's DateTime scalar (`TENANT_DATETIME`, installed by schema.build_schema) serializes
through the zone the request's context getter set with `use_reader_zone(principal)` (the principal carries the
tenant's timezone, read with its membership: no query). Callers without a tenant read times as stored (UTC).
`tenant_zone(info)` gives resolvers that zone for what is not a DateTime (local dates, naive bounds).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
from contextvars import ContextVar
from datetime import datetime
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

import strawberry
from strawberry.scalars import JSON
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

from schema.context import Info
from tenants.audit.service import Actor
from tenants.rules.calendar import zone
from tenants.tenancy import service as tenancy
from tenants.tenancy.auth import Principal

__all__ = [
    "JSON",
    "actor_of",
    "global_id",
    "in_tenant_zone",
    "parse_global_id",
    "parse_global_int_id",
    "parse_id",
    "parse_row_id",
    "tenant_zone",
]

# Longer than any id we make (a few key parts): longer input is garbage, refused before decoding it.
MAX_GLOBAL_ID_LENGTH = 512
_TENANT_ZONE = "common.tenant_zone"


def parse_id(raw: strawberry.ID | str) -> int | None:
    """Ids that are not integers cannot exist: callers answer NOT_FOUND, as for another tenant's id."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**63 else None


def actor_of(info: Info) -> Actor:
    context = info.context
    if context.user is not None:
        return Actor(user_id=context.user.user_id)
    if context.api_key is not None:
        return Actor(api_key_id=context.api_key.api_key_id)
    return Actor()


def global_id(type_name: str, *key: object) -> strawberry.ID:
    """The opaque, stable id of the object of type `type_name` with this key (ints or strings)."""
    if not key:
        raise ValueError("a global id needs a key")
    text = ":".join([quote(type_name, safe=""), *(quote(str(part), safe="") for part in key)])
    return strawberry.ID(base64.urlsafe_b64encode(text.encode()).decode().rstrip("="))


def parse_global_id(raw: strawberry.ID | str, expected_type: str) -> tuple[str, ...] | None:
    """The key parts of a global id of `expected_type`; None when `raw` is anything else."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_GLOBAL_ID_LENGTH:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, ValueError):  # not base64, or not UTF-8 (UnicodeDecodeError is a ValueError)
        return None
    type_name, *parts = text.split(":")
    if unquote(type_name) != expected_type or not parts:
        return None
    return tuple(unquote(part) for part in parts)


def parse_global_int_id(raw: strawberry.ID | str, expected_type: str, parts: int = 1) -> tuple[int, ...] | None:
    """`parse_global_id` for keys made of `parts` non-negative bigints (row ids, revisions); None otherwise."""
    key = parse_global_id(raw, expected_type)
    if key is None or len(key) != parts:
        return None
    if not all(part.isascii() and part.isdigit() and len(part) <= 19 for part in key):
        return None
    values = tuple(int(part) for part in key)
    return values if all(value < 2**63 for value in values) else None


def parse_row_id(raw: strawberry.ID | str, type_name: str) -> int | None:
    """A row id as a plain integer (as the API shows most ids) or as the global id "<type_name>:<n>"; None for
    anything else (callers answer not found)."""
    text = str(raw)
    if text.isascii() and text.isdigit():
        return parse_id(text)
    key = parse_global_int_id(text, type_name)
    return key[0] if key is not None and key[0] > 0 else None


# The zone of the reader's tenant for the request being served (None: no tenant; times are shown as stored, in UTC).
# A context variable, because a scalar's serializer sees only the value; each request's context getter sets it.
_READER_ZONE: ContextVar[ZoneInfo | None] = ContextVar("kaohe_reader_zone", default=None)


def use_reader_zone(principal: Principal | None) -> None:
    """Show this request's DateTimes with the principal's tenant's UTC offset (None, or no timezone: as stored)."""
    name = principal.timezone if principal is not None else None
    _READER_ZONE.set(zone(name) if name else None)


def _serialize_datetime(value: datetime) -> str:
    reader = _READER_ZONE.get()
    if reader is not None and value.tzinfo is not None:
        value = value.astimezone(reader)
    return value.isoformat()


# strawberry's own DateTime (same name, description and parsing) with a serializer that shows the reader's offset.
TENANT_DATETIME: ScalarDefinition = dataclasses.replace(DateTimeDefinition, serialize=_serialize_datetime)


async def tenant_zone(info: Info) -> ZoneInfo:
    """The caller's tenant's timezone: the principal's (read with its membership), else read once per request
    whatever the number of fields asking (only behind a permission that requires a tenant)."""
    principal = info.context.principal
    if principal is not None and principal.timezone:
        return zone(principal.timezone)
    loaders = info.context.loaders
    pending = loaders.get(_TENANT_ZONE)
    if pending is None:
        pending = loaders[_TENANT_ZONE] = asyncio.ensure_future(_read_zone(info))
    result: ZoneInfo = await pending
    return result


async def _read_zone(info: Info) -> ZoneInfo:
    tenant = await tenancy.get_tenant(info.context.tenant_id)
    return zone(tenant.timezone)


def in_tenant_zone(moment: datetime, tenant: ZoneInfo) -> datetime:
    """The same instant shown with the tenant's UTC offset (a naive datetime is a bug: ValueError)."""
    if moment.tzinfo is None:
        raise ValueError("in_tenant_zone needs an aware datetime")
    return moment.astimezone(tenant)

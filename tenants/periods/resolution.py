"""Which period a key names and what governs it: the window in the scheme's calendar and the version in force.

The version in force at the period's start governs the period, its calendar (cycle, timezone) included. A published
version's parsed config is kept per process (a trigger keeps published versions unchanged). Reads go through
repository.py on the caller's connection; nothing here opens a unit of work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient

from tenants.i18n import _
from tenants.periods import repository
from tenants.periods.errors import CloseError, CloseErrorCode, period_not_ended, scheme_not_found
from tenants.periods.models import Period
from tenants.rules.calendar import CalendarError, parse_period_key, period_containing, period_window
from tenants.rules.config import SchemeConfig, SchemeConfigInvalid, parse_scheme_config
from tenants.schemes.models import SchemeVersion
from tenants.schemes.service import pick_version_in_force
from tenants.tenancy.identity import TenantId


@dataclass(frozen=True)
class ResolvedPeriod:
    key: str
    starts_at: datetime
    ends_at: datetime
    local_start: date
    local_end: date
    version: SchemeVersion | None  # None only for a simulation of an unpublished config
    config: SchemeConfig

    @property
    def version_id(self) -> int:
        if self.version is None:
            raise CloseError.of(
                CloseErrorCode.NO_VERSION, _("No published version is in force for this period."), "period"
            )
        return int(self.version.id)


_PUBLISHED_CONFIGS: dict[tuple[int, int], SchemeConfig] = {}
_PUBLISHED_CONFIGS_MAX = 4096


def published_config(version: SchemeVersion) -> SchemeConfig:
    """Parsed once per process: a published version never changes (a trigger refuses it), so its parse can be kept.
    Closing many small tenants, parsing every time would be a tenth of each close."""
    if version.status != "published":
        return parse_scheme_config(version.config)
    key = (int(version.tenant_id), int(version.id))
    config = _PUBLISHED_CONFIGS.get(key)
    if config is None:
        if len(_PUBLISHED_CONFIGS) >= _PUBLISHED_CONFIGS_MAX:
            _PUBLISHED_CONFIGS.clear()
        config = _PUBLISHED_CONFIGS[key] = parse_scheme_config(version.config)
    return config


@dataclass(frozen=True)
class Calendar:
    cycle: str
    timezone: str


_DEFAULT_TIMEZONE: Final[str] = str(SchemeConfig.model_fields["timezone"].default)


def version_calendar(version: SchemeVersion) -> Calendar | None:
    """A published version's cycle and timezone. A version that no longer validates (the rules tightened after it was
    published) keeps its calendar, so that its periods are still found, closed and fail visibly (CONFIG_INVALID);
    None when even the calendar is unusable."""
    try:
        config = published_config(version)
    except SchemeConfigInvalid:
        pass
    else:
        return Calendar(config.cycle, config.timezone)
    raw: Any = version.config
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    if not isinstance(raw, dict):
        return None
    cycle, timezone = raw.get("cycle"), raw.get("timezone", _DEFAULT_TIMEZONE)
    if not isinstance(cycle, str) or not isinstance(timezone, str):
        return None
    try:
        period_window(cycle, period_containing(cycle, datetime.now(UTC), timezone), timezone)
    except (ValueError, TypeError, OverflowError):
        return None
    return Calendar(cycle, timezone)


def config_invalid(invalid: SchemeConfigInvalid) -> CloseError:
    """The first of the config's problems says what to correct (its message stays a message of the schemes domain,
    rendered in the reader's language with this one)."""
    first = invalid.problems[0] if invalid.problems else None
    if first is None or not first.field:
        message = _("The scheme version in force no longer validates; publish a corrected version.")
    else:
        message = _(
            "The scheme version in force no longer validates ({path}: {problem}); publish a corrected version.",
            path=first.field,
            problem=first.message,
        )
    return CloseError.of(CloseErrorCode.CONFIG_INVALID, message, "config")


Window = tuple[date, date, datetime, datetime]  # local start and end days, then the instants


def version_in_force(versions: Sequence[SchemeVersion], key: str) -> tuple[SchemeVersion, Window]:
    """The version in force at the period's start governs the period, its calendar included (cycle and timezone):
    try the versions newest first and keep the one that is in force at the start of the window it defines."""
    if not versions:
        raise CloseError.of(CloseErrorCode.NO_VERSION, _("The scheme has no published version."), "schemeId")
    problem: CloseError | None = None
    for candidate in sorted(versions, key=lambda v: (v.effective_from or date.min, v.number), reverse=True):
        calendar = version_calendar(candidate)
        if calendar is None:
            problem = problem or CloseError.of(
                CloseErrorCode.CONFIG_INVALID,
                _("Version {number} of the scheme has no usable cycle and timezone.", number=candidate.number),
                "config",
            )
            continue
        try:
            window = _window(calendar.cycle, calendar.timezone, key)
        except CloseError as error:
            problem = problem or error
            continue
        if pick_version_in_force(versions, window[2]) is candidate:
            return candidate, window
        problem = problem or CloseError.of(
            CloseErrorCode.NO_VERSION,
            _("No version of the scheme is in force on {day}.", day=window[0].isoformat()),
            "period",
        )
    assert problem is not None
    raise problem


async def published_versions(conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int) -> list[SchemeVersion]:
    versions = await repository.published_versions(conn, tenant_id, scheme_id)
    if versions is None:
        raise scheme_not_found()
    return versions


async def resolve_period(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, key: str, config_override: SchemeConfig | None = None
) -> ResolvedPeriod:
    versions = await published_versions(conn, tenant_id, scheme_id)
    if config_override is not None:
        # A simulation of an unpublished config: its own calendar; the version in force there, if any, for reference.
        local_start, local_end, starts_at, ends_at = _window(config_override.cycle, config_override.timezone, key)
        version = pick_version_in_force(versions, starts_at)
        return ResolvedPeriod(key, starts_at, ends_at, local_start, local_end, version, config_override)
    candidate, (local_start, local_end, starts_at, ends_at) = version_in_force(versions, key)
    try:
        config = published_config(candidate)
    except SchemeConfigInvalid as invalid:
        raise config_invalid(invalid) from invalid
    return ResolvedPeriod(key, starts_at, ends_at, local_start, local_end, candidate, config)


def ensure_ended(resolved: ResolvedPeriod, now: datetime | None = None) -> None:
    """A period is closed only once it has ended (PERIOD_NOT_ENDED: not recorded on the period, time fixes it)."""
    if resolved.ends_at > (now or datetime.now(UTC)):
        raise period_not_ended(resolved.key)


def _window(cycle: str, timezone: str, key: str) -> Window:
    try:
        local_start, local_end = parse_period_key(cycle, key)
        starts_at, ends_at = period_window(cycle, key, timezone)
    except CalendarError as error:
        # The calendar says what is wrong with the key (its form, its year, its week...), in the reader's language.
        raise CloseError.of(CloseErrorCode.BAD_PERIOD, error.message, "period") from error
    return local_start, local_end, starts_at, ends_at


async def get_or_create_period(
    conn: BaseDBAsyncClient, tenant_id: TenantId, scheme_id: int, resolved: ResolvedPeriod
) -> Period:
    await repository.insert_period_if_absent(
        conn, tenant_id, scheme_id, resolved.key, resolved.starts_at, resolved.ends_at
    )
    period = await repository.period_for_update(conn, tenant_id, scheme_id, resolved.key)
    assert period is not None
    return period

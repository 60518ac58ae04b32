"""The console's languages: Simplified Chinese by default, English on request (`?lang=en`, kept in a cookie).

sqladmin ships no Chinese. Its own template strings (and ours, in admin/templates) are translated in
admin/locale/zh_Hans/LC_MESSAGES/*.po. They are compiled with Babel when the console is built (at app start, from the
.po files: no compiled .mo is kept in the repository or needed at install, so the .po stays the one source and a
fresh clone runs as is), then installed into sqladmin's catalogue table under `zh_Hans`.
Labels made in Python (view names, columns, filters, actions) are `tenants.i18n` messages (`_("Staff")`, translated
in tenants/locale/zh_Hans/LC_MESSAGES/admin.po, checked by tests/test_i18n.py) rendered lazily in the request's
language by `label()`.
Dates are shown in the tenant's timezone and money as CNY, both formatted by Babel for the reader's locale.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from babel import dates, numbers
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, Translations
from sqladmin import i18n as sqladmin_i18n

from tenants.i18n import Locale, Message

CHINESE: Final = "zh_Hans"
ENGLISH: Final = "en"
LANGUAGES: Final = (CHINESE, ENGLISH)
CATALOGUE_DIRECTORY: Final = Path(__file__).resolve().parent / "locale" / CHINESE / "LC_MESSAGES"
# Babel's locale for formatting (zh_Hans alone has no territory: China's formats need zh_Hans_CN).
FORMAT_LOCALES: Final = {CHINESE: "zh_Hans_CN", ENGLISH: "en"}
DEFAULT_ZONE: Final = ZoneInfo("Asia/Shanghai")
# The signed-in tenant's timezone (set per request by the sign-in check): instants are shown in it.
current_zone: ContextVar[ZoneInfo] = ContextVar("kaohe_admin_zone", default=DEFAULT_ZONE)


def compile_catalogue(directory: Path = CATALOGUE_DIRECTORY) -> Translations:
    """Every .po of the directory merged and compiled in memory (fuzzy and empty entries are left out)."""
    merged = Catalog(locale=CHINESE, domain="admin")
    for path in sorted(directory.glob("*.po")):
        with path.open("rb") as file:
            for message in read_po(file, locale=CHINESE):
                if message.id and message.string and not message.fuzzy:
                    merged.add(message.id, message.string)
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return Translations(buffer, domain="admin")


def install_chinese() -> None:
    """Teach sqladmin the zh_Hans locale (idempotent: the app factory may run more than once in a process)."""
    sqladmin_i18n.translations[CHINESE] = compile_catalogue()
    if CHINESE not in sqladmin_i18n.SUPPORTED_LOCALES:
        sqladmin_i18n.SUPPORTED_LOCALES.append(CHINESE)


def console_locale() -> str:
    """The request's console language (sqladmin's code: zh_Hans or en)."""
    chosen = sqladmin_i18n.get_locale()
    return chosen if chosen in LANGUAGES else CHINESE


def message_locale() -> Locale:
    """The request's language as tenants.i18n names it."""
    return "en" if console_locale() == ENGLISH else "zh-CN"


def render(message: Message) -> str:
    return message.render(message_locale())


class LazyLabel(LazyProxy):
    """Babel's lazy string, hashable by its message (sqladmin keys dictionaries by labels)."""

    def __hash__(self) -> int:
        return hash(self._args[0].template)

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))


def label(message: Message) -> str:
    """A label rendered in each request's language when shown (views are built once, at import)."""
    proxy = LazyLabel(render, message, enable_cache=False)
    return proxy  # type: ignore[return-value]  # a str everywhere jinja and sqladmin use it


def format_money(amount: Decimal | None, currency: str = "CNY") -> str:
    if amount is None:
        return ""
    return numbers.format_currency(amount, currency, locale=FORMAT_LOCALES[console_locale()])


def format_number(value: Decimal | float | int | None, digits: int = 2) -> str:
    if value is None:
        return ""
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return numbers.format_decimal(value, format=pattern, locale=FORMAT_LOCALES[console_locale()])


def format_instant(value: datetime | None, zone: ZoneInfo | None = None) -> str:
    if value is None:
        return ""
    return dates.format_datetime(
        value, "medium", tzinfo=zone or current_zone.get(), locale=FORMAT_LOCALES[console_locale()]
    )


def format_day(value: date | None) -> str:
    if value is None:
        return ""
    return dates.format_date(value, "medium", locale=FORMAT_LOCALES[console_locale()])

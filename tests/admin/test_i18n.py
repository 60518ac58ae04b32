"""The console's catalogues: every string of sqladmin's templates and of ours has a Chinese translation naming the same
placeholders, the catalogue compiles from the .po files, and dates and money read as in China."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import sqladmin
from jinja2.ext import babel_extract
from sqladmin import i18n as sqladmin_i18n

from admin.i18n import CHINESE, compile_catalogue, format_day, format_instant, format_money, install_chinese

ROOTS = (Path(sqladmin.__file__).parent / "templates", Path(__file__).resolve().parents[2] / "admin" / "templates")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def template_strings() -> dict[str, str]:
    found: dict[str, str] = {}
    for root in ROOTS:
        for path in sorted(root.rglob("*.html")):
            with path.open("rb") as file:
                for lineno, _function, message, _comments in babel_extract(
                    file, ("_", "gettext", "ngettext"), [], {"extensions": "jinja2.ext.i18n"}
                ):
                    texts = [message] if isinstance(message, str) else [m for m in message or () if m]
                    for text in texts:
                        found.setdefault(text, f"{path.name}:{lineno}")
    return found


def test_every_template_string_of_the_console_has_a_chinese_translation() -> None:
    catalogue = compile_catalogue()
    strings = template_strings()
    assert len(strings) > 100  # sqladmin's own (about 55) and ours
    missing = [f"{where}: {text}" for text, where in strings.items() if catalogue.gettext(text) == text]
    assert missing == []
    wrong = [
        text for text in strings if set(PLACEHOLDER.findall(catalogue.gettext(text))) != set(PLACEHOLDER.findall(text))
    ]
    assert wrong == []


def test_sqladmin_learns_zh_hans_and_keeps_its_own_locales() -> None:
    install_chinese()
    install_chinese()  # idempotent
    assert sqladmin_i18n.SUPPORTED_LOCALES.count(CHINESE) == 1
    assert "en" in sqladmin_i18n.SUPPORTED_LOCALES
    sqladmin_i18n.set_locale(CHINESE)
    try:
        assert sqladmin_i18n.gettext("Logout") == "退出登录"
        assert sqladmin_i18n.gettext("Showing %(start)s to %(end)s of %(count)s items") == (
            "第 %(start)s 至 %(end)s 条，共 %(count)s 条"
        )
        assert format_money(Decimal("1234.5")) == "¥1,234.50"
        assert format_money(Decimal("-400")) == "-¥400.00"
        # 2026-10-31 16:10 UTC is 11-01 00:10 in Shanghai: the date a merchant sees is the local one
        assert format_instant(datetime(2026, 10, 31, 16, 10, tzinfo=UTC)).startswith("2026年11月1日")
        assert format_day(date(2026, 10, 1)) == "2026年10月1日"
    finally:
        sqladmin_i18n.set_locale("en")
    assert format_money(Decimal("1234.5")) == "CN¥1,234.50"

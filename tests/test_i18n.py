"""Every message template in the code has a Chinese translation naming the same parameters."""

from __future__ import annotations

import string
from pathlib import Path

from babel.messages.extract import extract_from_dir

from tenants.i18n import Message, _, catalogue, parse_locale

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tenants", "schema", "server", "workers", "admin")


def _templates() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in PACKAGES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / package, keywords={"_": None}, directory_filter=lambda path: "migrations" not in path
        ):
            if isinstance(message, str):
                found.setdefault(message, f"{package}/{filename}:{lineno}")
    return found


def _fields(template: str) -> set[str]:
    return {name for _text, name, _spec, _conversion in string.Formatter().parse(template) if name is not None}


def test_every_template_has_a_chinese_translation_with_the_same_parameters() -> None:
    chinese = catalogue("zh-CN")
    missing = [f"{where}: {template}" for template, where in _templates().items() if template not in chinese]
    assert missing == []
    mismatched = [
        template for template in _templates() if template in chinese and _fields(chinese[template]) != _fields(template)
    ]
    assert mismatched == []


def test_messages_render_in_the_readers_locale() -> None:
    message = Message("{count} items at most.", {"count": 3})
    assert message.render("en") == "3 items at most."
    assert str(message) == "3 items at most."
    assert _("x") == Message("x", {})


def test_a_message_inside_a_message_reads_in_the_same_language() -> None:
    inner = Message("Weights of scored metrics add up to {total}; they must be 100", {"total": 110})
    outer = Message("x {problem}", {"problem": inner})
    assert outer.render("en") == "x Weights of scored metrics add up to 110; they must be 100"
    assert "110" in outer.render("zh-CN")
    assert "Weights" not in outer.render("zh-CN")


def test_locales_default_to_simplified_chinese() -> None:
    assert parse_locale(None) == "zh-CN"
    assert parse_locale("en-US,en;q=0.9") == "en"
    assert parse_locale("zh-Hans-CN") == "zh-CN"
    assert parse_locale("fr") == "zh-CN"

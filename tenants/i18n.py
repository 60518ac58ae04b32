"""Messages people read, in their language.

A message is made where a problem is found, as an English template with named parameters
(`_("No staff with code {code}.", code=code)`), and rendered at the edge (GraphQL, the import's answer, the console)
in the reader's locale: the tenant's language, Simplified Chinese by default. Codes stay English and stable: programs
act on codes, people read messages. Translations are gettext catalogues (`tenants/locale/<locale>/LC_MESSAGES/*.po`,
one file per domain so domains are translated side by side) read with Babel; tests/test_i18n.py extracts every
template from the code and fails when one has no translation, or a translation names other parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

from babel.messages.pofile import read_po

Locale = Literal["zh-CN", "en"]
DEFAULT_LOCALE: Final[Locale] = "zh-CN"
SOURCE_LOCALE: Final[Locale] = "en"  # the templates' own language: no catalogue
LOCALES: Final[tuple[Locale, ...]] = ("zh-CN", "en")
# gettext directory names of the locales that have catalogues.
CATALOGUE_DIRECTORIES: Final[Mapping[Locale, str]] = {"zh-CN": "zh_Hans"}
LOCALE_ROOT = Path(__file__).resolve().parent / "locale"


@dataclass(frozen=True, slots=True)
class Message:
    """An English template and its parameters; `str()` is the English text (logs, tests)."""

    template: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, locale: str = DEFAULT_LOCALE) -> str:
        chosen = parse_locale(locale)
        translated = catalogue(chosen).get(self.template, self.template)
        if not self.params:
            return translated
        # A message quoted inside another (a config problem inside a close failure) reads in the same language.
        params = {k: v.render(chosen) if isinstance(v, Message) else v for k, v in self.params.items()}
        return translated.format(**params)

    def __str__(self) -> str:
        return self.render(SOURCE_LOCALE)


def _(template: str, **params: Any) -> Message:
    """Mark a message for translation (pybabel's default keyword); rendered later, in the reader's locale."""
    return Message(template, params)


def parse_locale(value: str | None) -> Locale:
    """A tenant setting or an Accept-Language value; anything unknown is the default."""
    if not value:
        return DEFAULT_LOCALE
    first = value.split(",", 1)[0].split(";", 1)[0].strip().lower().replace("_", "-")
    if first.startswith("en"):
        return "en"
    return DEFAULT_LOCALE


@cache
def catalogue(locale: Locale) -> Mapping[str, str]:
    """Template -> translation for one locale, merged from its domain catalogues (fuzzy or empty ones skipped)."""
    directory = CATALOGUE_DIRECTORIES.get(locale)
    if directory is None:
        return {}
    translations: dict[str, str] = {}
    for path in sorted((LOCALE_ROOT / directory / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as file:
            for message in read_po(file, locale=directory):
                text = message.string
                if message.id and isinstance(message.id, str) and isinstance(text, str) and text and not message.fuzzy:
                    translations[message.id] = text
    return translations

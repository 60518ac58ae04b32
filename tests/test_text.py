"""One definition of text the database can store."""

from __future__ import annotations

import pytest

from tenants.text import has_lone_surrogate, is_storable_text


@pytest.mark.parametrize(
    ("text", "storable"),
    [
        ("", True),
        ("plain", True),
        ("门店 A", True),
        ("emoji 😀", True),
        ("a\x00b", False),
        ("门\x00店", False),
        ("x\ud800", False),
        ("\udfff y", False),
    ],
)
def test_storable_text(text: str, storable: bool) -> None:
    assert is_storable_text(text) is storable


def test_lone_surrogates() -> None:
    assert has_lone_surrogate("x\ud800")
    assert not has_lone_surrogate("😀")
    assert not has_lone_surrogate("a\x00b")

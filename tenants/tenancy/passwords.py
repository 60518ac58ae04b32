"""The password policy, one for every way a password is set (CLI, invitation, change, reset). Pure.

A password has MIN_LENGTH to MAX_LENGTH characters (argon2 takes any length; the cap keeps hashing cheap and refuses
pasted documents), is not one character repeated, not a run of consecutive characters ("12345678", "abcdefgh"), not
one of the few passwords every guesser tries first, and does not contain the account's email address or its local
part. Each refusal is a TenancyError with its own code on the field that holds the password.
"""

from __future__ import annotations

from itertools import pairwise

from tenants.i18n import _
from tenants.tenancy.errors import TenancyError, TenancyErrorCode

MIN_LENGTH = 8
MAX_LENGTH = 256
# Lower-cased; a password equal to one of these (ignoring case) is refused.
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "qwertyui",
        "qwertyuiop",
        "iloveyou",
        "1qaz2wsx",
        "a1b2c3d4",
        "woaini1314",
        "admin123",
        "admin1234",
        "administrator",
        "letmein1",
        "welcome1",
        "kaohe123",
        "zxcvbnm1",
        "1q2w3e4r",
        "123qweasd",
        "qwe123456",
        "aa123456",
        "abc12345",
        "abc123456",
        "88888888",
        "66666666",
        "11223344",
        "12341234",
        "123123123",
        "147258369",
        "5201314520",
    }
)


def _is_run(text: str) -> bool:
    """Consecutive characters up or down: 12345678, abcdefgh, 87654321."""
    steps = {ord(b) - ord(a) for a, b in pairwise(text)}
    return steps in ({1}, {-1})


def check_password(password: str, field: str = "password", email: str | None = None) -> None:
    """Raises TenancyError (PASSWORD_TOO_SHORT, PASSWORD_TOO_LONG, PASSWORD_TOO_WEAK) naming `field`."""
    if len(password) < MIN_LENGTH:
        raise TenancyError.of(
            TenancyErrorCode.PASSWORD_TOO_SHORT,
            _("Passwords need at least {min_length} characters.", min_length=MIN_LENGTH),
            field,
        )
    if len(password) > MAX_LENGTH:
        raise TenancyError.of(
            TenancyErrorCode.PASSWORD_TOO_LONG,
            _("Passwords have at most {max_length} characters.", max_length=MAX_LENGTH),
            field,
        )
    folded = password.casefold()
    if len(set(folded)) == 1:
        raise TenancyError.of(
            TenancyErrorCode.PASSWORD_TOO_WEAK, _("A password cannot be one character repeated."), field
        )
    if _is_run(folded):
        raise TenancyError.of(
            TenancyErrorCode.PASSWORD_TOO_WEAK, _("A password cannot be a run of consecutive characters."), field
        )
    if folded in COMMON_PASSWORDS:
        raise TenancyError.of(
            TenancyErrorCode.PASSWORD_TOO_WEAK,
            _("This password is among the first ones guessed; choose another."),
            field,
        )
    if email:
        local = email.casefold().split("@", 1)[0]
        if email.casefold() in folded or (len(local) >= 4 and local in folded):
            raise TenancyError.of(
                TenancyErrorCode.PASSWORD_TOO_WEAK, _("A password cannot contain the email address."), field
            )

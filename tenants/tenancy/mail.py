"""Mail to people (invitations, password resets) as the domain sees it: the `MailSender` interface.

There is no mail server: the process's sender is `LoggingMailSender` unless another is installed
(`install_mail_sender`), which writes each message to the structured log (event "mail.sent"), its text included, so a
developer (or a log shipper feeding a real mailer) can act on it. Tests install a sender that keeps what was sent.
Mail is sent after the unit of work that made its token commits (never for a change that rolled back); a failing
sender is logged and does not undo the change (the token stays valid; the user can ask again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import structlog

from tenants.i18n import Locale, Message

log = structlog.get_logger("kaohe.mail")


class MailKind(StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"


@dataclass(frozen=True)
class OutgoingMail:
    """One message: `subject` and `body` rendered in `locale`; `data` holds the template's values (the token among
    them) for a sender that renders its own templates."""

    to: str
    kind: MailKind
    subject: Message
    body: Message
    locale: Locale
    data: Mapping[str, str] = field(default_factory=dict)


class MailSender(Protocol):
    async def send(self, mail: OutgoingMail) -> None:
        """Deliver (or hand over) the message; raising means it was not sent."""
        ...


class LoggingMailSender:
    """Writes every message to the log instead of sending it (no mail server needed)."""

    async def send(self, mail: OutgoingMail) -> None:
        # A logger per message: the process caches loggers on first use, which would keep one bound to the logging
        # configuration of that moment (a test capturing the log configures its own).
        structlog.get_logger("kaohe.mail").info(
            "mail.sent",
            to=mail.to,
            kind=mail.kind.value,
            subject=mail.subject.render(mail.locale),
            body=mail.body.render(mail.locale),
        )


_installed: MailSender | None = None
_default = LoggingMailSender()


def install_mail_sender(sender: MailSender | None) -> MailSender | None:
    """Make `sender` the process's mail sender (None: back to the logging one); returns the one it replaces."""
    global _installed
    previous = _installed
    _installed = sender
    return previous


def installed_mail_sender() -> MailSender:
    return _installed if _installed is not None else _default


async def send_mail(mail: OutgoingMail) -> None:
    """Send with the installed sender; a failure is logged, never raised (the change that made the mail stands)."""
    try:
        await installed_mail_sender().send(mail)
    except Exception:  # a mail transport may fail in any way; the caller's change is committed already
        log.exception("mail.failed", to=mail.to, kind=mail.kind.value)

"""Fixtures of the accounts tests: the mail the app sends (a test implementation of the MailSender interface, installed
in the app for the test), platform operators, and the per-address rate limit counters of the one test client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from redis.asyncio import Redis

from tenants.tenancy import service
from tenants.tenancy.limits import limit_key
from tenants.tenancy.mail import MailKind, OutgoingMail, install_mail_sender
from tests.conftest import PASSWORD, unique

TEST_CLIENT_ADDRESS = "127.0.0.1"


class Outbox:
    """A MailSender that keeps every message (the app's mail for the test's duration)."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []

    async def send(self, mail: OutgoingMail) -> None:
        self.sent.append(mail)

    def to(self, email: str, kind: MailKind | None = None) -> list[OutgoingMail]:
        return [mail for mail in self.sent if mail.to == email and (kind is None or mail.kind == kind)]

    def token(self, email: str, kind: MailKind) -> str:
        """The token of the last message of that kind to `email`."""
        mails = self.to(email, kind)
        assert mails, f"no {kind} mail to {email}: {self.sent}"
        return mails[-1].data["token"]


@pytest.fixture
def outbox() -> Iterator[Outbox]:
    box = Outbox()
    previous = install_mail_sender(box)
    yield box
    install_mail_sender(previous)


@pytest.fixture(autouse=True)
async def _forget_account_limits_of_the_test_client(redis: Redis) -> AsyncIterator[None]:
    # Every test request comes from one address: its reset counter must not spill from one test into the next.
    yield
    await redis.delete(limit_key("reset-address", TEST_CLIENT_ADDRESS))


Operator = Callable[[], Awaitable[str]]


@pytest.fixture
def operator(login: Callable[..., Awaitable[str]]) -> Operator:
    """A new platform operator, signed in: its access token."""

    async def make() -> str:
        email = f"{unique('op')}@example.com"
        await service.create_user(email, PASSWORD, platform_operator=True)
        return await login(email)

    return make

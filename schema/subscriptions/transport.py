"""Authentication of a graphql-transport-ws connection.

Browsers cannot set headers on a websocket, so the token travels in the connection_init message's payload:
`{"authorization": "Bearer <access token>"}` (what GraphQL clients send as connection params) or `{"token": "..."}`.
A connection without a valid one is closed with 4403 (the protocol's "Forbidden") and the AuthErrorCode as the close
reason (UNAUTHENTICATED, TOKEN_INVALID, TOKEN_EXPIRED, TENANT_SUSPENDED...), before any operation runs; strawberry's
own rejection would close with the bare reason "Forbidden".

A connection lives for hours; its token does not stay good that long (it expires, the session logs out, the member is
removed, the tenant suspended). So the token is checked again every REAUTHENTICATE_SECONDS: once refused, or once it
names another tenant or role than at connection time, the connection is closed the same way (4403 and the code;
FORBIDDEN for a changed role), ending its subscriptions. A check that fails for a temporary reason (the database
briefly away) keeps the connection. Each subscription checks its role and reads its access scope when it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar, Final

import structlog
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from schema.context import Context
from tenants.tenancy.auth import UNAUTHENTICATED_MESSAGE, Principal
from tenants.tenancy.errors import AuthError, AuthErrorCode

log = structlog.get_logger("kaohe.live")
REFUSED_CLOSE_CODE: Final = 4403
# A close reason holds at most 123 bytes; tokens are far shorter than this anyway.
_MAX_TOKEN_CHARS: Final = 4096


class ConnectionRefused(Exception):
    """The connection_init was refused: the socket is closed with REFUSED_CLOSE_CODE and this code as reason."""

    def __init__(self, code: AuthErrorCode) -> None:
        super().__init__(code.value)
        self.code = code


def _token(payload: dict[str, Any]) -> str | None:
    value = payload.get("authorization", payload.get("Authorization"))
    if isinstance(value, str):
        scheme, _space, credentials = value.partition(" ")
        value = credentials if scheme.lower() == "bearer" else None
    else:
        value = payload.get("token")
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TOKEN_CHARS:
        return None
    return value.strip()


async def authenticate_connection(context: Context, payload: dict[str, Any]) -> str:
    """The payload's token becomes the context's principal (the token is returned), or ConnectionRefused."""
    token = _token(payload)
    try:
        if token is None:
            raise AuthError.of(AuthErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)
        context.principal = await context.auth.authenticate(token)
    except AuthError as error:
        raise ConnectionRefused(error.code) from error
    return token


def _same_access(before: Principal | None, after: Principal) -> bool:
    return (
        before is not None
        and before.tenant_id == after.tenant_id
        and getattr(before, "role", None) == getattr(after, "role", None)
    )


class KaoheTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """strawberry's handler, authenticating the first connection_init before strawberry acknowledges it (a second
    one, a late one or one whose payload is no object is strawberry's to refuse, as the protocol says)."""

    REAUTHENTICATE_SECONDS: ClassVar[float] = 60.0
    _reauthentication: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload", {})
        if self.connection_init_received or self.connection_timed_out or not isinstance(payload, dict):
            await super().handle_connection_init(message)
            return
        try:
            token = await authenticate_connection(self.context, payload)
        except ConnectionRefused as refused:
            self.connection_init_received = True
            if self.connection_init_timeout_task:
                self.connection_init_timeout_task.cancel()
            await self.websocket.close(code=REFUSED_CLOSE_CODE, reason=refused.code.value)
            return
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self._reauthentication = asyncio.create_task(self._keep_authenticated(token))

    async def _keep_authenticated(self, token: str) -> None:
        while True:
            await asyncio.sleep(self.REAUTHENTICATE_SECONDS)
            try:
                principal = await self.context.auth.authenticate(token)
            except AuthError as error:
                code = error.code
            except Exception:  # the check itself failed (database, Redis): the token is not known to be bad
                log.warning("websocket re-authentication failed; connection kept", exc_info=True)
                continue
            else:
                if _same_access(self.context.principal, principal):
                    continue
                code = AuthErrorCode.FORBIDDEN
            await self.websocket.close(code=REFUSED_CLOSE_CODE, reason=code.value)
            return

    async def shutdown(self) -> None:
        if self._reauthentication is not None:
            self._reauthentication.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reauthentication
        await super().shutdown()

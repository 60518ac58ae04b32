"""Authentication of a graphql-transport-ws connection.

Browsers cannot set headers on a websocket, so the token travels in the connection_init message's payload:
`{"authorization": "Bearer <access token>"}` (what GraphQL clients send as connection params) or `{"token": "..."}`.
A connection without a valid one is closed with 4403 (the protocol's "Forbidden") and the AuthErrorCode as the close
reason (UNAUTHENTICATED, TOKEN_INVALID, TOKEN_EXPIRED, TENANT_SUSPENDED...), before any operation runs; strawberry's
own rejection would close with the bare reason "Forbidden". The principal authenticated here is the connection's for
its lifetime; each subscription still checks its role and reads its access scope when it starts.
"""

from __future__ import annotations

from typing import Any, Final

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from schema.context import Context
from tenants.tenancy.auth import UNAUTHENTICATED_MESSAGE
from tenants.tenancy.errors import AuthError, AuthErrorCode

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


async def authenticate_connection(context: Context, payload: dict[str, Any]) -> None:
    """The payload's token becomes the context's principal, or ConnectionRefused."""
    token = _token(payload)
    try:
        if token is None:
            raise AuthError.of(AuthErrorCode.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE)
        context.principal = await context.auth.authenticate(token)
    except AuthError as error:
        raise ConnectionRefused(error.code) from error


class KaoheTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """strawberry's handler, authenticating the first connection_init before strawberry acknowledges it (a second
    one, a late one or one whose payload is no object is strawberry's to refuse, as the protocol says)."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload", {})
        if self.connection_init_received or self.connection_timed_out or not isinstance(payload, dict):
            await super().handle_connection_init(message)
            return
        try:
            await authenticate_connection(self.context, payload)
        except ConnectionRefused as refused:
            self.connection_init_received = True
            if self.connection_init_timeout_task:
                self.connection_init_timeout_task.cancel()
            await self.websocket.close(code=REFUSED_CLOSE_CODE, reason=refused.code.value)
            return
        await super().handle_connection_init(message)

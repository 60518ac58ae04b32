"""Live updates over graphql-transport-ws (issue 9 item 7): the `scorecardUpdated` subscription and the websocket
connection's authentication (a bearer token in the connection_init payload)."""

from schema.subscriptions.live import SUBSCRIPTION_ERROR_CODES, ScorecardSubscription
from schema.subscriptions.transport import KaoheTransportWSHandler, authenticate_connection

__all__ = ["SUBSCRIPTION_ERROR_CODES", "KaoheTransportWSHandler", "ScorecardSubscription", "authenticate_connection"]

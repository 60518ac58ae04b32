"""The one call to WeChat: `GET {base}/sns/jscode2session?appid&secret&js_code&grant_type=authorization_code`.

A `wx.login` code is exchanged for the user's openid in this mini-program. WeChat answers HTTP 200 with JSON whatever
happened: `{"openid", "session_key", ...}` or `{"errcode", "errmsg"}`. Its error codes and a timeout become coded
WechatErrors (errors.py); nothing else of the answer is kept (the session key is not needed by a login that only
identifies the user, and is never stored or logged).

The secret travels in the query string (WeChat's API), so httpx's request log line is dropped for this endpoint: the
URL must not reach any log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final, Protocol

import httpx
from pydantic import SecretStr

from tenants.i18n import _
from tenants.text import is_storable_text
from tenants.wechat.errors import WechatError, WechatErrorCode

JSCODE2SESSION_PATH: Final = "/sns/jscode2session"
# wx.login codes are 32 characters today; anything much longer or not printable ASCII is not one (never sent).
MAX_CODE_LENGTH: Final = 128
MAX_OPENID_LENGTH: Final = 128


class WechatSettings(Protocol):
    """What the WeChat client needs of the process's settings (server.settings.Settings has every one)."""

    @property
    def wechat_api_base_url(self) -> str: ...

    @property
    def wechat_appid(self) -> str: ...

    @property
    def wechat_secret(self) -> SecretStr: ...

    @property
    def wechat_timeout_seconds(self) -> float: ...


class _DropJscode2SessionRequests(logging.Filter):
    """httpx logs every request's URL at INFO; this one holds the mini-program's secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        return JSCODE2SESSION_PATH not in record.getMessage()


logging.getLogger("httpx").addFilter(_DropJscode2SessionRequests())


@dataclass(frozen=True, slots=True)
class WechatSession:
    appid: str
    openid: str


# WeChat's errcode -> ours and the message people read.
_KNOWN_ERRORS: Final = {
    40029: (WechatErrorCode.INVALID_CODE, _("The WeChat login code is not valid; log in again in the mini-program.")),
    40163: (WechatErrorCode.CODE_USED, _("The WeChat login code was already used; log in again in the mini-program.")),
    45011: (WechatErrorCode.WECHAT_RATE_LIMITED, _("WeChat refuses more logins for now; try again in a minute.")),
    -1: (WechatErrorCode.WECHAT_BUSY, _("WeChat is busy; try again in a moment.")),
}


def checked_code(code: str) -> str:
    """A plausible wx.login code: non-empty printable ASCII of a sane length (else INVALID_CODE, WeChat not asked)."""
    stripped = code.strip()
    if (
        not stripped
        or len(stripped) > MAX_CODE_LENGTH
        or not stripped.isascii()
        or not stripped.isprintable()
        or not is_storable_text(stripped)
    ):
        raise WechatError.of(
            WechatErrorCode.INVALID_CODE,
            _("The WeChat login code is not valid; log in again in the mini-program."),
            "code",
        )
    return stripped


def _unavailable(detail: str) -> WechatError:
    return WechatError.of(
        WechatErrorCode.WECHAT_UNAVAILABLE,
        _("WeChat login is unavailable ({detail}); try again later.", detail=detail),
        "code",
    )


def _session_of(appid: str, payload: Any) -> WechatSession:
    if not isinstance(payload, dict):
        raise _unavailable("unreadable answer")
    errcode = payload.get("errcode", 0)
    if errcode not in (0, None):
        known = _KNOWN_ERRORS.get(errcode) if isinstance(errcode, int) else None
        if known is not None:
            raise WechatError.of(known[0], known[1], "code")
        raise _unavailable(f"errcode {str(errcode)[:20]}")
    openid = payload.get("openid")
    if not isinstance(openid, str) or not openid or len(openid) > MAX_OPENID_LENGTH or not is_storable_text(openid):
        raise _unavailable("no openid")
    return WechatSession(appid, openid)


async def exchange_code(settings: WechatSettings, code: str) -> WechatSession:
    """The openid behind a wx.login code (a code is single use: WeChat answers 40163 the second time)."""
    appid = settings.wechat_appid
    if not appid:
        raise WechatError.of(
            WechatErrorCode.WECHAT_NOT_CONFIGURED, _("WeChat login is not set up on this server."), "code"
        )
    js_code = checked_code(code)
    params = {
        "appid": appid,
        "secret": settings.wechat_secret.get_secret_value(),
        "js_code": js_code,
        "grant_type": "authorization_code",
    }
    url = settings.wechat_api_base_url.rstrip("/") + JSCODE2SESSION_PATH
    try:
        async with httpx.AsyncClient(timeout=settings.wechat_timeout_seconds, follow_redirects=False) as http:
            response = await http.get(url, params=params)
    except httpx.TimeoutException:
        # `from None`: the chained error holds the request, whose URL holds the secret.
        raise WechatError.of(
            WechatErrorCode.WECHAT_TIMEOUT, _("WeChat did not answer in time; try again."), "code"
        ) from None
    except httpx.HTTPError as error:
        # The exception's text may hold the URL (and so the secret): only its class is shown.
        raise _unavailable(type(error).__name__) from None
    if response.status_code != 200:
        raise _unavailable(f"HTTP {response.status_code}")
    try:
        payload = response.json()
    except ValueError:
        raise _unavailable("unreadable answer") from None
    return _session_of(appid, payload)

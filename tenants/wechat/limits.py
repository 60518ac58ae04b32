"""Failed WeChat logins per client address: fixed-window counters in Redis, like password logins (tenancy/auth.py).

Why: every wechatLogin asks WeChat, whose jscode2session quota belongs to the mini-program (one appid for every
tenant). A client sending made-up codes must not spend it for everyone: after `login_max_failures_per_address`
failures in `login_failure_window_seconds` its attempts are refused (RATE_LIMITED) without asking WeChat. Only the
client's own failures count (a code WeChat refuses, an openid bound to nobody); WeChat being busy or slow does not.
"""

from __future__ import annotations

from typing import Final, Protocol

from redis.asyncio import Redis

from tenants.i18n import _
from tenants.wechat.errors import WechatError, WechatErrorCode

KEY_PREFIX: Final = "kaohe:wechat-login-fail:addr:"
COUNTED: Final = frozenset({WechatErrorCode.INVALID_CODE, WechatErrorCode.CODE_USED, WechatErrorCode.NOT_BOUND})


class LimitSettings(Protocol):
    @property
    def login_max_failures_per_address(self) -> int: ...

    @property
    def login_failure_window_seconds(self) -> int: ...


class WechatLoginLimiter:
    def __init__(self, redis: Redis, settings: LimitSettings) -> None:
        self._redis = redis
        self._settings = settings

    async def check(self, address: str) -> None:
        failures = await self._redis.get(KEY_PREFIX + address)
        if int(failures or 0) >= self._settings.login_max_failures_per_address:
            raise WechatError.of(
                WechatErrorCode.RATE_LIMITED, _("Too many failed WeChat logins from here; try again later."), "code"
            )

    async def record(self, address: str, error: WechatError) -> None:
        if error.code not in COUNTED:
            return
        key = KEY_PREFIX + address
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self._settings.login_failure_window_seconds, nx=True)
            await pipe.execute()

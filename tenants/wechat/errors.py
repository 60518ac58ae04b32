"""Expected failures of WeChat login and binding, in the one error model (tenants/errors.py).

WeChat's own error codes become ours (a public contract, never renamed): 40029 INVALID_CODE, 40163 CODE_USED,
45011 WECHAT_RATE_LIMITED, -1 WECHAT_BUSY; no answer in time is WECHAT_TIMEOUT; anything else WeChat answers, or an
answer that is not its JSON, is WECHAT_UNAVAILABLE.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tenants.errors import DomainError, Problem
from tenants.i18n import Message


class WechatErrorCode(StrEnum):
    INVALID_CODE = "INVALID_CODE"
    CODE_USED = "CODE_USED"
    WECHAT_RATE_LIMITED = "WECHAT_RATE_LIMITED"
    WECHAT_BUSY = "WECHAT_BUSY"
    WECHAT_TIMEOUT = "WECHAT_TIMEOUT"
    WECHAT_UNAVAILABLE = "WECHAT_UNAVAILABLE"
    WECHAT_NOT_CONFIGURED = "WECHAT_NOT_CONFIGURED"
    NOT_BOUND = "NOT_BOUND"
    ALREADY_BOUND = "ALREADY_BOUND"
    OPENID_TAKEN = "OPENID_TAKEN"
    NOT_STAFF = "NOT_STAFF"
    TENANT_SUSPENDED = "TENANT_SUSPENDED"
    RATE_LIMITED = "RATE_LIMITED"  # too many failed WeChat logins from this client address (tenants/wechat/limits.py)


class WechatError(DomainError[WechatErrorCode]):
    """`WechatError.of(WechatErrorCode.X, _("..."), field)`; nothing was changed."""

    @classmethod
    def of(cls, code: WechatErrorCode, message: Message, field: str | None = None, **extra: Any) -> WechatError:
        return cls([Problem(code, message, field, **extra)])

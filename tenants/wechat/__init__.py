"""WeChat mini-program login: a staff login bound to the openid WeChat gives a `wx.login` code.

- client.py: the one call to WeChat (`jscode2session`), its error codes and a timeout mapped to WechatErrorCode.
- repository.py: the bindings (tenant-owned, RLS) and the SECURITY DEFINER lookup that finds a binding before any
  tenant is known (login).
- service.py: wechatLogin, bindWechat, unbindWechat.
- limits.py: failed WeChat logins per client address (the mini-program's WeChat quota is shared by every tenant).

Invariant: an (appid, openid) pair is bound to at most one login in the whole platform. Every bind takes a transaction
advisory lock on the pair and checks the cross-tenant lookup under it, so two concurrent binds cannot both succeed.
"""

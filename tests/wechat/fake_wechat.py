"""A real HTTP server on a loopback port speaking `GET /sns/jscode2session` as WeChat does (JSON, HTTP 200 even for
errors), started by the tests. What it answers depends on the code:

- `ok-<openid>`: `{"openid": "<openid>", "session_key": ...}`
- `err-<errcode>`: `{"errcode": <errcode>, "errmsg": ...}` (WeChat's 40029, 40163, 45011, -1, ...)
- `slow`: the success answer after `SLOW_SECONDS` (longer than the tests' timeout)
- `html`: HTTP 502 with an HTML page (a proxy in the way); `garbage`: HTTP 200 with text that is not JSON
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SLOW_SECONDS = 2.0


@dataclass
class FakeWechat:
    base_url: str
    requests: list[dict[str, str]] = field(default_factory=list)

    def codes_seen(self) -> list[str]:
        return [request.get("js_code", "") for request in self.requests]


def _handler(fake: FakeWechat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            fake.requests.append({"path": url.path, **query})
            if url.path != "/sns/jscode2session":
                self._answer(404, b"not found", "text/plain")
                return
            code = query.get("js_code", "")
            if code == "slow":
                time.sleep(SLOW_SECONDS)
                payload: dict[str, object] = {"openid": "slow-openid", "session_key": "sk"}
            elif code == "html":
                self._answer(502, b"<html>Bad Gateway</html>", "text/html")
                return
            elif code == "garbage":
                self._answer(200, b"this is not json", "text/plain")
                return
            elif code.startswith("err-"):
                payload = {"errcode": int(code.removeprefix("err-")), "errmsg": "error from the fake"}
            elif code.startswith("ok-"):
                payload = {"openid": code.removeprefix("ok-"), "session_key": "c2Vzc2lvbg==", "unionid": None}
            else:
                payload = {"errcode": 40029, "errmsg": "invalid code"}
            # WeChat answers JSON as text/plain.
            self._answer(200, json.dumps(payload).encode(), "text/plain")

    return Handler


@contextmanager
def running_fake_wechat() -> Iterator[FakeWechat]:
    fake = FakeWechat(base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    # Try the mini-program flow without WeChat: `python -m tests.wechat.fake_wechat 8765`, then run the API with
    # KAOHE_WECHAT_API_BASE_URL=http://127.0.0.1:8765 KAOHE_WECHAT_APPID=wx-demo and use codes such as "ok-my-openid"
    # (bindWechat signed in with a password, then wechatLogin) or "err-40163".
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(FakeWechat(base_url=f"http://127.0.0.1:{port}")))
    print(f"fake jscode2session on http://127.0.0.1:{port}/sns/jscode2session")
    server.serve_forever()
